// The local stack without Docker, put together: installs what is missing (install.mjs), runs
// PostgreSQL with the platform bootstrap and the migrations (database.mjs), and the services
// (services.mjs). Node built-ins only, so it can run before `npm ci`.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DB_URL, PG_ROOT, rememberSettings, ROOT, STATE_DIR } from "./platform.mjs";
import { ensureNodeModules, ensureOpenssl, ensureSystemPackages, installedPostgresMajor } from "./install.mjs";
import {
  changedMigrations,
  Cluster,
  configureLocalPlatform,
  forgetAppliedMigrations,
  pushStackMigrations,
  stackCluster,
} from "./database.mjs";
import { serviceRunning, SERVICES, startService, stopService } from "./services.mjs";
import { run, StackError, step } from "./shell.mjs";
import { prepareDashboard } from "../../dashboard/scripts/prepare.mjs";

export { followLogs } from "./services.mjs";
export { printStatus } from "./status.mjs";
export { StackError, step };

/** Installs what is missing; returns the PostgreSQL major version to run. */
function prepare() {
  mkdirSync(STATE_DIR, { recursive: true });
  const major = ensureSystemPackages();
  ensureOpenssl();
  ensureNodeModules();
  prepareDashboard(step);
  return major;
}

/**
 * Brings every part of the stack up, starting only what is not running yet, and remembers its
 * settings for the commands that follow. Returns which parts this call started, so a caller can
 * stop exactly those.
 */
export async function startStack({ resetChangedDatabase = false } = {}) {
  const major = prepare();
  rememberSettings();
  const started = { postgres: false, services: [] };
  let fresh = false;
  if (!stackCluster.exists()) {
    stackCluster.init(major);
    fresh = true;
  }
  started.postgres = await stackCluster.start(major);
  if (fresh || started.postgres) stackCluster.bootstrap();
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
    pushStackMigrations();
  }
  configureLocalPlatform();
  stackCluster.startSchedulerRunIfIdle();
  const services = [
    ...(stackCluster.usesPgNetStandIn() ? ["pg-net-worker"] : []),
    "mapbox-stand-in",
    "gateway",
    "dashboard",
  ];
  for (const name of services) {
    if (await startService(name)) started.services.push(name);
  }
  return started;
}

export function stopStack(only) {
  const major = installedPostgresMajor();
  const services = only ? only.services : Object.keys(SERVICES);
  for (const name of services) stopService(name);
  if ((!only || only.postgres) && major) stackCluster.stop(major);
}

/**
 * Puts the running stack in a legacy-key mode (`on` or `off`): the gateway restarted with that
 * mode's environment and Vault's jwt_secret set or removed. The test runner uses it to run the
 * caller tests once more as a project whose legacy keys are revoked.
 */
export async function switchLegacyKeys(legacyKeys) {
  step(`legacy JWT secret and keys: ${legacyKeys}`);
  const wasRunning = serviceRunning("gateway");
  stopService("gateway");
  configureLocalPlatform(stackCluster, legacyKeys);
  if (wasRunning) await startService("gateway", { legacyKeys });
}

export async function resetDatabase() {
  await rebuildDatabase(prepare());
}

async function rebuildDatabase(major) {
  stackCluster.stop(major);
  step(`removing ${stackCluster.data}`);
  rmSync(stackCluster.data, { recursive: true, force: true });
  forgetAppliedMigrations();
  stackCluster.init(major);
  await stackCluster.start(major);
  stackCluster.bootstrap();
  pushStackMigrations();
  configureLocalPlatform();
  stackCluster.startSchedulerRunIfIdle();
}

export function restartPostgres(mode = "fast") {
  const major = installedPostgresMajor();
  if (!major) throw new StackError("PostgreSQL is not installed");
  stackCluster.restart(major, mode);
  stackCluster.startSchedulerRunIfIdle();
}

/**
 * A brand-new project on port `port`: a throwaway cluster with only the platform bootstrap (no
 * pg_cron, no pg_net: the migrations enable them), optionally with hosted's former default
 * privileges, and the migrations and seed pushed with the CLI; then the local platform settings.
 * Returns its DB URL, the extensions it had before the push, and the push's output.
 */
export async function startFreshProject(port, { hostedDefaultPrivileges = false } = {}) {
  const major = prepare();
  const cluster = new Cluster({ root: join(PG_ROOT, `fresh-project-${port}`), port });
  stopFreshProject(port);
  cluster.init(major);
  await cluster.start(major);
  cluster.bootstrap({ hostedDefaultPrivileges });
  const extensionsBeforePush = cluster.query("select string_agg(extname, ',' order by extname) from pg_extension");
  const output = cluster.push();
  // What an operator stores in Vault, so that the whole pgTAP suite can run against it.
  configureLocalPlatform(cluster);
  return {
    url: cluster.url,
    socketDir: cluster.socketDir,
    extensionsBeforePush: extensionsBeforePush.split(","),
    output,
  };
}

export function stopFreshProject(port) {
  const major = installedPostgresMajor();
  const cluster = new Cluster({ root: join(PG_ROOT, `fresh-project-${port}`), port });
  if (major && cluster.exists()) cluster.stop(major);
  rmSync(cluster.root, { recursive: true, force: true });
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
