// Checks that keep the project deployable and reviewable: Supabase's own advisors and plpgsql_check
// lint on the migrated database, generated types in step with the schema, and deno fmt / lint / check.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ROOT, stack } from "./_support/stack.ts";

const DB_URL = `${stack.SUPABASE_DB_URL}?sslmode=disable`;

async function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(command, { args, cwd: ROOT, stdin: "null" }).output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

const supabase = (args: string[]) => run(`${ROOT}/node_modules/.bin/supabase`, args);
const deno = (args: string[]) => run(Deno.execPath(), args);

Deno.test("Supabase's Security and Performance Advisors report nothing at warn level", async () => {
  const { code, output } = await supabase([
    "db",
    "advisors",
    "--db-url",
    DB_URL,
    "--level",
    "warn",
    "--fail-on",
    "warn",
  ]);
  assert(code === 0 && output.includes("No issues found"), output);
});

Deno.test("supabase db lint (plpgsql_check) reports no error", async () => {
  const { code, output } = await supabase(["db", "lint", "--db-url", DB_URL, "--level", "error", "--fail-on", "error"]);
  assert(code === 0 && output.includes("No schema errors found"), output);
});

Deno.test("types/database.ts matches what postgres-meta generates from the migrated schema", async () => {
  const { code, output } = await run("node", [`${ROOT}/scripts/stack.mjs`, "gen-types", "--stdout"]);
  assertEquals(code, 0, output);
  const committed = await Deno.readTextFile(`${ROOT}/types/database.ts`);
  assert(committed === output, "types/database.ts is stale: run `npm run gen:types` and commit the result");
});

Deno.test("deno fmt --check passes", async () => {
  const { code, output } = await deno(["fmt", "--check", "--config", `${ROOT}/deno.json`]);
  assert(code === 0, output);
});

Deno.test("deno lint passes", async () => {
  const { code, output } = await deno(["lint", "--config", `${ROOT}/deno.json`]);
  assert(code === 0, output);
});

Deno.test("deno check passes for the functions, the local stack's services, scripts, examples and benchmarks", async () => {
  const entries = [
    "local/gateway.ts",
    "local/function-host.ts",
    "local/pg-net-worker.ts",
    "local/mapbox-stand-in.ts",
    "local/dashboard-server.ts",
    "scripts/generate-event-docs.ts",
    "scripts/generate-openapi.ts",
    "docs/examples/verify-deno.ts",
  ];
  for await (const entry of Deno.readDir(`${ROOT}/bench`)) {
    if (entry.isFile && entry.name.endsWith(".ts")) entries.push(`bench/${entry.name}`);
  }
  for await (const entry of Deno.readDir(`${ROOT}/supabase/functions`)) {
    if (entry.isDirectory && !entry.name.startsWith("_")) entries.push(`supabase/functions/${entry.name}/index.ts`);
  }
  const { code, output } = await deno(["check", "--config", `${ROOT}/deno.json`, ...entries]);
  assert(code === 0, output);
});
