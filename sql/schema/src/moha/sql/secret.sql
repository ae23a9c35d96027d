
declare
  v_value text;
begin
  select s.secret into v_value from private.secrets s where s.name = secret.name;
  if v_value is null then
    raise exception 'secret % is not set', secret.name
      using errcode = 'P0002',
            hint = 'insert it as postgres: insert into private.secrets (name, secret) values (''<name>'', ''<value>'')';
  end if;
  return v_value;
end
