// Facts about the local stack shared by every script: where things live, the ports (remembered
// between commands), which credentials the Supabase CLI's local defaults use, the local signing
// keys, and the environments derived from them. Node built-ins only: this runs before `npm ci`.
import { spawnSync } from "node:child_process";
import { createHash, createHmac, generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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

// ---------------------------------------------------------------------------------------------
// Settings a stack keeps between commands
// ---------------------------------------------------------------------------------------------

/**
 * `npm start` remembers the ports and the key mode it ran with (.local/stack.json), so that
 * `npm run status`, `npm test`, `npm run env` and `npm stop` reach the same stack without the
 * variables being exported again. A variable set for a command still wins.
 */
const SETTINGS_FILE = join(STATE_DIR, "stack.json");
const remembered = existsSync(SETTINGS_FILE) ? JSON.parse(readFileSync(SETTINGS_FILE, "utf8")) : {};

function setting(variable, key, fallback) {
  const value = process.env[variable] ?? remembered[key] ?? fallback;
  return typeof fallback === "number" ? Number(value) : String(value);
}

// The Supabase CLI's local ports; CJH_API_PORT / CJH_DB_PORT move a second checkout's stack aside.
export const API_PORT = setting("CJH_API_PORT", "apiPort", 54321);
export const DB_PORT = setting("CJH_DB_PORT", "dbPort", 54322);
// The local stand-in for the Mapbox Geocoding API (local/mapbox-stand-in.ts).
export const MAPBOX_STAND_IN_PORT = setting("CJH_MAPBOX_STAND_IN_PORT", "mapboxStandInPort", API_PORT + 10);
// The webhook dashboard's local page server (local/dashboard-server.ts), where `supabase start` puts Studio.
export const DASHBOARD_PORT = setting("CJH_DASHBOARD_PORT", "dashboardPort", API_PORT + 2);
export const DASHBOARD_URL = `http://127.0.0.1:${DASHBOARD_PORT}`;
// The functions' DNS server (UDP, local/dns-stand-in.ts, run by the gateway): it answers the names
// webhook receivers are given in tests and the demo (RECEIVER_DOMAIN).
export const DNS_PORT = setting("CJH_DNS_PORT", "dnsPort", API_PORT + 11);
/**
 * `on`: the project still has its legacy JWT secret and anon / service_role keys (projects created
 * before the new keys). `off`: they are revoked, as on a new project once the legacy keys are gone:
 * sessions are ES256 only, functions get no SUPABASE_ANON_KEY / SUPABASE_SERVICE_ROLE_KEY.
 */
export const LEGACY_KEYS = setting("CJH_LEGACY_KEYS", "legacyKeys", "on");
if (!["on", "off"].includes(LEGACY_KEYS)) throw new Error(`CJH_LEGACY_KEYS must be on or off, not ${LEGACY_KEYS}`);

/** Writes the settings this stack runs with, for the commands that follow. */
export function rememberSettings(legacyKeys = LEGACY_KEYS) {
  mkdirSync(STATE_DIR, { recursive: true });
  const settings = {
    apiPort: API_PORT,
    dbPort: DB_PORT,
    mapboxStandInPort: MAPBOX_STAND_IN_PORT,
    dashboardPort: DASHBOARD_PORT,
    dnsPort: DNS_PORT,
    legacyKeys,
  };
  writeFileSync(SETTINGS_FILE, `${JSON.stringify(settings, null, 2)}\n`);
}

export const API_URL = `http://127.0.0.1:${API_PORT}`;
export const DB_URL = `postgresql://postgres:postgres@127.0.0.1:${DB_PORT}/postgres`;
export const JWKS_URL = `${API_URL}/auth/v1/.well-known/jwks.json`;
export const MAPBOX_STAND_IN_URL = `http://127.0.0.1:${MAPBOX_STAND_IN_PORT}`;
// The local superuser, reachable only through the cluster's private socket directory.
export const ADMIN_ROLE = "supabase_admin";

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

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

// The CLI's local opaque API keys (the newer publishable / secret keys). Functions receive them
// in SUPABASE_PUBLISHABLE_KEYS / SUPABASE_SECRET_KEYS and compare them with the apikey header.
export const PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
export const SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";

/**
 * The local project's asymmetric signing keys (private JWKs), made once per checkout like the
 * CLI's `supabase gen signing-key`: `session` signs users' sessions, as Auth does with a project's
 * current ES256 key; `service_accounts` is the key an operator imports into the project as a
 * standby signing key and stores in Vault, with which webhook-admin signs service account tokens.
 * Both public halves are in the local JWKS.
 */
export const SIGNING_KEYS_FILE = join(STATE_DIR, "signing-keys.json");

/** A new private ES256 signing key as a JWK, with a UUID `kid` (what a project accepts to import). */
export function newSigningKey() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "ES256", use: "sig" };
}

export function signingKeys() {
  if (existsSync(SIGNING_KEYS_FILE)) return JSON.parse(readFileSync(SIGNING_KEYS_FILE, "utf8"));
  const keys = { session: newSigningKey(), service_accounts: newSigningKey() };
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(SIGNING_KEYS_FILE, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return keys;
}

// The token the stack stores in Vault for the Mapbox stand-in: Mapbox-shaped
// (`pk.<base64 JSON>.<signature>`, which the SDK parses) and worthless anywhere else.
export const MAPBOX_STAND_IN_TOKEN = `pk.${
  base64url(JSON.stringify({ u: "cjh-local", a: "stand-in" }))
}.local-stand-in`;

/**
 * The environment the edge runtime gives functions, as `supabase functions serve` sets it; the
 * legacy keys only while the project has them.
 */
export function functionEnvironment(legacyKeys = LEGACY_KEYS) {
  return {
    SUPABASE_URL: API_URL,
    SUPABASE_DB_URL: DB_URL,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: PUBLISHABLE_KEY }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET_KEY }),
    ...(legacyKeys === "on" ? { SUPABASE_ANON_KEY: ANON_KEY, SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The local certificate authority, which the function hosts trust (deno --cert), and the
// certificate of the local https receivers
// ---------------------------------------------------------------------------------------------

/**
 * Receivers in tests and the demo are `https://<label>.loopback.cjh.test:<port>`: the functions'
 * DNS server answers 127.0.0.1 for every name under it (and 0.0.0.0, a refused address, under refused.cjh.test), and
 * the receiver certificate covers `*.loopback.cjh.test`. `.test` is reserved (RFC 6761), so these
 * names mean nothing anywhere else.
 */
export const RECEIVER_DOMAIN = "loopback.cjh.test";
export const LOCAL_TLS_DIR = join(STATE_DIR, "tls");

/**
 * The local CA's certificate and the receivers' certificate and key (PEM files), made once per
 * checkout with openssl: an EC P-256 CA valid for ten years, and a leaf for `*.loopback.cjh.test`
 * it signs. They are made in a temporary folder renamed into place, so two commands starting at
 * once agree on one CA. The CA's key stays in that folder (git-ignored, never deployed).
 */
export function localCertificates() {
  const files = {
    ca: join(LOCAL_TLS_DIR, "ca.pem"),
    cert: join(LOCAL_TLS_DIR, "receiver.pem"),
    key: join(LOCAL_TLS_DIR, "receiver-key.pem"),
  };
  if (existsSync(files.key)) return files;
  mkdirSync(STATE_DIR, { recursive: true });
  const work = mkdtempSync(join(STATE_DIR, "tls-"));
  const openssl = (...args) => {
    const run = spawnSync("openssl", args, { cwd: work, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr || run.error}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca-key.pem",
    "-out",
    "ca.pem",
    "-days",
    "3650",
    "-subj",
    "/CN=CJH Integrations local CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  openssl("req", ...ec, "-keyout", "receiver-key.pem", "-out", "receiver.csr", "-subj", `/CN=*.${RECEIVER_DOMAIN}`);
  writeFileSync(
    join(work, "receiver.ext"),
    `subjectAltName=DNS:*.${RECEIVER_DOMAIN}\nbasicConstraints=critical,CA:FALSE\n` +
      "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  openssl(
    "x509",
    "-req",
    "-in",
    "receiver.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca-key.pem",
    "-CAcreateserial",
    "-out",
    "receiver.pem",
    "-days",
    "825",
    "-extfile",
    "receiver.ext",
  );
  try {
    renameSync(work, LOCAL_TLS_DIR);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another command made them first
  }
  return files;
}

/** What the Deno tests read to reach the stack (tests/_support/stack.ts). */
export function testEnvironment(legacyKeys = LEGACY_KEYS) {
  signingKeys();
  const certificates = localCertificates();
  return {
    ...functionEnvironment(legacyKeys),
    CJH_LEGACY_KEYS: legacyKeys,
    ...(legacyKeys === "on" ? { CJH_JWT_SECRET: JWT_SECRET } : {}),
    CJH_SIGNING_KEYS_FILE: SIGNING_KEYS_FILE,
    CJH_PG_SOCKET_DIR: join(PG_ROOT, "run"),
    CJH_API_PORT: String(API_PORT),
    CJH_DB_PORT: String(DB_PORT),
    CJH_DASHBOARD_URL: DASHBOARD_URL,
    CJH_DNS_PORT: String(DNS_PORT),
    CJH_RECEIVER_DOMAIN: RECEIVER_DOMAIN,
    CJH_LOCAL_CA_FILE: certificates.ca,
    CJH_RECEIVER_CERT_FILE: certificates.cert,
    CJH_RECEIVER_KEY_FILE: certificates.key,
    // The tests' own dispatchers (in the test process) trust the local CA as the function hosts do.
    DENO_CERT: certificates.ca,
  };
}

/** pg_prove over every pgTAP file, as `supabase test db` runs them, against the database on `port`. */
export function pgProveArgs(port = DB_PORT) {
  return [
    "--ext",
    ".sql",
    "--recurse",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--username",
    "postgres",
    "--dbname",
    "postgres",
    join(ROOT, "supabase/tests/database"),
  ];
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
