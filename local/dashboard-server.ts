// The local stack's page server for the webhook dashboard (the `dashboard` service of `npm start`):
// serves the built standalone page (dashboard/dist/page), a config.json that points it at this
// stack, and the local-only sign-in the page offers because the local stack has no Auth server:
//
//   GET  /local/users    everyone in auth.users with an email address, with their memberships
//   POST /local/session  { "user_id": uuid } → { access_token, token_type, expires_in, expires_at }
//
// The session is a JWT signed with the local JWT secret, as GoTrue would issue it; the secret stays
// in this process. It listens on 127.0.0.1 only and answers only requests addressed to a loopback
// host name, so a web page elsewhere cannot reach it through DNS rebinding. Local only; never deployed.
import postgres from "npm:postgres@3.4.9";
import { importJWK, type JWK, SignJWT } from "npm:jose@6.2.17";
import { z } from "npm:zod@4.6.7";
import { extname, resolve, sep as SEPARATOR } from "node:path";

export const SESSION_SECONDS = 3600;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".map": "application/json",
};

export interface PageServerOptions {
  /** The built page: dashboard/dist/page. */
  distDir: string;
  /** The project URL the page calls (the functions gateway's origin). */
  supabaseUrl: string;
  /** The publishable key the page sends as `apikey`. */
  publishableKey: string;
  /**
   * The project's session signing key (a private ES256 JWK with its kid), as Auth signs sessions on
   * projects with asymmetric keys: the functions verify them against the JWKS, whether or not the
   * project still has a legacy JWT secret.
   */
  sessionKey: JWK & { kid: string };
  /** The local database, as `postgres`. */
  sql: postgres.Sql;
}

interface LocalUserRow {
  user_id: string;
  email: string;
  memberships: { org_id: string; org_name: string; role: string }[];
}

const SessionRequest = z.strictObject({ user_id: z.guid() });

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

function refuse(status: number, code: string, message: string, details?: unknown): Response {
  return json({ error: { code, message, ...(details ? { details } : {}) } }, status);
}

/** The Content-Security-Policy of the page: its own scripts and styles, API calls to the project only. */
export function contentSecurityPolicy(supabaseUrl: string): string {
  return [
    "default-src 'self'",
    `connect-src 'self' ${new URL(supabaseUrl).origin}`,
    "img-src 'self' data:",
    "script-src 'self'",
    "style-src 'self'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The page server's request handler (tests serve it on their own port). */
export function createPageHandler(options: PageServerOptions): (request: Request) => Promise<Response> {
  const { distDir, supabaseUrl, publishableKey, sessionKey, sql } = options;
  const signingKey = importJWK(sessionKey, "ES256");
  const root = resolve(distDir);

  async function mintSession(request: Request): Promise<Response> {
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      return refuse(400, "invalid_json", "The request body is not valid JSON.");
    }
    const parsed = SessionRequest.safeParse(body);
    if (!parsed.success) {
      return refuse(400, "invalid_request", "The request body is not valid.", z.flattenError(parsed.error));
    }
    // Service accounts have no email: they exchange their API key instead, and never act through this page.
    const [user] = await sql<{ id: string; email: string }[]>`
      select id, email from auth.users where id = ${parsed.data.user_id} and email is not null`;
    if (!user) return refuse(404, "not_found", "No local user with an email address has this id.");
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = now + SESSION_SECONDS;
    const accessToken = await new SignJWT({
      sub: user.id,
      email: user.email,
      role: "authenticated",
      aud: "authenticated",
      aal: "aal1",
      amr: [{ method: "local", timestamp: now }],
    })
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: sessionKey.kid })
      .setIssuer(`${supabaseUrl}/auth/v1`)
      .setIssuedAt(now)
      .setExpirationTime(expiresAt)
      .sign(await signingKey);
    return json({
      access_token: accessToken,
      token_type: "bearer",
      expires_in: SESSION_SECONDS,
      expires_at: expiresAt,
    });
  }

  async function listUsers(): Promise<Response> {
    const users = await sql<LocalUserRow[]>`
      select u.id as user_id, u.email,
             coalesce(jsonb_agg(jsonb_build_object('org_id', m.org_id, 'org_name', o.name, 'role', m.role)
                                order by o.name, m.role) filter (where m.org_id is not null),
                      '[]'::jsonb) as memberships
        from auth.users u
        left join public.organization_members m on m.user_id = u.id
        left join public.organizations o on o.id = m.org_id
       where u.email is not null
       group by u.id, u.email
       order by u.email`;
    return json({ users });
  }

  async function serveFile(pathname: string): Promise<Response> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname === "/" ? "/index.html" : pathname);
    } catch {
      return refuse(400, "invalid_path", "The path is not valid percent-encoding.");
    }
    const file = resolve(root, `.${decoded}`);
    if (!file.startsWith(`${root}${SEPARATOR}`) || decoded.includes("\0")) {
      return refuse(400, "invalid_path", "The path leads outside the page's files.");
    }
    const relative = file.slice(root.length);
    let content: Uint8Array<ArrayBuffer>;
    try {
      content = await Deno.readFile(file);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      if (relative === "/index.html") {
        return refuse(
          503,
          "not_built",
          "The dashboard is not built: `npm start` builds it (dashboard/scripts/prepare.mjs).",
        );
      }
      return refuse(404, "not_found", `No file ${pathname}.`);
    }
    const type = CONTENT_TYPES[extname(file)] ?? "application/octet-stream";
    const headers: Record<string, string> = {
      "Content-Type": type,
      "X-Content-Type-Options": "nosniff",
      // Built assets carry a content hash in their names; everything else may change with a rebuild.
      "Cache-Control": relative.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    };
    if (type.startsWith("text/html")) headers["Content-Security-Policy"] = contentSecurityPolicy(supabaseUrl);
    return new Response(content, { headers });
  }

  return async (request) => {
    const url = new URL(request.url);
    const host = (request.headers.get("host") ?? "").replace(/:\d+$/, "");
    if (!LOOPBACK_HOSTS.has(host)) {
      return refuse(403, "forbidden", "The local page server answers loopback hosts only.");
    }
    const route = `${request.method} ${url.pathname}`;
    if (route === "GET /config.json") {
      return json({ supabase_url: supabaseUrl, supabase_key: publishableKey, local_sign_in: true });
    }
    if (route === "GET /local/users") return await listUsers();
    if (route === "POST /local/session") return await mintSession(request);
    if (url.pathname === "/local/users" || url.pathname === "/local/session") {
      return refuse(405, "method_not_allowed", "Method not allowed.");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return refuse(405, "method_not_allowed", "The page is static: GET only.");
    }
    return await serveFile(url.pathname);
  };
}

const Settings = z.object({
  CJH_DASHBOARD_PORT: z.coerce.number().int().min(1).max(65535),
  SUPABASE_URL: z.url(),
  SUPABASE_PUBLISHABLE_KEYS: z.string().transform((text, context) => {
    const parsed = z.object({ default: z.string().min(1) }).safeParse(JSON.parse(text));
    if (!parsed.success) {
      context.addIssue({ code: "custom", message: 'must be {"default": "<key>"}' });
      return z.NEVER;
    }
    return parsed.data.default;
  }),
  CJH_SIGNING_KEYS_FILE: z.string().min(1),
  SUPABASE_DB_URL: z.string().startsWith("postgresql://"),
});

if (import.meta.main) {
  const parsed = Settings.safeParse(Deno.env.toObject());
  if (!parsed.success) {
    console.error(`dashboard page server: bad settings\n${z.prettifyError(parsed.error)}`);
    Deno.exit(1);
  }
  const settings = parsed.data;
  const handler = createPageHandler({
    distDir: new URL("../dashboard/dist/page", import.meta.url).pathname,
    supabaseUrl: settings.SUPABASE_URL,
    publishableKey: settings.SUPABASE_PUBLISHABLE_KEYS,
    sessionKey: JSON.parse(Deno.readTextFileSync(settings.CJH_SIGNING_KEYS_FILE)).session,
    sql: postgres(settings.SUPABASE_DB_URL, { max: 2, onnotice: () => {} }),
  });
  Deno.serve({
    hostname: "127.0.0.1",
    port: settings.CJH_DASHBOARD_PORT,
    onListen: ({ port }) => console.log(`dashboard ready on http://127.0.0.1:${port}`),
  }, async (request) => {
    try {
      return await handler(request);
    } catch (error) {
      console.error(`dashboard page server: ${request.method} ${new URL(request.url).pathname}`, error);
      return refuse(500, "internal_error", "An unexpected error occurred.");
    }
  });
}
