// What `npm start` and `npm test` need from the dashboard before they run it: its npm dependencies
// (its own package-lock.json, installed with `npm ci`), a build of the standalone page and of the
// component package that matches the sources, and, for the browser tests, Debian's Chromium.
// Node built-ins only, so it runs before anything is installed.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const PAGE_DIR = join(DASHBOARD_DIR, "dist/page");
export const LIB_DIR = join(DASHBOARD_DIR, "dist/lib");
/** Debian's Chromium, which the browser tests drive (Playwright's own browser downloads are unreachable here). */
export const CHROMIUM = process.env.CJH_CHROMIUM ?? "/usr/bin/chromium";

const BUILD_STAMP = join(DASHBOARD_DIR, "dist/build-inputs.sha256");
const BUILD_INPUTS = [
  "src",
  "index.html",
  "vite.config.ts",
  "tsconfig.json",
  "tsconfig.lib.json",
  "package-lock.json",
  "scripts/prepare.mjs",
];
const BIN = join(DASHBOARD_DIR, "node_modules/.bin");

export class DashboardError extends Error {}

function run(command, args, { env, capture = false } = {}) {
  const result = spawnSync(command, args, {
    cwd: DASHBOARD_DIR,
    env: { ...process.env, ...env },
    stdio: capture ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    encoding: "utf8",
  });
  if (result.error) throw new DashboardError(`${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const detail = capture ? `\n${result.stderr || result.stdout}` : "";
    throw new DashboardError(`${command} ${args.join(" ")} exited with ${result.status}${detail}`);
  }
  return result;
}

/** Runs `npm ci` in dashboard/ when its node_modules is missing or older than its package-lock.json. */
export function ensureDashboardDependencies(log = console.log) {
  const marker = join(DASHBOARD_DIR, "node_modules/.package-lock.json");
  const lock = join(DASHBOARD_DIR, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return false;
  log("installing the dashboard's npm dependencies (npm ci in dashboard/): React, Vite, Vitest, playwright-core …");
  // Same as the root install: on a Node.js older than supabase-js's `engines` (22), npm's engine
  // warnings are hidden, since the dashboard runs supabase-js in the browser, not in Node.js.
  const nodeMajor = Number(process.versions.node.split(".")[0]);
  run("npm", ["ci", "--no-audit", "--no-fund", ...(nodeMajor < 22 ? ["--loglevel=error"] : [])]);
  return true;
}

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => filesUnder(join(path, name)));
}

/** SHA-256 over the names and contents of everything the build reads. */
export function buildInputsHash() {
  const hash = createHash("sha256");
  for (const file of BUILD_INPUTS.flatMap((input) => filesUnder(join(DASHBOARD_DIR, input)))) {
    hash.update(relative(DASHBOARD_DIR, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

/**
 * Builds the standalone page (dist/page) and the component package (dist/lib, with its type
 * declarations) unless the last build was made from the same inputs. Returns whether it built.
 */
export function buildDashboard(log = console.log, { force = false } = {}) {
  const inputs = buildInputsHash();
  const built = existsSync(BUILD_STAMP) ? readFileSync(BUILD_STAMP, "utf8").trim() : "";
  if (!force && built === inputs && existsSync(join(PAGE_DIR, "index.html")) && existsSync(join(LIB_DIR, "index.js"))) {
    return false;
  }
  log("building the webhook dashboard (vite build: dashboard/dist/page and dashboard/dist/lib)");
  run(join(BIN, "vite"), ["build", "--logLevel", "warn"], { capture: true });
  run(join(BIN, "vite"), ["build", "--mode", "lib", "--logLevel", "warn"], { capture: true });
  run(join(BIN, "tsc"), ["-p", "tsconfig.lib.json"], { capture: true });
  // tsc emits declarations for .ts files only; the API's generated shapes are a .d.ts already.
  copyFileSync(join(DASHBOARD_DIR, "src/api/openapi.d.ts"), join(LIB_DIR, "types/api/openapi.d.ts"));
  mkdirSync(dirname(BUILD_STAMP), { recursive: true });
  writeFileSync(BUILD_STAMP, `${inputs}\n`);
  return true;
}

/** Dependencies and an up-to-date build: what `npm start` needs before serving the page. */
export function prepareDashboard(log = console.log) {
  ensureDashboardDependencies(log);
  buildDashboard(log);
}

/**
 * Installs Debian's chromium (and a font family for legible screenshots) when CHROMIUM is missing:
 * as root with apt-get, as CI does on a fresh machine; otherwise explains what to install.
 */
export function ensureChromium(log = console.log) {
  if (existsSync(CHROMIUM)) return false;
  if (process.getuid?.() !== 0) {
    throw new DashboardError(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) or set CJH_CHROMIUM`,
    );
  }
  log("installing Chromium for the dashboard's browser tests (apt-get install chromium)");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-q"], { env });
  run("apt-get", ["install", "-y", "-q", "--no-install-recommends", "chromium", "fonts-liberation"], { env });
  if (!existsSync(CHROMIUM)) throw new DashboardError(`apt-get installed chromium, but ${CHROMIUM} is still missing`);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    ensureDashboardDependencies();
    buildDashboard(console.log, { force: process.argv.includes("--force") });
    if (process.argv.includes("--chromium")) ensureChromium();
  } catch (error) {
    console.error(error instanceof DashboardError ? error.message : error);
    process.exit(1);
  }
}
