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
