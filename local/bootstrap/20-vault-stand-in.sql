-- Vault stand-in: the SQL interface of supabase/vault 0.3 (vault.secrets, vault.decrypted_secrets,
-- vault.create_secret, vault.update_secret) for machines where the supabase_vault extension is not
-- installed. Applied by scripts/stack.mjs only when `supabase_vault` is unavailable.
--
-- Secrets are encrypted at rest with pgcrypto (OpenPGP symmetric, AES-256, integrity-protected).
-- Each row's key is HMAC-SHA256(root key, id || nonce), so a ciphertext cannot be moved to another
-- row. The root key lives in a file in the data directory (`vault_root.key`, written by the stack
-- with mode 0600), never in a table, so dumps and replicas of the database hold only ciphertext -
-- the role the real Vault's server-managed key plays.

create schema if not exists vault;
revoke all on schema vault from public;

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null default current_timestamp
);
create unique index if not exists secrets_name_idx on vault.secrets (name) where name is not null;
comment on table vault.secrets is 'Table with encrypted `secret` column for storing sensitive information on disk.';

create or replace function vault._row_key(p_id uuid, p_nonce bytea) returns text
language sql stable security definer set search_path = ''
as $$
  select encode(
    extensions.hmac(
      convert_to(p_id::text, 'utf8') || p_nonce,
      decode(btrim(pg_catalog.pg_read_file('vault_root.key'), E' \n'), 'hex'),
      'sha256'),
    'hex')
$$;

create or replace function vault._encrypt(p_plaintext text, p_id uuid, p_nonce bytea) returns text
language sql volatile security definer set search_path = ''
as $$
  select encode(
    extensions.pgp_sym_encrypt_bytea(convert_to(p_plaintext, 'utf8'), vault._row_key(p_id, p_nonce),
      -- The row key is already a full-strength random key, not a password: no iterated S2K
      -- (the default hashes it ~65k times on every encrypt and decrypt).
      'cipher-algo=aes256, compress-algo=0, s2k-mode=1'),
    'base64')
$$;

create or replace function vault._decrypt(p_ciphertext text, p_id uuid, p_nonce bytea) returns text
language sql stable security definer set search_path = ''
as $$
  select convert_from(
    extensions.pgp_sym_decrypt_bytea(decode(p_ciphertext, 'base64'), vault._row_key(p_id, p_nonce)),
    'utf8')
$$;

create or replace view vault.decrypted_secrets as
select s.id,
       s.name,
       s.description,
       s.secret,
       vault._decrypt(s.secret, s.id, s.nonce) as decrypted_secret,
       s.key_id,
       s.nonce,
       s.created_at,
       s.updated_at
  from vault.secrets s;

create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
) returns uuid
language plpgsql security definer set search_path = ''
as $$
declare
  v_id uuid := gen_random_uuid();
  v_nonce bytea := extensions.gen_random_bytes(16);
begin
  insert into vault.secrets (id, name, description, secret, key_id, nonce)
  -- As in Vault, a null description is inserted as given (and refused by the column's not null);
  -- the key id is recorded but, as there, nothing encrypts with it.
  values (v_id, new_name, new_description, vault._encrypt(new_secret, v_id, v_nonce), new_key_id, v_nonce);
  return v_id;
end
$$;

create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
) returns void
language plpgsql security definer set search_path = ''
as $$
declare
  v_nonce bytea := extensions.gen_random_bytes(16);
begin
  update vault.secrets s
     set secret = case when new_secret is null then s.secret
                       else vault._encrypt(new_secret, s.id, v_nonce) end,
         nonce = case when new_secret is null then s.nonce else v_nonce end,
         name = coalesce(new_name, s.name),
         description = coalesce(new_description, s.description),
         -- Vault 0.3 ignores new_key_id: the key id stays as it was.
         updated_at = now()
   where s.id = secret_id;
end
$$;

revoke all on all tables in schema vault from public;
revoke all on all functions in schema vault from public;

grant usage on schema vault to postgres with grant option;
grant usage on schema vault to service_role;
grant select, delete on vault.secrets, vault.decrypted_secrets to postgres with grant option;
grant select, delete on vault.secrets, vault.decrypted_secrets to service_role;
grant execute on function vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid),
  vault._decrypt(text, uuid, bytea) to postgres with grant option;
grant execute on function vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid),
  vault._decrypt(text, uuid, bytea) to service_role;
