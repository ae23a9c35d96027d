create table a (x int); -- c;
/* ; */ select ';' ; do $$ begin null; end $$;
create function f() returns int begin atomic select 1; end;