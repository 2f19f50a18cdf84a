// Facts about the local stack shared by scripts/stack.mjs and scripts/test.mjs: where things live,
// which ports and credentials the Supabase CLI's local defaults use, and the keys derived from them.
// Node built-ins only: this runs before `npm ci` has installed anything.
import { createHash, createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const STATE_DIR = join(ROOT, ".local");
export const LOG_DIR = join(STATE_DIR, "logs");

// PostgreSQL runs as the `postgres` OS user, which must be able to traverse every parent of its data
// directory; a checkout under /root is not. The cluster therefore lives under the system temp dir,
// in a folder named after this checkout so two checkouts never share a database.
const checkoutId = createHash("sha256").update(ROOT).digest("hex").slice(0, 10);
export const PG_ROOT = join(tmpdir(), `cjh-integrations-${checkoutId}`);
export const PG_DATA = join(PG_ROOT, "data");
export const PG_SOCKET_DIR = join(PG_ROOT, "run");
export const PG_LOG = join(PG_ROOT, "postgres.log");

// The Supabase CLI's local ports; CJH_API_PORT / CJH_DB_PORT move a second checkout's stack aside.
export const API_PORT = Number(process.env.CJH_API_PORT ?? 54321);
export const DB_PORT = Number(process.env.CJH_DB_PORT ?? 54322);
export const API_URL = `http://127.0.0.1:${API_PORT}`;
export const DB_URL = `postgresql://postgres:postgres@127.0.0.1:${DB_PORT}/postgres`;
// The local superuser, reachable only through the cluster's private socket directory.
export const ADMIN_ROLE = "supabase_admin";

// The Supabase CLI's well-known local JWT secret and the demo keys it signs.
export const JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const DEMO_KEY_EXPIRY = 1983812996;

function base64url(input) {
  return Buffer.from(input).toString("base64url");
}

export function signJwt(claims, secret = JWT_SECRET) {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

export const ANON_KEY = signJwt({ iss: "supabase-demo", role: "anon", exp: DEMO_KEY_EXPIRY });
export const SERVICE_ROLE_KEY = signJwt({
  iss: "supabase-demo",
  role: "service_role",
  exp: DEMO_KEY_EXPIRY,
});

// The CLI's local opaque API keys (the newer publishable / secret keys). The gateway maps them to
// the anon and service_role JWTs, as the local API gateway (Kong) does.
export const PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
export const SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";

// The local stand-in for the Mapbox Geocoding API (local/mapbox-stand-in.ts) and the token the stack
// stores in Vault for it: Mapbox-shaped (`pk.<base64 JSON>.<signature>`, which the SDK parses) and
// worthless anywhere else.
export const MAPBOX_STAND_IN_PORT = Number(process.env.CJH_MAPBOX_STAND_IN_PORT ?? API_PORT + 10);
export const MAPBOX_STAND_IN_URL = `http://127.0.0.1:${MAPBOX_STAND_IN_PORT}`;
export const MAPBOX_STAND_IN_TOKEN = `pk.${
  base64url(JSON.stringify({ u: "cjh-local", a: "stand-in" }))
}.local-stand-in`;

// The webhook dashboard's local page server (local/dashboard-server.ts), where `supabase start` puts Studio.
export const DASHBOARD_PORT = Number(process.env.CJH_DASHBOARD_PORT ?? API_PORT + 2);
export const DASHBOARD_URL = `http://127.0.0.1:${DASHBOARD_PORT}`;

/** The environment the edge runtime gives functions, as `supabase functions serve` sets it. */
export function functionEnvironment() {
  return {
    SUPABASE_URL: API_URL,
    SUPABASE_ANON_KEY: ANON_KEY,
    SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY,
    SUPABASE_DB_URL: DB_URL,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: PUBLISHABLE_KEY }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET_KEY }),
  };
}

/** What the Deno tests read to reach the stack (tests/_support/stack.ts). */
export function testEnvironment() {
  return {
    ...functionEnvironment(),
    CJH_JWT_SECRET: JWT_SECRET,
    CJH_PG_SOCKET_DIR: PG_SOCKET_DIR,
    CJH_DB_PORT: String(DB_PORT),
    CJH_DASHBOARD_URL: DASHBOARD_URL,
  };
}

export const DENO = join(ROOT, "node_modules/.bin/deno");
export const SUPABASE_CLI = join(ROOT, "node_modules/.bin/supabase");

export function readPid(name) {
  const file = join(STATE_DIR, `${name}.pid`);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** True while the process exists and has not exited (a zombie awaiting its parent counts as gone). */
export function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}
