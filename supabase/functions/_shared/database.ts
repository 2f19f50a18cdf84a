// One connection pool per function worker, to the database environment.ts's databaseUrl names.
// Statements are not prepared, so the same code works through Supavisor's transaction pooler
// (port 6543 needs prepare: false), and nothing relies on session state: settings are
// transaction-local and locks transaction-scoped.
//
// Connection budget: hosted runs several workers of a function at once, each with its own pool,
// so what a project may open is (workers running) × (pool size) per function. A pool is capped at
// MAX_CONNECTIONS_PER_WORKER; docs/deploying.md works the figure out for each function.
import postgres from "npm:postgres@3.4.9";

export type Sql = postgres.Sql;

/** The most connections one worker's pool may hold, whatever a function's settings ask for. */
export const MAX_CONNECTIONS_PER_WORKER = 8;
/** A pool's size unless the function asks for another. */
export const DEFAULT_CONNECTIONS_PER_WORKER = 4;

const pools = new Map<string, Sql>();

/**
 * The pool for `url`, created on first use; `applicationName` shows in pg_stat_activity. Throws
 * when `maxConnections` exceeds MAX_CONNECTIONS_PER_WORKER.
 */
export function databasePool(
  url: string,
  { maxConnections = DEFAULT_CONNECTIONS_PER_WORKER, applicationName = "cjh-edge-function" } = {},
): Sql {
  if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > MAX_CONNECTIONS_PER_WORKER) {
    throw new Error(`a pool holds 1 to ${MAX_CONNECTIONS_PER_WORKER} connections, not ${maxConnections}`);
  }
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
