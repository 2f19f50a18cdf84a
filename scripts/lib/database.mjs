// PostgreSQL for the local stack: a cluster of its own (initdb, start, stop, restart), the platform
// bootstrap that gives it what a hosted project has before any migration, migrations and seed
// applied with the real Supabase CLI, and the settings an operator stores in Vault on hosted. The
// stack's cluster is one Cluster; the fresh-project check builds a throwaway one the same way.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import {
  ADMIN_ROLE,
  API_URL,
  DB_PORT,
  JWT_SECRET,
  LEGACY_KEYS,
  MAPBOX_STAND_IN_TOKEN,
  MAPBOX_STAND_IN_URL,
  PG_ROOT,
  ROOT,
  signingKeys,
  SUPABASE_CLI,
} from "./platform.mjs";
import { dim, IS_ROOT, run, runAsPostgres, StackError, step } from "./shell.mjs";

const BOOTSTRAP_DIR = join(ROOT, "local/bootstrap");
const MIGRATIONS_DIR = join(ROOT, "supabase/migrations");

const pgBin = (major, name) => `/usr/lib/postgresql/${major}/bin/${name}`;

function postgresUser() {
  const uid = run("id", ["-u", "postgres"], { capture: true });
  const gid = run("id", ["-g", "postgres"], { capture: true });
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function giveToPostgres(path) {
  if (!IS_ROOT) return;
  const { uid, gid } = postgresUser();
  chownSync(path, uid, gid);
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

export class Cluster {
  /** A PostgreSQL cluster under `root` (data, socket directory, log) listening on 127.0.0.1:`port`. */
  constructor({ root, port }) {
    this.root = root;
    this.port = port;
    this.data = join(root, "data");
    this.socketDir = join(root, "run");
    this.log = join(root, "postgres.log");
    this.url = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
  }

  exists() {
    return existsSync(join(this.data, "PG_VERSION"));
  }

  init(major) {
    step(`creating a PostgreSQL ${major} cluster in ${this.data}`);
    mkdirSync(this.root, { recursive: true, mode: 0o755 });
    mkdirSync(this.socketDir, { recursive: true, mode: 0o700 });
    giveToPostgres(this.root);
    giveToPostgres(this.socketDir);
    runAsPostgres(pgBin(major, "initdb"), [
      "--pgdata",
      this.data,
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
      `port = ${this.port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${this.socketDir}'`,
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
    const conf = join(this.data, "postgresql.conf");
    writeFileSync(conf, readFileSync(conf, "utf8") + settings);
    // The Vault stand-in's root key: a file beside the data, never a row (see 20-vault-stand-in.sql).
    const keyFile = join(this.data, "vault_root.key");
    writeFileSync(keyFile, randomBytes(32).toString("hex"), { mode: 0o600 });
    giveToPostgres(keyFile);
  }

  running(major) {
    if (!this.exists()) return false;
    return runAsPostgres(pgBin(major, "pg_ctl"), ["status", "--pgdata", this.data], {
      capture: true,
      allowFailure: true,
    }).status === 0;
  }

  /** Starts the cluster unless it runs; true when this call started it. */
  async start(major) {
    if (this.running(major)) return false;
    if (await portInUse(this.port)) {
      throw new StackError(
        `port ${this.port} is taken by another process (another checkout's stack? run \`npm stop\` there)`,
      );
    }
    step(`starting PostgreSQL ${major} on port ${this.port}`);
    mkdirSync(this.socketDir, { recursive: true, mode: 0o700 });
    giveToPostgres(this.socketDir);
    this.pgCtl(major, "start");
    return true;
  }

  /**
   * Restarts the cluster in place. `immediate` kills it without a checkpoint, as a crash would, so
   * the restart goes through WAL recovery (the crash-safety tests use it).
   */
  restart(major, mode = "fast") {
    if (!this.running(major)) throw new StackError("PostgreSQL is not running");
    step(`restarting PostgreSQL (${mode})`);
    this.pgCtl(major, "restart", ["--mode", mode]);
  }

  /** pg_ctl start or restart, logging to the cluster's log and waiting up to a minute. */
  pgCtl(major, action, options = []) {
    runAsPostgres(pgBin(major, "pg_ctl"), [
      action,
      "--pgdata",
      this.data,
      ...options,
      "--log",
      this.log,
      "--wait",
      "--timeout",
      "60",
    ], { capture: true });
  }

  stop(major) {
    if (!this.running(major)) return false;
    step("stopping PostgreSQL");
    runAsPostgres(pgBin(major, "pg_ctl"), ["stop", "--pgdata", this.data, "--mode", "fast", "--wait"], {
      capture: true,
    });
    return true;
  }

  /** psql as the local superuser over the private socket. */
  psql(args, options = {}) {
    return run("psql", [...this.psqlConnection(), "--set", "ON_ERROR_STOP=1", ...args], options);
  }

  /** psql's arguments for a quiet session as the local superuser over the private socket. */
  psqlConnection() {
    return [
      "--no-psqlrc",
      "--quiet",
      "--host",
      this.socketDir,
      "--port",
      String(this.port),
      "--username",
      ADMIN_ROLE,
      "--dbname",
      "postgres",
    ];
  }

  query(sql) {
    return this.psql(["--tuples-only", "--no-align", "--command", sql], { capture: true }).stdout.trim();
  }

  /**
   * pg_cron 1.4 starts the webhooks scheduler at the next whole minute: after a start, a restart or
   * a rebuild nothing would wake webhook-dispatch for up to a minute. So, when no run is watching,
   * this starts one in the background for the rest of the minute (the command pg_cron runs), and
   * pg_cron's next run takes over from it.
   */
  startSchedulerRunIfIdle() {
    if (this.query("select scheduler_running from webhooks.dispatch_health()") === "t") return;
    const command = this.query(
      "select webhooks.scheduler_command(date_trunc('minute', clock_timestamp()) + interval '61 seconds')",
    );
    const child = spawn("psql", [...this.psqlConnection(), "--command", command], {
      detached: true,
      stdio: "ignore",
    });
    child.unref();
  }

  /**
   * The platform bootstrap: what Supabase's image creates before any migration runs (roles, the
   * auth schema, Vault, supautils' privileged extensions). pg_cron and pg_net are left to the
   * migrations, as on a new hosted project; the pg_net stand-in is created where the real one is
   * not installed. `hostedDefaultPrivileges` reproduces hosted's former "grant everything new in
   * public to the API roles" default.
   */
  bootstrap({ hostedDefaultPrivileges = false } = {}) {
    step("applying the platform bootstrap (roles, auth, Vault, privileged extensions, pg_net stand-in)");
    for (const file of ["00-roles.sql", "10-database.sql", "15-privileged-extensions.sql"]) {
      this.psql(["--file", join(BOOTSTRAP_DIR, file)], { capture: true });
    }
    const available = new Set(
      this.query("select name from pg_available_extensions where name in ('pg_net', 'supabase_vault')").split("\n"),
    );
    if (available.has("supabase_vault")) {
      this.query("create extension if not exists supabase_vault with schema vault");
    } else {
      this.psql(["--file", join(BOOTSTRAP_DIR, "20-vault-stand-in.sql")], { capture: true });
    }
    if (!available.has("pg_net")) {
      this.psql(["--file", join(BOOTSTRAP_DIR, "30-pg-net-stand-in.sql")], { capture: true });
    }
    if (hostedDefaultPrivileges) {
      this.psql(["--file", join(BOOTSTRAP_DIR, "40-hosted-default-privileges.sql")], { capture: true });
    }
  }

  usesPgNetStandIn() {
    return this.query("select not exists (select from pg_extension where extname = 'pg_net')") === "t";
  }

  /** Applies pending migrations (and the seed, once) with the real Supabase CLI; returns its output. */
  push({ includeSeed = true } = {}) {
    step(`applying migrations${includeSeed ? " and seed" : ""} with the Supabase CLI (supabase db push)`);
    const result = run(SUPABASE_CLI, [
      "db",
      "push",
      "--db-url",
      `${this.url}?sslmode=disable`,
      ...(includeSeed ? ["--include-seed"] : []),
      "--yes",
    ], { capture: true, allowFailure: true });
    const output = `${result.stdout}${result.stderr}`.trim();
    if (result.status !== 0) throw new StackError(`supabase db push failed:\n${output}`);
    for (const line of output.split("\n")) {
      if (/Applying|Seeding|Updating|up to date/i.test(line)) console.log(dim(`  ${line.trim()}`));
    }
    return output;
  }
}

/** The stack's own cluster. */
export const stackCluster = new Cluster({ root: PG_ROOT, port: DB_PORT });

// ---------------------------------------------------------------------------------------------
// Which migration files the stack's database applied
// ---------------------------------------------------------------------------------------------

// What each migration file held when this cluster applied it (the CLI records versions, not content).
const APPLIED_MIGRATIONS = join(PG_ROOT, "applied-migrations.json");

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
export function changedMigrations() {
  if (!existsSync(APPLIED_MIGRATIONS)) return [];
  const applied = JSON.parse(readFileSync(APPLIED_MIGRATIONS, "utf8"));
  const current = migrationHashes();
  return Object.keys(applied).filter((name) => current[name] !== undefined && current[name] !== applied[name]);
}

/** Pushes the stack's migrations and records what each newly applied file held. */
export function pushStackMigrations() {
  stackCluster.push();
  // Record newly applied files only: an already applied one keeps what it held when applied.
  const applied = existsSync(APPLIED_MIGRATIONS) ? JSON.parse(readFileSync(APPLIED_MIGRATIONS, "utf8")) : {};
  writeFileSync(APPLIED_MIGRATIONS, JSON.stringify({ ...migrationHashes(), ...applied }, null, 2));
}

export function forgetAppliedMigrations() {
  rmSync(APPLIED_MIGRATIONS, { force: true });
}

// ---------------------------------------------------------------------------------------------
// What an operator stores in Vault on hosted, with this stack's values
// ---------------------------------------------------------------------------------------------

/**
 * The project URL (where pg_net and pg_cron reach the functions), the service account signing
 * key, the legacy JWT secret while the project has one (removed in `off` mode, as revoking it
 * would), and the Mapbox stand-in's token.
 */
export function configureLocalPlatform(cluster = stackCluster, legacyKeys = LEGACY_KEYS) {
  cluster.psql([
    "--set",
    `project_url=${API_URL}`,
    "--set",
    `jwt_secret=${legacyKeys === "on" ? JWT_SECRET : ""}`,
    "--set",
    `service_account_signing_key=${JSON.stringify(signingKeys().service_accounts)}`,
    "--file",
    join(BOOTSTRAP_DIR, "90-local-platform.sql"),
  ], { capture: true });
  cluster.psql([
    "--set",
    `mapbox_token=${MAPBOX_STAND_IN_TOKEN}`,
    "--file",
    join(BOOTSTRAP_DIR, "91-mapbox-stand-in.sql"),
  ], { capture: true });
  pointGeocodingAtStandIn();
}

const FUNCTIONS_ENV_FILE = join(ROOT, "supabase/functions/.env");
const GEOCODING_BLOCK_START =
  "# >>> local Mapbox stand-in (scripts/lib/database.mjs rewrites this block; delete it to opt out)";
const GEOCODING_BLOCK_END = "# <<< local Mapbox stand-in";

/**
 * Points the local mapbox-geocode function at the Mapbox stand-in: MAPBOX_API_ORIGIN in a marked
 * block of supabase/functions/.env unless the file sets MAPBOX_API_ORIGIN itself (e.g. to real
 * Mapbox).
 */
function pointGeocodingAtStandIn() {
  const current = existsSync(FUNCTIONS_ENV_FILE) ? readFileSync(FUNCTIONS_ENV_FILE, "utf8") : "";
  const blockPattern = new RegExp(
    `# >>> local Mapbox stand-in [^\\n]*\\n[\\s\\S]*?${escapeRegExp(GEOCODING_BLOCK_END)}\\n?`,
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
