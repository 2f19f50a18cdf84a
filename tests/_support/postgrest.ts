// How PostgREST runs a request with a bearer token (docs/platform.md), for tests that prove what a
// token can reach through the REST API: the JWT is verified against the project's keys, as hosted
// configures PostgREST (the JWKS, plus the legacy HS256 secret while the project has one; a bad or
// expired token is a 401 before any SQL), then one transaction sets the role from the token's
// `role` claim and the claims themselves transaction-locally, and runs the query. PostgREST is
// not available without Docker; this is its contract, not a stand-in for its HTTP surface, except
// for postgrestFetch: the few read requests supabase-js sends in the docs' snippets.
import type postgres from "npm:postgres@3.4.9";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "npm:jose@6.2.17";
import { stack } from "./stack.ts";

const projectJwks = createRemoteJWKSet(new URL("/auth/v1/.well-known/jwks.json", stack.SUPABASE_URL));

/** The token's claims if one of the project's keys signed it; throws otherwise. */
async function verifiedClaims(bearer: string): Promise<Record<string, unknown>> {
  if (decodeProtectedHeader(bearer).alg === "HS256") {
    if (stack.CJH_JWT_SECRET === undefined) throw new Error("the project has no legacy JWT secret");
    return (await jwtVerify(bearer, new TextEncoder().encode(stack.CJH_JWT_SECRET), { algorithms: ["HS256"] }))
      .payload;
  }
  return (await jwtVerify(bearer, projectJwks, { algorithms: ["ES256", "RS256"] })).payload;
}

export type PostgrestAnswer<T> = { status: 200; rows: T } | { status: 401; error: string } | {
  status: 403;
  error: string;
  code: string;
};

const INSUFFICIENT_PRIVILEGE = "42501";

export async function asPostgrest<T>(
  sql: postgres.Sql,
  bearer: string,
  request: { method: "GET" | "POST" | "PATCH" | "DELETE"; path: string },
  query: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<PostgrestAnswer<T>> {
  let claims: Record<string, unknown>;
  try {
    claims = await verifiedClaims(bearer);
  } catch (error) {
    return { status: 401, error: error instanceof Error ? error.message : String(error) };
  }
  const role = typeof claims.role === "string" ? claims.role : "anon";
  try {
    const rows = await sql.begin(async (tx) => {
      // GET runs read-only, as PostgREST does.
      if (request.method === "GET") await tx`set transaction read only`;
      await tx`select set_config('role', ${role}, true),
                      set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
                      set_config('request.method', ${request.method}, true),
                      set_config('request.path', ${request.path}, true)`;
      return await query(tx);
    });
    // Plain rows, as they would arrive as JSON.
    return { status: 200, rows: JSON.parse(JSON.stringify(rows)) as T };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === INSUFFICIENT_PRIVILEGE) return { status: 403, error: String(error), code };
    throw error;
  }
}

const FILTERS: Record<string, string> = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" };

/**
 * A `fetch` for supabase-js (`global: { fetch }`) that answers the REST API's reads of one table or
 * view, `GET /rest/v1/<name>?…`, through asPostgrest with the request's bearer token, and builds
 * the answer as PostgREST does (json_agg of the rows, so bigints are numbers and times are ISO
 * strings). It understands `select` (`*` or a list of columns), filters `<column>=<op>.<value>`
 * (eq, neq, gt, gte, lt, lte), `order=<column>[.asc|.desc]` and `limit`, and throws on anything
 * else, so a snippet that needs more fails rather than reads the wrong rows.
 */
export function postgrestFetch(sql: postgres.Sql): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const [, relation] = url.pathname.match(/^\/rest\/v1\/(\w+)$/) ?? [];
    if (request.method !== "GET" || relation === undefined) {
      throw new Error(`postgrestFetch serves reads only, not ${request.method} ${url.pathname}`);
    }
    let columns: string[] | null = null;
    const filters: [string, string, string][] = [];
    let order: [string, string] | null = null;
    let limit: number | null = null;
    for (const [key, value] of url.searchParams) {
      if (key === "select") {
        columns = value === "*" ? null : value.split(",");
      } else if (key === "order") {
        const [column, direction = "asc", ...rest] = value.split(".");
        if (rest.length > 0 || !["asc", "desc"].includes(direction)) throw new Error(`unsupported order: ${value}`);
        order = [column, direction];
      } else if (key === "limit") {
        limit = Number(value);
        if (!Number.isInteger(limit) || limit < 0) throw new Error(`unsupported limit: ${value}`);
      } else {
        const at = value.indexOf(".");
        const operator = FILTERS[value.slice(0, at)];
        if (at < 0 || operator === undefined) throw new Error(`unsupported filter: ${key}=${value}`);
        filters.push([key, operator, value.slice(at + 1)]);
      }
    }
    const bearer = request.headers.get("authorization")?.replace(/^Bearer /i, "") ?? "";
    const answer = await asPostgrest(sql, bearer, { method: "GET", path: url.pathname }, async (tx) => {
      const where = filters.reduce(
        (condition, [column, operator, value]) => tx`${condition} and ${tx(column)} ${tx.unsafe(operator)} ${value}`,
        tx`true`,
      );
      const [{ body }] = await tx<{ body: unknown }[]>`
        select coalesce(json_agg(t), '[]') as body from (
          select ${columns ? tx(columns) : tx`*`} from public.${tx(relation)}
           where ${where}
           ${order ? tx`order by ${tx(order[0])} ${tx.unsafe(order[1])}` : tx``}
           ${limit !== null ? tx`limit ${limit}` : tx``}
        ) t`;
      return body;
    });
    const body = answer.status === 200
      ? answer.rows
      : { code: "code" in answer ? answer.code : null, message: answer.error };
    return new Response(JSON.stringify(body), {
      status: answer.status,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  };
}
