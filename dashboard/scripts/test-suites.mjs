// The dashboard's part of `npm test`: its unit tests and its browser tests (Vitest projects `unit`
// and `browser`), each counted from Vitest's JSON report so that the suite's closing line counts
// every dashboard test too. The caller runs the commands (streaming their output) and passes the
// stack's environment, which the browser tests need.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DASHBOARD_DIR, DashboardError, ensureChromium, prepareDashboard } from "./prepare.mjs";

const REPORT_DIR = join(DASHBOARD_DIR, "test-results");

/**
 * Runs one Vitest project and counts its tests: { suite, passed, failed }. A run that fails
 * without a failed test (a file that does not load, a crash) counts as one failure.
 */
async function runProject({ project, suite, run, env }) {
  mkdirSync(REPORT_DIR, { recursive: true });
  const report = join(REPORT_DIR, `${project}.json`);
  rmSync(report, { force: true });
  const { status } = await run(join(DASHBOARD_DIR, "node_modules/.bin/vitest"), [
    "run",
    "--root",
    DASHBOARD_DIR,
    "--project",
    project,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
  ], { ...env, NO_COLOR: "1" });
  let passed = 0;
  let failed = 0;
  try {
    const counts = JSON.parse(readFileSync(report, "utf8"));
    passed = counts.numPassedTests;
    failed = counts.numFailedTests;
  } catch { /* no report: counted below */ }
  return { suite, passed, failed: status !== 0 && failed === 0 ? 1 : failed };
}

/**
 * The dashboard's suites, in order: unit tests, then (after installing Chromium if missing) the
 * browser tests against the running stack. `run(command, args, env)` resolves with `{ status }`.
 */
export async function runDashboardTests({ run, env, step = console.log }) {
  const results = [];
  try {
    prepareDashboard(step);
  } catch (error) {
    console.error(error instanceof DashboardError ? error.message : error);
    return [{ suite: "Dashboard (build)", passed: 0, failed: 1 }];
  }
  step("Dashboard: unit tests (Vitest, happy-dom)");
  results.push(await runProject({ project: "unit", suite: "Dashboard (unit)", run, env }));
  try {
    ensureChromium(step);
  } catch (error) {
    console.error(error instanceof DashboardError ? error.message : error);
    results.push({ suite: "Dashboard (browser)", passed: 0, failed: 1 });
    return results;
  }
  step("Dashboard: browser tests (playwright-core driving Debian's Chromium, axe-core)");
  results.push(await runProject({ project: "browser", suite: "Dashboard (browser)", run, env }));
  return results;
}
