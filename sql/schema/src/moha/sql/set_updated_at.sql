
begin
  new.updated_at := pg_catalog.now();
  return new;
end
