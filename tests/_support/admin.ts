// webhook-admin test helpers: an organization with one user in each role (and an owner of another
// organization), calls through the real gateway by operationId with the path built from api.ts,
// and success bodies checked against the route's own response schema, so the OpenAPI document
// (generated from the same schemas) describes what the function really answers.
import type postgres from "npm:postgres@3.4.9";
import { ROUTES } from "../../supabase/functions/webhook-admin/api.ts";
import { createTenant, mintJwt, stack } from "./stack.ts";

export type Route = (typeof ROUTES)[number];
export type OperationId = Route["operationId"];

export interface Person {
  userId: string;
  token: string;
}

export interface AdminFixture {
  orgId: string;
  owner: Person;
  admin: Person;
  member: Person;
  /** The owner of another organization. */
  outsider: Person & { orgId: string };
  remove(): Promise<void>;
}

async function addPerson(sql: postgres.Sql, orgId: string, role: "admin" | "member"): Promise<Person> {
  const userId = crypto.randomUUID();
  await sql`insert into auth.users (id, aud, role, email, created_at, updated_at)
            values (${userId}, 'authenticated', 'authenticated', ${`${role}-${
    userId.slice(0, 8)
  }@example.test`}, now(), now())`;
  await sql`insert into public.organization_members (org_id, user_id, role) values (${orgId}, ${userId}, ${role})`;
  return { userId, token: await mintJwt({ sub: userId }) };
}

export async function createAdminFixture(sql: postgres.Sql, label: string): Promise<AdminFixture> {
  const tenant = await createTenant(sql, label);
  const other = await createTenant(sql, `${label}-other`);
  const admin = await addPerson(sql, tenant.orgId, "admin");
  const member = await addPerson(sql, tenant.orgId, "member");
  return {
    orgId: tenant.orgId,
    owner: { userId: tenant.userId, token: await mintJwt({ sub: tenant.userId }) },
    admin,
    member,
    outsider: { userId: other.userId, orgId: other.orgId, token: await mintJwt({ sub: other.userId }) },
    remove: async () => {
      await tenant.remove();
      await other.remove();
      await sql`delete from auth.users where id in (${admin.userId}, ${member.userId})`;
    },
  };
}

export function routeOf(operationId: OperationId): Route {
  const route = ROUTES.find((candidate) => candidate.operationId === operationId);
  if (!route) throw new Error(`no route ${operationId}`);
  return route;
}

export interface CallOptions {
  params?: Record<string, string | number>;
  query?: Record<string, string | number>;
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  rawBody?: string;
  /** The bearer token (a session); null or absent sends none. */
  token?: string | null;
}

export interface AdminResponse {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any -- tests read whatever the route answers
  body: any;
}

export function pathOf(route: Route, params: Record<string, string | number> = {}): string {
  return route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    if (params[name] === undefined) throw new Error(`${route.operationId} needs ${name}`);
    return encodeURIComponent(String(params[name]));
  });
}

/** Calls a route through the gateway. */
export async function callAdmin(operationId: OperationId, options: CallOptions = {}): Promise<AdminResponse> {
  const route = routeOf(operationId);
  const search = new URLSearchParams(
    Object.entries(options.query ?? {}).map(([key, value]) => [key, String(value)]),
  ).toString();
  // As supabase-js sends it: the publishable key in apikey, and the session (if any) as the bearer token.
  const token = options.token === undefined ? null : options.token;
  const headers: Record<string, string> = { apikey: stack.publishableKey, "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await fetch(
    `${stack.SUPABASE_URL}/functions/v1/webhook-admin${pathOf(route, options.params)}${search ? `?${search}` : ""}`,
    { method: route.method, headers, body },
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text === "" ? null : JSON.parse(text) };
}

/**
 * Calls a route expecting its success status, and checks the body against the route's response
 * schema. Throws with the answer when either differs.
 */
export async function callAdminOk(operationId: OperationId, options: CallOptions = {}): Promise<AdminResponse> {
  const route = routeOf(operationId);
  const response = await callAdmin(operationId, options);
  if (response.status !== route.success.status) {
    throw new Error(`${operationId}: expected ${route.success.status}, got ${response.status} ${response.text}`);
  }
  if ("schema" in route.success) {
    const parsed = route.success.schema.safeParse(response.body);
    if (!parsed.success) {
      throw new Error(
        `${operationId}: the answer does not match its schema: ${parsed.error.message}\n${response.text}`,
      );
    }
  } else if (response.text !== "") {
    throw new Error(`${operationId}: expected an empty body, got ${response.text}`);
  }
  return response;
}
