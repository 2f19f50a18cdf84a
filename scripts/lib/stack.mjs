// The local stack without Docker: installs what is missing, runs PostgreSQL with the platform
// bootstrap, applies migrations and seed with the real Supabase CLI, and runs the functions gateway
// and the pg_net stand-in worker. Node built-ins only, so it can run before `npm ci`.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import {
  ADMIN_ROLE,
  ANON_KEY,
  API_PORT,
  API_URL,
  DASHBOARD_PORT,
  DASHBOARD_URL,
  DB_PORT,
  DB_URL,
  DENO,
  isAlive,
  JWT_SECRET,
  LOG_DIR,
  MAPBOX_STAND_IN_PORT,
  MAPBOX_STAND_IN_TOKEN,
  MAPBOX_STAND_IN_URL,
  PG_DATA,
  PG_LOG,
  PG_ROOT,
  PG_SOCKET_DIR,
  PUBLISHABLE_KEY,
  readPid,
  ROOT,
  SECRET_KEY,
  SERVICE_ROLE_KEY,
  STATE_DIR,
  SUPABASE_CLI,
  testEnvironment,
} from "./platform.mjs";
import { prepareDashboard } from "../../dashboard/scripts/prepare.mjs";

const IS_ROOT = process.getuid?.() === 0;
const BOOTSTRAP_DIR = join(ROOT, "local/bootstrap");
const MIGRATIONS_DIR = join(ROOT, "supabase/migrations");
// What each migration file held when this cluster applied it (the CLI records versions, not content).
const APPLIED_MIGRATIONS = join(PG_ROOT, "applied-migrations.json");
const SERVICES = {
  gateway: { script: "local/gateway.ts", readyLine: "gateway ready" },
  "pg-net-worker": { script: "local/pg-net-worker.ts", readyLine: "pg_net worker ready" },
  "mapbox-stand-in": { script: "local/mapbox-stand-in.ts", readyLine: "mapbox stand-in ready" },
  dashboard: { script: "local/dashboard-server.ts", readyLine: "dashboard ready" },
};
const SERVICE_READY_TIMEOUT_MS = 60_000;

const color = (code) => (text) => process.stdout.isTTY ? `\x1b[${code}m${text}\x1b[0m` : text;
const cyan = color(36);
const dim = color(2);
const bold = color(1);

export function step(message) {
  console.log(`${cyan("›")} ${message}`);
}

export class StackError extends Error {}

function run(command, args, { capture = false, env, cwd = ROOT, allowFailure = false } = {}) {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new StackError(`${command}: ${result.error.message}`);
  if (result.status !== 0 && !allowFailure) {
    const detail = capture ? `\n${result.stderr || result.stdout}` : "";
    throw new StackError(`${command} ${args.join(" ")} exited with ${result.status}${detail}`);
  }
  return result;
}

/** Runs a PostgreSQL server binary as the `postgres` OS user when we are root (initdb refuses root). */
function runAsPostgres(binary, args, options) {
  return IS_ROOT ? run("runuser", ["-u", "postgres", "--", binary, ...args], options) : run(binary, args, options);
}

// ---------------------------------------------------------------------------------------------
// Installation
// ---------------------------------------------------------------------------------------------

const REQUIRED_EXTENSIONS = ["pg_cron", "pgtap", "plpgsql_check", "pgcrypto"];

function hasExtension(major, name) {
  return existsSync(`/usr/share/postgresql/${major}/extension/${name}.control`);
}

/** The newest installed PostgreSQL major version that has every extension the project needs. */
function installedPostgresMajor() {
  if (!existsSync("/usr/lib/postgresql")) return null;
  const majors = readdirSync("/usr/lib/postgresql")
    .map(Number)
    .filter((major) => Number.isInteger(major) && existsSync(`/usr/lib/postgresql/${major}/bin/postgres`))
    .sort((a, b) => b - a);
  return majors.find((major) => REQUIRED_EXTENSIONS.every((name) => hasExtension(major, name))) ?? null;
}

function aptHasPackage(name) {
  const result = run("apt-cache", ["show", "--no-all-versions", name], { capture: true, allowFailure: true });
  return result.status === 0 && result.stdout.includes(`Package: ${name}`);
}

/**
 * Installs PostgreSQL with pg_cron, pgTAP, plpgsql_check and pg_prove from Debian's packages, for the
 * newest major version whose cron package exists (PostgreSQL 15 on Debian 12, 17 on Debian 13).
 */
function ensureSystemPackages() {
  let major = installedPostgresMajor();
  const havePgProve = run("sh", ["-c", "command -v pg_prove"], { capture: true, allowFailure: true }).status === 0;
  if (major && havePgProve) return major;
  if (!IS_ROOT) {
    throw new StackError(
      "PostgreSQL with pg_cron, pgTAP and plpgsql_check (and pg_prove) is missing; run `npm start` as root " +
        "or install postgresql-N, postgresql-N-cron, postgresql-N-pgtap, postgresql-N-plpgsql-check and " +
        "libtap-parser-sourcehandler-pgtap-perl with apt-get.",
    );
  }
  step("installing PostgreSQL, pg_cron, pgTAP, plpgsql_check and pg_prove from Debian's packages (apt-get)");
  const aptEnv = { DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-q"], { env: aptEnv });
  const candidates = [18, 17, 16, 15, 14, 13];
  major = candidates.find((version) => aptHasPackage(`postgresql-${version}-cron`));
  if (!major) throw new StackError("no postgresql-N-cron package is available from apt");
  step(`PostgreSQL ${major} is the newest version with a pg_cron package`);
  run("apt-get", [
    "install",
    "-y",
    "-q",
    "--no-install-recommends",
    `postgresql-${major}`,
    `postgresql-${major}-cron`,
    `postgresql-${major}-pgtap`,
    `postgresql-${major}-plpgsql-check`,
    "postgresql-client",
    "libtap-parser-sourcehandler-pgtap-perl",
  ], { env: aptEnv });
  return major;
}

/** Runs `npm ci` when node_modules is missing or older than package-lock.json. */
function ensureNodeModules() {
  const marker = join(ROOT, "node_modules/.package-lock.json");
  const lock = join(ROOT, "package-lock.json");
  const stale = !existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs ||
    !existsSync(DENO) || !existsSync(SUPABASE_CLI);
  if (!stale) return;
  step("installing npm dependencies (npm ci): deno, the Supabase CLI, postgres-meta, supabase-js …");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

const pgBin = (major, name) => `/usr/lib/postgresql/${major}/bin/${name}`;

function giveToPostgres(path) {
  if (!IS_ROOT) return;
  const { uid, gid } = postgresUser();
  chownSync(path, uid, gid);
}

function postgresUser() {
  const result = run("id", ["-u", "postgres"], { capture: true });
  const gid = run("id", ["-g", "postgres"], { capture: true });
  return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function clusterExists() {
  return existsSync(join(PG_DATA, "PG_VERSION"));
}

function initCluster(major) {
  step(`creating a PostgreSQL ${major} cluster in ${PG_DATA}`);
  mkdirSync(PG_ROOT, { recursive: true, mode: 0o755 });
  mkdirSync(PG_SOCKET_DIR, { recursive: true, mode: 0o700 });
  giveToPostgres(PG_ROOT);
  giveToPostgres(PG_SOCKET_DIR);
  runAsPostgres(pgBin(major, "initdb"), [
    "--pgdata",
    PG_DATA,
    "--username",
    ADMIN_ROLE,
    "--encoding",
    "UTF8",
    "--no-locale",
    "--auth-local",
    "trust",
    "--auth-host",
    "scram-sha-256",
  ], { capture: true });
  // Local (socket) connections are trusted: the socket directory is reachable only by the postgres
  // OS user and root. TCP connections need a password, as on hosted.
  const settings = [
    "",
    "# CJH Integrations local stack",
    `port = ${DB_PORT}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${PG_SOCKET_DIR}'`,
    "shared_preload_libraries = 'pg_cron'",
    "cron.database_name = 'postgres'",
    // Background workers run cron jobs without a libpq login, so no password file is needed.
    "cron.use_background_workers = on",
    "max_worker_processes = 32",
    "max_connections = 200",
    "timezone = 'UTC'",
    "log_timezone = 'UTC'",
    "",
  ].join("\n");
  writeFileSync(join(PG_DATA, "postgresql.conf"), readFileSync(join(PG_DATA, "postgresql.conf"), "utf8") + settings);
  // The Vault stand-in's root key: a file beside the data, never a row (see 20-vault-stand-in.sql).
  const keyFile = join(PG_DATA, "vault_root.key");
  writeFileSync(keyFile, randomBytes(32).toString("hex"), { mode: 0o600 });
  giveToPostgres(keyFile);
}

function postgresRunning(major) {
  if (!clusterExists()) return false;
  return runAsPostgres(pgBin(major, "pg_ctl"), ["status", "--pgdata", PG_DATA], { capture: true, allowFailure: true })
    .status === 0;
}

function portInUse(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function startPostgres(major) {
  if (postgresRunning(major)) return false;
  if (await portInUse(DB_PORT)) {
    throw new StackError(
      `port ${DB_PORT} is taken by another process (another checkout's stack? run \`npm stop\` there)`,
    );
  }
  step(`starting PostgreSQL ${major} on port ${DB_PORT}`);
  mkdirSync(PG_SOCKET_DIR, { recursive: true, mode: 0o700 });
  giveToPostgres(PG_SOCKET_DIR);
  runAsPostgres(pgBin(major, "pg_ctl"), ["start", "--pgdata", PG_DATA, "--log", PG_LOG, "--wait", "--timeout", "60"], {
    capture: true,
  });
  return true;
}

/**
 * Restarts PostgreSQL in place. `immediate` kills it without a checkpoint, as a crash would, so
 * the restart goes through WAL recovery (the crash-safety tests use it).
 */
export function restartPostgres(mode = "fast") {
  const major = installedPostgresMajor();
  if (!major || !postgresRunning(major)) throw new StackError("PostgreSQL is not running");
  step(`restarting PostgreSQL (${mode})`);
  runAsPostgres(pgBin(major, "pg_ctl"), [
    "restart",
    "--pgdata",
    PG_DATA,
    "--mode",
    mode,
    "--log",
    PG_LOG,
    "--wait",
    "--timeout",
    "60",
  ], { capture: true });
}

function stopPostgres(major) {
  if (!postgresRunning(major)) return false;
  step("stopping PostgreSQL");
  runAsPostgres(pgBin(major, "pg_ctl"), ["stop", "--pgdata", PG_DATA, "--mode", "fast", "--wait"], { capture: true });
  return true;
}

/** psql as the local superuser over the private socket. */
function adminPsql(args, options = {}) {
  return run("psql", [
    "--no-psqlrc",
    "--quiet",
    "--set",
    "ON_ERROR_STOP=1",
    "--host",
    PG_SOCKET_DIR,
    "--port",
    String(DB_PORT),
    "--username",
    ADMIN_ROLE,
    "--dbname",
    "postgres",
    ...args,
  ], options);
}

function adminQuery(sql) {
  return adminPsql(["--tuples-only", "--no-align", "--command", sql], { capture: true }).stdout.trim();
}

/**
 * The platform bootstrap: what Supabase's image creates before any migration runs. Real pg_net and
 * Vault are used where installed; otherwise their stand-ins with the same SQL interface.
 */
function bootstrap() {
  step("applying the platform bootstrap (roles, auth, extensions, Vault, pg_net)");
  adminPsql(["--file", join(BOOTSTRAP_DIR, "00-roles.sql")], { capture: true });
  adminPsql(["--file", join(BOOTSTRAP_DIR, "10-database.sql")], { capture: true });
  const available = new Set(
    adminQuery("select name from pg_available_extensions where name in ('pg_net', 'supabase_vault')").split("\n"),
  );
  if (available.has("supabase_vault")) {
    adminQuery("create extension if not exists supabase_vault with schema vault");
  } else {
    adminPsql(["--file", join(BOOTSTRAP_DIR, "20-vault-stand-in.sql")], { capture: true });
  }
  if (available.has("pg_net")) {
    adminQuery("create extension if not exists pg_net with schema extensions");
  } else {
    adminPsql(["--file", join(BOOTSTRAP_DIR, "30-pg-net-stand-in.sql")], { capture: true });
  }
}

function usesPgNetStandIn() {
  return adminQuery("select not exists (select from pg_extension where extname = 'pg_net')") === "t";
}

function migrationHashes() {
  return Object.fromEntries(
    readdirSync(MIGRATIONS_DIR).filter((name) => name.endsWith(".sql")).sort().map((name) => [
      name,
      createHash("sha256").update(readFileSync(join(MIGRATIONS_DIR, name))).digest("hex"),
    ]),
  );
}

/**
 * Migrations this cluster applied whose files have changed since (edited before landing, or a
 * branch switch). `supabase db push` never re-applies a version, so the database no longer
 * matches the files; only a reset brings them together.
 */
function changedMigrations() {
  if (!existsSync(APPLIED_MIGRATIONS)) return [];
  const applied = JSON.parse(readFileSync(APPLIED_MIGRATIONS, "utf8"));
  const current = migrationHashes();
  return Object.keys(applied).filter((name) => current[name] !== undefined && current[name] !== applied[name]);
}

/** Applies pending migrations (and the seed, once) with the real Supabase CLI. */
function pushMigrations() {
  step("applying migrations and seed with the Supabase CLI (supabase db push --include-seed)");
  const result = run(SUPABASE_CLI, ["db", "push", "--db-url", `${DB_URL}?sslmode=disable`, "--include-seed", "--yes"], {
    capture: true,
    allowFailure: true,
  });
  const output = `${result.stdout}${result.stderr}`.trim();
  if (result.status !== 0) throw new StackError(`supabase db push failed:\n${output}`);
  for (const line of output.split("\n")) {
    if (/Applying|Seeding|Updating|up to date/i.test(line)) console.log(dim(`  ${line.trim()}`));
  }
  // Record newly applied files only: an already applied one keeps what it held when applied.
  const applied = existsSync(APPLIED_MIGRATIONS) ? JSON.parse(readFileSync(APPLIED_MIGRATIONS, "utf8")) : {};
  writeFileSync(APPLIED_MIGRATIONS, JSON.stringify({ ...migrationHashes(), ...applied }, null, 2));
}

/**
 * Stores what hosted projects keep in Vault (the project URL and the service role key for
 * database-initiated calls to functions, the JWT secret for service account tokens), with this
 * stack's values.
 */
function configureLocalPlatform() {
  adminPsql([
    "--set",
    `project_url=${API_URL}`,
    "--set",
    `service_role_key=${SERVICE_ROLE_KEY}`,
    "--set",
    `jwt_secret=${JWT_SECRET}`,
    "--file",
    join(BOOTSTRAP_DIR, "90-local-platform.sql"),
  ], { capture: true });
  configureLocalGeocoding();
}

// ---------------------------------------------------------------------------------------------
// Geocoding against the Mapbox stand-in (README, "Geocoding")
// ---------------------------------------------------------------------------------------------

const FUNCTIONS_ENV_FILE = join(ROOT, "supabase/functions/.env");
const GEOCODING_BLOCK_START =
  "# >>> local Mapbox stand-in (scripts/lib/stack.mjs rewrites this block; delete it to opt out)";
const GEOCODING_BLOCK_END = "# <<< local Mapbox stand-in";

/**
 * Points the local mapbox-geocode function at the Mapbox stand-in: the stand-in's token in Vault
 * unless a mapbox_access_token is already there, and MAPBOX_API_ORIGIN in a marked block of
 * supabase/functions/.env unless the file sets MAPBOX_API_ORIGIN itself (e.g. to real Mapbox).
 */
function configureLocalGeocoding() {
  adminPsql([
    "--set",
    `mapbox_token=${MAPBOX_STAND_IN_TOKEN}`,
    "--file",
    join(BOOTSTRAP_DIR, "91-mapbox-stand-in.sql"),
  ], { capture: true });
  const current = existsSync(FUNCTIONS_ENV_FILE) ? readFileSync(FUNCTIONS_ENV_FILE, "utf8") : "";
  const blockPattern = new RegExp(
    `${escapeRegExp(GEOCODING_BLOCK_START)}[\\s\\S]*?${escapeRegExp(GEOCODING_BLOCK_END)}\\n?`,
  );
  const outside = current.replace(blockPattern, "");
  if (/^\s*MAPBOX_API_ORIGIN\s*=/m.test(outside)) return;
  const block = `${GEOCODING_BLOCK_START}\nMAPBOX_API_ORIGIN=${MAPBOX_STAND_IN_URL}\n${GEOCODING_BLOCK_END}\n`;
  const next = blockPattern.test(current)
    ? current.replace(blockPattern, block)
    : `${current}${current === "" || current.endsWith("\n") ? "" : "\n"}${block}`;
  if (next !== current) writeFileSync(FUNCTIONS_ENV_FILE, next);
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------------------------------------
// Services (functions gateway, pg_net stand-in worker)
// ---------------------------------------------------------------------------------------------

function serviceRunning(name) {
  return isAlive(readPid(name));
}

function waitForLogLine(file, offset, line, pid) {
  const deadline = Date.now() + SERVICE_READY_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const text = existsSync(file) ? readFileSync(file, "utf8").slice(offset) : "";
      if (text.includes(line)) return resolve();
      if (!isAlive(pid)) return reject(new StackError(`exited during start-up; see ${file}:\n${text.slice(-2000)}`));
      if (Date.now() > deadline) {
        return reject(new StackError(`not ready after ${SERVICE_READY_TIMEOUT_MS} ms; see ${file}`));
      }
      setTimeout(poll, 100);
    };
    poll();
  });
}

async function startService(name) {
  if (serviceRunning(name)) return false;
  const { script, readyLine } = SERVICES[name];
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${name}.log`);
  const offset = existsSync(logFile) ? statSync(logFile).size : 0;
  const out = openSync(logFile, "a");
  const child = spawn(DENO, ["run", "--allow-all", "--config", join(ROOT, "deno.json"), join(ROOT, script)], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, ...serviceEnvironment() },
  });
  closeSync(out);
  child.unref();
  writeFileSync(join(STATE_DIR, `${name}.pid`), String(child.pid));
  try {
    await waitForLogLine(logFile, offset, readyLine, child.pid);
  } catch (error) {
    stopService(name);
    throw new StackError(`${name} ${error.message}`);
  }
  return true;
}

function serviceEnvironment() {
  return {
    ...testEnvironment(),
    CJH_API_PORT: String(API_PORT),
    CJH_ADMIN_ROLE: ADMIN_ROLE,
    CJH_MAPBOX_STAND_IN_PORT: String(MAPBOX_STAND_IN_PORT),
    CJH_MAPBOX_STAND_IN_TOKEN: MAPBOX_STAND_IN_TOKEN,
    CJH_DASHBOARD_PORT: String(DASHBOARD_PORT),
  };
}

function stopService(name) {
  const pid = readPid(name);
  const pidFile = join(STATE_DIR, `${name}.pid`);
  if (!isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return false;
  }
  step(`stopping ${name}`);
  // Each service leads its own process group (detached), which includes the function hosts.
  const signalGroup = (signal) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch { /* already gone */ }
    }
  };
  signalGroup("SIGTERM");
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) spawnSync("sleep", ["0.1"]);
  if (isAlive(pid)) signalGroup("SIGKILL");
  rmSync(pidFile, { force: true });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/** Installs what is missing; returns the PostgreSQL major version to run. */
function prepare() {
  mkdirSync(STATE_DIR, { recursive: true });
  const major = ensureSystemPackages();
  ensureNodeModules();
  prepareDashboard(step);
  return major;
}

/**
 * Brings every part of the stack up, starting only what is not running yet.
 * Returns which parts this call started, so a caller can stop exactly those.
 */
export async function startStack({ resetChangedDatabase = false } = {}) {
  const major = prepare();
  const started = { postgres: false, services: [] };
  let fresh = false;
  if (!clusterExists()) {
    initCluster(major);
    fresh = true;
  }
  started.postgres = await startPostgres(major);
  if (fresh || started.postgres) bootstrap();
  const changed = changedMigrations();
  if (changed.length > 0 && resetChangedDatabase) {
    step(`migrations changed since this database applied them (${changed.join(", ")}): rebuilding it`);
    await rebuildDatabase(major);
  } else {
    if (changed.length > 0) {
      console.warn(
        `\x1b[33m!\x1b[0m migrations changed since this database applied them: ${changed.join(", ")}. ` +
          "`npm run db:reset` rebuilds it from the files.",
      );
    }
    pushMigrations();
  }
  configureLocalPlatform();
  const services = [...(usesPgNetStandIn() ? ["pg-net-worker"] : []), "mapbox-stand-in", "gateway", "dashboard"];
  for (const name of services) {
    if (serviceRunning(name)) continue;
    step(`starting ${name}`);
    if (await startService(name)) started.services.push(name);
  }
  return started;
}

export function stopStack(only) {
  const major = installedPostgresMajor();
  const services = only ? only.services : Object.keys(SERVICES);
  for (const name of services) stopService(name);
  if ((!only || only.postgres) && major) stopPostgres(major);
}

export async function resetDatabase() {
  await rebuildDatabase(prepare());
}

async function rebuildDatabase(major) {
  stopPostgres(major);
  step(`removing ${PG_DATA}`);
  rmSync(PG_DATA, { recursive: true, force: true });
  rmSync(APPLIED_MIGRATIONS, { force: true });
  initCluster(major);
  await startPostgres(major);
  bootstrap();
  pushMigrations();
  configureLocalPlatform();
}

function stackStatus() {
  const major = installedPostgresMajor();
  return {
    postgres: major ? postgresRunning(major) : false,
    gateway: serviceRunning("gateway"),
    "pg-net-worker": serviceRunning("pg-net-worker"),
    "mapbox-stand-in": serviceRunning("mapbox-stand-in"),
    dashboard: serviceRunning("dashboard"),
  };
}

export function printStatus() {
  const state = stackStatus();
  const mark = (up) => (up ? "running" : "stopped");
  const rows = [
    ["API URL", API_URL],
    ["Functions URL", `${API_URL}/functions/v1`],
    ["DB URL", DB_URL],
    ["JWT secret", JWT_SECRET],
    ["Publishable key", PUBLISHABLE_KEY],
    ["Secret key", SECRET_KEY],
    ["anon key", ANON_KEY],
    ["service_role key", SERVICE_ROLE_KEY],
    ["Mapbox stand-in", MAPBOX_STAND_IN_URL],
    ["Dashboard URL", DASHBOARD_URL],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log("");
  console.log(bold("CJH Integrations local stack"));
  for (const [label, value] of rows) console.log(`${label.padStart(width)}: ${value}`);
  console.log("");
  console.log(dim(`  postgres ${mark(state.postgres)} (data ${PG_DATA}, log ${PG_LOG})`));
  console.log(dim(`  functions gateway ${mark(state.gateway)} (log ${join(LOG_DIR, "gateway.log")})`));
  console.log(
    dim(`  pg_net stand-in worker ${mark(state["pg-net-worker"])} (log ${join(LOG_DIR, "pg-net-worker.log")})`),
  );
  console.log(
    dim(`  Mapbox stand-in ${mark(state["mapbox-stand-in"])} (log ${join(LOG_DIR, "mapbox-stand-in.log")})`),
  );
  console.log(dim(`  webhook dashboard ${mark(state.dashboard)} (log ${join(LOG_DIR, "dashboard.log")})`));
  console.log(dim("  PostgREST, GoTrue and Studio need Docker and are not part of the local stack."));
  console.log("");
}

/** Streams the services' logs to the terminal, as `supabase functions serve` shows function logs. */
export function followLogs() {
  const offsets = new Map();
  for (const name of Object.keys(SERVICES)) {
    const file = join(LOG_DIR, `${name}.log`);
    offsets.set(name, existsSync(file) ? statSync(file).size : 0);
  }
  return setInterval(() => {
    for (const [name, offset] of offsets) {
      const file = join(LOG_DIR, `${name}.log`);
      if (!existsSync(file)) continue;
      const size = statSync(file).size;
      if (size <= offset) continue;
      const fd = openSync(file, "r");
      const buffer = Buffer.alloc(size - offset);
      readSync(fd, buffer, 0, buffer.length, offset);
      closeSync(fd);
      offsets.set(name, size);
      for (const line of buffer.toString("utf8").split("\n")) {
        if (line.trim()) console.log(`${dim(`[${name}]`)} ${line}`);
      }
    }
  }, 250);
}

/** Generates types/database.ts content with postgres-meta, the generator behind `supabase gen types`. */
export function generateTypes() {
  const result = run("node", [join(ROOT, "node_modules/@supabase/postgres-meta/dist/server/server.js")], {
    capture: true,
    env: {
      PG_META_GENERATE_TYPES: "typescript",
      PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS: "public",
      PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS: "true",
      PG_META_DB_URL: DB_URL,
    },
  });
  return result.stdout;
}
