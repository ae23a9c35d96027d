
declare
  v_value text;
begin
  -- Vault first (hosted keeps the project's secrets there; the local stack's compat Vault has
  -- the same view), then the older private.secrets table.
  select s.decrypted_secret into v_value from vault.decrypted_secrets s where s.name = secret.name;
  if v_value is null then
    select s.secret into v_value from private.secrets s where s.name = secret.name;
  end if;
  if v_value is null then
    raise exception 'secret % is not set', secret.name
      using errcode = 'P0002',
            hint = 'hosted: select vault.create_secret(''<value>'', ''<name>''); locally cargo xtask up seeds it (docs/operations.md)';
  end if;
  return v_value;
end
