#!/usr/bin/env node
// `npm test`: the whole suite on a fresh clone. Installs and starts what it needs (scripts/lib/stack.mjs),
// runs the pgTAP tests with pg_prove and the Deno tests against the running stack, then the caller
// tests once more as a project whose legacy JWT secret and keys are revoked, and the dashboard's
// unit and browser tests; stops what it started, and ends with one line `N passed, N failed`
// counting every pgTAP, Deno and dashboard test.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DENO, LEGACY_KEYS, pgProveArgs, ROOT, STATE_DIR, testEnvironment } from "./lib/platform.mjs";
import { StackError, startStack, step, stopStack, switchLegacyKeys } from "./lib/stack.mjs";
import { runDashboardTests } from "../dashboard/scripts/test-suites.mjs";

/**
 * Every test of who may call what: run a second time with the legacy keys revoked (the mode a new
 * project ends up in), so each caller check is seen to hold without them.
 */
const CALLER_TESTS = [
  "tests/event_feed_test.ts",
  "tests/function_callers_test.ts",
  "tests/functions_shared_test.ts",
  "tests/gateway_test.ts",
  "tests/geocode_member_test.ts",
  "tests/service_accounts_test.ts",
  "tests/stack_status_test.ts",
  "tests/webhook_admin_access_test.ts",
  "tests/webhook_delivery_test.ts",
];

const extraDenoArgs = process.argv.slice(2);

/** Runs a command with its output shown live and captured for counting. */
function runStreaming(command, args, env = {}, unset = []) {
  const inherited = { ...process.env };
  for (const name of unset) delete inherited[name];
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...inherited, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (stream, sink) =>
      stream.on("data", (chunk) => {
        output += chunk;
        sink.write(chunk);
      });
    collect(child.stdout, process.stdout);
    collect(child.stderr, process.stderr);
    child.on("error", (error) => {
      output += String(error);
      resolve({ status: 1, output });
    });
    child.on("close", (status) => resolve({ status: status ?? 1, output }));
  });
}

async function runPgTap() {
  step("pgTAP: pg_prove over supabase/tests/database");
  const { status, output } = await runStreaming("pg_prove", [
    "--verbose",
    ...pgProveArgs(),
  ], { PGPASSWORD: "postgres" });
  const lines = output.split("\n");
  const failed = lines.filter((line) => /^\s*not ok \d+/.test(line) && !/# TODO/.test(line)).length;
  const passed = lines.filter((line) => /^\s*ok \d+/.test(line)).length;
  // A file that dies before its plan completes reports no `not ok`, only a bad exit status.
  return { suite: "pgTAP", passed, failed: status !== 0 && failed === 0 ? failed + 1 : failed };
}

async function runDenoTests({ suite, description, args, legacyKeys = LEGACY_KEYS }) {
  step(`Deno tests: ${description}`);
  const { status, output } = await runStreaming(
    DENO,
    [
      "test",
      "--allow-all",
      "--config",
      join(ROOT, "deno.json"),
      ...extraDenoArgs,
      ...args,
    ],
    { ...testEnvironment(legacyKeys), NO_COLOR: "1" },
    ["SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "CJH_JWT_SECRET"],
  );
  const summary = output.match(/(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  const passed = summary ? Number(summary[1]) : 0;
  const failed = summary ? Number(summary[2]) : 0;
  return { suite, passed, failed: status !== 0 && failed === 0 ? failed + 1 : failed };
}

const results = [];
let started = null;
try {
  // A database built from older versions of the migration files would test the wrong schema.
  started = await startStack({ resetChangedDatabase: true });
  results.push(await runPgTap());
  results.push(
    await runDenoTests({
      suite: "Deno",
      description: "tests/ against the running stack",
      // Files run side by side: the pg_cron test waits for the next minute while the others run.
      args: ["--parallel", "--ignore=tests/serial", "tests/"],
    }),
  );
  results.push(
    await runDenoTests({
      suite: "Deno (serial)",
      description: "tests/serial, one at a time (they kill the dispatcher and restart PostgreSQL)",
      args: ["tests/serial/"],
    }),
  );
  const otherMode = LEGACY_KEYS === "on" ? "off" : "on";
  await switchLegacyKeys(otherMode);
  try {
    results.push(
      await runDenoTests({
        suite: `Deno (callers, legacy keys ${otherMode})`,
        description: `the caller tests again with the legacy JWT secret and keys ${otherMode}`,
        args: ["--parallel", ...CALLER_TESTS],
        legacyKeys: otherMode,
      }),
    );
  } finally {
    await switchLegacyKeys(LEGACY_KEYS);
  }
  results.push(...await runDashboardTests({ run: runStreaming, env: testEnvironment(), step }));
} catch (error) {
  console.error(`\x1b[31m✗\x1b[0m ${error instanceof StackError ? error.message : error?.stack ?? error}`);
  results.push({ suite: "stack start-up", passed: 0, failed: 1 });
} finally {
  if (started) stopStack(started);
}

const passed = results.reduce((sum, result) => sum + result.passed, 0);
const failed = results.reduce((sum, result) => sum + result.failed, 0);
console.log("");
for (const result of results) console.log(`${result.suite}: ${result.passed} passed, ${result.failed} failed`);
const summary = `${passed} passed, ${failed} failed`;
mkdirSync(STATE_DIR, { recursive: true });
writeFileSync(join(STATE_DIR, "test-summary.txt"), `${summary}\n`);
console.log(summary);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
