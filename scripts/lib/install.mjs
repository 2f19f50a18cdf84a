// Installation: PostgreSQL with pg_cron, pgTAP, plpgsql_check and pg_prove from Debian's packages,
// and the npm dependencies. Node built-ins only, so it can run before `npm ci`.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DENO, ROOT, SUPABASE_CLI } from "./platform.mjs";
import { IS_ROOT, run, StackError, step } from "./shell.mjs";

const REQUIRED_EXTENSIONS = ["pg_cron", "pgtap", "plpgsql_check", "pgcrypto"];
/** What @supabase/supabase-js and its packages declare in `engines`. */
export const NODE_MAJOR_WANTED = 22;

function hasExtension(major, name) {
  return existsSync(`/usr/share/postgresql/${major}/extension/${name}.control`);
}

/** The newest installed PostgreSQL major version that has every extension the project needs. */
export function installedPostgresMajor() {
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
export function ensureSystemPackages() {
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

/**
 * Installs Debian's openssl when the command is missing: it makes the local certificate authority and
 * the https receivers' certificate (platform.mjs, localCertificates).
 */
export function ensureOpenssl() {
  if (run("sh", ["-c", "command -v openssl"], { capture: true, allowFailure: true }).status === 0) return;
  if (!IS_ROOT) throw new StackError("openssl is missing; run `npm start` as root or install it with apt-get.");
  step("installing openssl from Debian's packages (apt-get)");
  const aptEnv = { DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-q"], { env: aptEnv });
  run("apt-get", ["install", "-y", "-q", "--no-install-recommends", "openssl"], { env: aptEnv });
}

/**
 * Runs `npm ci` when node_modules is missing or older than package-lock.json. On a Node.js older
 * than the one supabase-js declares, npm prints one EBADENGINE warning per package of it; the
 * stack runs supabase-js in Deno, not Node, so one line says so instead.
 */
export function ensureNodeModules() {
  const marker = join(ROOT, "node_modules/.package-lock.json");
  const lock = join(ROOT, "package-lock.json");
  const stale = !existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs ||
    !existsSync(DENO) || !existsSync(SUPABASE_CLI);
  if (!stale) return;
  step("installing npm dependencies (npm ci): deno, the Supabase CLI, postgres-meta, supabase-js …");
  const nodeMajor = Number(process.versions.node.split(".")[0]);
  if (nodeMajor < NODE_MAJOR_WANTED) {
    step(
      `Node.js ${process.versions.node} is older than the ${NODE_MAJOR_WANTED} supabase-js declares; ` +
        "the stack runs supabase-js in Deno, so npm's engine warnings are hidden",
    );
  }
  run("npm", ["ci", "--no-audit", "--no-fund", ...(nodeMajor < NODE_MAJOR_WANTED ? ["--loglevel=error"] : [])]);
}
