// Secrets a function reads from Vault over its own connection (as `postgres`, which may read
// vault.decrypted_secrets), cached so that a request does not cost a query for each.
import type { Sql } from "./database.ts";

/** How long a secret read from Vault is used before it is read again, in milliseconds. */
export const VAULT_SECRET_TTL_MS = 60_000;

export interface VaultSecret {
  /** The secret, read at most once per VAULT_SECRET_TTL_MS; null when Vault has none of that name. */
  get(): Promise<string | null>;
  /** Reads it again now (after a rotation), unless it was read within the last `minAgeMs`. */
  refresh(minAgeMs?: number): Promise<string | null>;
}

export function vaultSecret(sql: Sql, name: string, { ttlMs = VAULT_SECRET_TTL_MS, now = Date.now } = {}): VaultSecret {
  let cached: { value: string | null; readAt: number } | null = null;
  const read = async () => {
    const [row] = await sql<{ secret: string }[]>`
      select decrypted_secret as secret from vault.decrypted_secrets where name = ${name}`;
    cached = { value: row?.secret ?? null, readAt: now() };
    return cached.value;
  };
  return {
    get: () => cached && now() - cached.readAt < ttlMs ? Promise.resolve(cached.value) : read(),
    refresh: (minAgeMs = 0) => cached && now() - cached.readAt < minAgeMs ? Promise.resolve(cached.value) : read(),
  };
}
