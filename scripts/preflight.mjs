#!/usr/bin/env node
// `npm run preflight -- --db-url <connection string>`: checks a project (by default the local
// stack) with ops.preflight() and prints each check, calling again while pg_net probes are on
// their way. Exits 1 when a check fails or stays pending. The connection string is the one
// `supabase db push --db-url` takes.
import postgres from "postgres";
import { DB_URL } from "./lib/platform.mjs";

const PENDING_RETRIES = 15;
const PENDING_WAIT_MS = 2_000;

const argument = (name) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const url = argument("--db-url") ?? process.env.CJH_PREFLIGHT_DB_URL ?? DB_URL;
const sql = postgres(url, { max: 1, onnotice: () => {}, prepare: false });

let checks = [];
try {
  for (let attempt = 0; attempt <= PENDING_RETRIES; attempt++) {
    checks = await sql`select area, check_name, status, detail, fix from ops.preflight()`;
    if (!checks.some((check) => check.status === "pending")) break;
    await new Promise((resolve) => setTimeout(resolve, PENDING_WAIT_MS));
  }
} catch (error) {
  console.error(`preflight could not run against ${url.replace(/:[^:@/]*@/, ":***@")}: ${error.message}`);
  console.error("Apply the migrations first (supabase db push): they create ops.preflight().");
  process.exit(1);
} finally {
  await sql.end();
}

const marks = { ok: "✓", warn: "!", fail: "✗", pending: "…" };
for (const check of checks) {
  console.log(`${marks[check.status] ?? "?"} ${check.area} / ${check.check_name}: ${check.detail}`);
  if (check.fix) console.log(`    fix: ${check.fix}`);
}
const failed = checks.filter((check) => check.status === "fail" || check.status === "pending").length;
console.log(failed === 0 ? "\nThe project is ready." : `\n${failed} check(s) need attention.`);
process.exitCode = failed === 0 ? 0 : 1;
