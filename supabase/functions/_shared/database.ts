// One connection pool per function instance, to the database the edge runtime names in
// SUPABASE_DB_URL. Statements are not prepared, so the same code works through Supavisor's
// transaction pooler (PLATFORM.md: port 6543 needs prepare: false).
import postgres from "npm:postgres@3.4.9";

export type Sql = postgres.Sql;

const pools = new Map<string, Sql>();

/** The pool for `url`, created on first use; `applicationName` shows in pg_stat_activity. */
export function databasePool(url: string, { maxConnections = 4, applicationName = "cjh-edge-function" } = {}): Sql {
  let pool = pools.get(url);
  if (!pool) {
    pool = postgres(url, {
      max: maxConnections,
      prepare: false,
      idle_timeout: 30,
      connect_timeout: 10,
      onnotice: () => {},
      connection: { application_name: applicationName },
    });
    pools.set(url, pool);
  }
  return pool;
}

/**
 * Runs `work` in one transaction as the caller, the way PostgREST runs a request: `role` and
 * `request.jwt.claims` set transaction-locally from the caller's verified JWT, so row-level
 * security and `auth.uid()` apply exactly as they would through the REST API.
 */
export function asCaller<T>(
  sql: Sql,
  claims: Record<string, unknown> & { role: string },
  work: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('role', ${claims.role}, true),
                    set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    return await work(tx);
  }) as Promise<T>;
}
