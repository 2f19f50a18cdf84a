// What the Deno tests need from the running local stack: its settings (set by scripts/test.mjs, or
// exported by hand with `eval "$(npm run --silent env)"`), database connections, sessions minted
// with the project's keys, a local HTTP receiver, and a bounded wait for asynchronous outcomes.
//
// The stack runs with the legacy JWT secret and anon / service_role keys (CJH_LEGACY_KEYS=on) or
// as a project that has revoked them (off); scripts/test.mjs runs the caller tests in both. Tests
// use credentials that exist in both (the publishable and secret keys, sessions from mintJwt),
// and `legacyKeysTest` for what only a project with legacy keys has.
import postgres from "npm:postgres@3.4.9";
import { importJWK, type JWK, SignJWT } from "npm:jose@6.2.17";
import { z } from "npm:zod@4.6.7";

const ApiKey = z.string().transform((value) =>
  z.object({ default: z.string().min(1) }).parse(JSON.parse(value)).default
);

const StackSettings = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_DB_URL: z.string().startsWith("postgresql://"),
  SUPABASE_PUBLISHABLE_KEYS: ApiKey,
  SUPABASE_SECRET_KEYS: ApiKey,
  CJH_LEGACY_KEYS: z.enum(["on", "off"]).default("on"),
  CJH_SIGNING_KEYS_FILE: z.string().min(1),
  // The cluster's private socket directory, where its superuser connects (connectAsSuperuser).
  CJH_PG_SOCKET_DIR: z.string().min(1).optional(),
  // Only while the stack has legacy keys:
  SUPABASE_ANON_KEY: z.string().min(1).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  CJH_JWT_SECRET: z.string().min(32).optional(),
  // The functions' DNS server and the local https receivers' names and certificate
  // (scripts/lib/platform.mjs, localCertificates).
  CJH_DNS_PORT: z.coerce.number().int().positive(),
  CJH_RECEIVER_DOMAIN: z.string().min(1),
  CJH_RECEIVER_CERT_FILE: z.string().min(1),
  CJH_RECEIVER_KEY_FILE: z.string().min(1),
});

const parsed = StackSettings.safeParse(Deno.env.toObject());
if (!parsed.success) {
  throw new Error(`the Deno tests run against the local stack; use \`npm test\` (${z.prettifyError(parsed.error)})`);
}
export const stack = {
  ...parsed.data,
  legacyKeys: parsed.data.CJH_LEGACY_KEYS === "on",
  /** The publishable key (`sb_publishable_…`): what a browser client is created with. */
  publishableKey: parsed.data.SUPABASE_PUBLISHABLE_KEYS,
  /** The secret key (`sb_secret_…`): what a server sends in `apikey` to act as the platform. */
  secretKey: parsed.data.SUPABASE_SECRET_KEYS,
};

/** The local signing keys (private JWKs): `session` as Auth's, `service_accounts` as the imported one. */
export const signingKeys = JSON.parse(Deno.readTextFileSync(stack.CJH_SIGNING_KEYS_FILE)) as Record<
  "session" | "service_accounts",
  JWK & { kid: string }
>;

/** A test of what only a project that still has its legacy keys accepts; skipped once they are revoked. */
export function legacyKeysTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, ignore: !stack.legacyKeys, sanitizeOps: false, sanitizeResources: false });
}

/** The legacy anon / service_role key, for tests that only run while the stack has them. */
export function legacyKey(role: "anon" | "service_role"): string {
  const key = role === "anon" ? stack.SUPABASE_ANON_KEY : stack.SUPABASE_SERVICE_ROLE_KEY;
  if (key === undefined) throw new Error("the stack runs without legacy keys (CJH_LEGACY_KEYS=off)");
  return key;
}
export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Integration tests share servers and pools across tests, so Deno's per-test sanitizers are off. */
export function integrationTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

/** A connection pool to the local database as `postgres`, the role migrations and Studio use. */
export function connect(max = 4): postgres.Sql {
  return postgres(stack.SUPABASE_DB_URL, { max, onnotice: () => {}, prepare: true });
}

/**
 * A connection pool to the local database as its superuser (supabase_admin, as the pg_net stand-in
 * connects), through the cluster's private socket directory: for what `postgres` may not do, such
 * as switching on function statistics (track_functions). On hosted the platform keeps this role.
 */
export function connectAsSuperuser(max = 1): postgres.Sql {
  if (stack.CJH_PG_SOCKET_DIR === undefined) throw new Error("CJH_PG_SOCKET_DIR is not set; use `npm test`");
  const { port } = new URL(stack.SUPABASE_DB_URL);
  return postgres({
    path: `${stack.CJH_PG_SOCKET_DIR}/.s.PGSQL.${port}`,
    user: "supabase_admin",
    database: "postgres",
    max,
    onnotice: () => {},
  });
}

export interface MintOptions {
  expiresInSeconds?: number;
  /** HS256 signs with the legacy secret (or `secret`); ES256 with the session key (or `key`). */
  algorithm?: "HS256" | "ES256";
  secret?: string;
  key?: JWK & { kid: string };
}

/**
 * A session as Auth issues it: ES256 with the project's signing key, or HS256 with the legacy
 * secret. The default is what the stack's mode has Auth issue (HS256 while legacy keys are on).
 */
export async function mintJwt(payload: Record<string, unknown>, options: MintOptions = {}): Promise<string> {
  const { expiresInSeconds = 3600, algorithm = options.secret ? "HS256" : stack.legacyKeys ? "HS256" : "ES256" } =
    options;
  const now = Math.floor(Date.now() / 1000);
  const token = new SignJWT({ aud: "authenticated", role: "authenticated", ...payload })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds);
  if (algorithm === "HS256") {
    const secret = options.secret ?? stack.CJH_JWT_SECRET ?? "the-legacy-secret-this-project-has-revoked-long-ago";
    return await token.setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
  }
  const key = options.key ?? signingKeys.session;
  return await token.setProtectedHeader({ alg: "ES256", typ: "JWT", kid: key.kid }).sign(await importJWK(key, "ES256"));
}

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Polls until `probe` returns a value other than undefined; fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 15_000, intervalMs = 50, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ReceivedRequest {
  method: string;
  path: string;
  search: string;
  headers: Headers;
  body: string;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

let receiverCertificate: { cert: string; key: string } | undefined;
let receiversStarted = 0;

/** The stack's DNS server, as the function hosts point Deno.resolveDns at it (for dispatchers run by a test). */
export const stackDnsServer = { nameServer: { ipAddr: "127.0.0.1", port: stack.CJH_DNS_PORT } };

/**
 * A server on a loopback port that records every request and answers with `respond`. Plain
 * http://127.0.0.1:<port> by default; with `https`, the way hosted reaches a receiver:
 * `https://r<n>.loopback.cjh.test:<port>`, a name the functions' DNS server resolves to 127.0.0.1,
 * with a certificate for that name from the local CA the function hosts trust.
 */
export function startReceiver(
  respond: (request: ReceivedRequest) => Response | Promise<Response> = () => new Response("ok"),
  { https = false }: { https?: boolean } = {},
): Receiver {
  const requests: ReceivedRequest[] = [];
  receiverCertificate ??= {
    cert: Deno.readTextFileSync(stack.CJH_RECEIVER_CERT_FILE),
    key: Deno.readTextFileSync(stack.CJH_RECEIVER_KEY_FILE),
  };
  const tls = https ? receiverCertificate : {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {}, ...tls }, async (request) => {
    const url = new URL(request.url);
    const received = {
      method: request.method,
      path: url.pathname,
      search: url.search,
      headers: request.headers,
      body: await request.text(),
    };
    requests.push(received);
    return await respond(received);
  });
  const host = https ? `r${++receiversStarted}.${stack.CJH_RECEIVER_DOMAIN}` : "127.0.0.1";
  return {
    url: `${https ? "https" : "http"}://${host}:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

/** startReceiver at `https://r<n>.loopback.cjh.test:<port>`: a receiver as hosted reaches one. */
export function startHttpsReceiver(
  respond?: (request: ReceivedRequest) => Response | Promise<Response>,
): Receiver {
  return startReceiver(respond, { https: true });
}

/**
 * Runs `work` in one transaction as the given user, the way PostgREST runs a request: role
 * `authenticated` and the JWT claims set locally, so RLS and the triggers see that user.
 */
export function asUser<T>(sql: postgres.Sql, userId: string, work: (tx: postgres.TransactionSql) => Promise<T>) {
  return sql.begin(async (tx) => {
    const claims = JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" });
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
    return await work(tx);
  });
}

const DEADLOCK_DETECTED = "40P01";

/**
 * Deletes an organization and, by cascade, everything it owns. A dispatcher still recording
 * attempts for it can deadlock with the cascade (record_attempts locks deliveries, then the
 * organization's key for the attempts' foreign key; the cascade the other way round). PostgreSQL
 * aborts one side, and cleanup simply tries again.
 */
export async function deleteOrganization(sql: postgres.Sql, orgId: string, attempts = 5): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await sql`delete from public.organizations where id = ${orgId}`;
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== DEADLOCK_DETECTED || attempt === attempts) throw error;
    }
  }
}

/** A new user in auth.users who owns a new organization; `remove` deletes both. */
export async function createTenant(sql: postgres.Sql, label: string) {
  const userId = crypto.randomUUID();
  const suffix = userId.slice(0, 8);
  await sql`insert into auth.users (id, aud, role, email, created_at, updated_at)
            values (${userId}, 'authenticated', 'authenticated', ${`${label}-${suffix}@example.test`}, now(), now())`;
  const [org] = await asUser(
    sql,
    userId,
    (tx) =>
      tx<{ id: string }[]>`select id from public.create_organization(${`${label} ${suffix}`}, ${`${label}-${suffix}`})`,
  );
  return {
    userId,
    orgId: org.id,
    remove: async () => {
      await deleteOrganization(sql, org.id);
      await sql`delete from auth.users where id = ${userId}`;
    },
  };
}
