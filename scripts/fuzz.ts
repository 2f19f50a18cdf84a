// The long fuzzing run: `npm run fuzz` (default 10,000 requests per function, seed 1) or
// `npm run fuzz -- --runs=N --seed=S --huge-bytes=B`, against the running stack (`npm start`
// first). The same generators and property as tests/function_fuzz_test.ts; prints, per function,
// the requests sent, the answers by HTTP status and the 4xx by error code, and exits non-zero on
// any 5xx or any error that is not JSON with a code (the first such requests are printed).
import postgres from "npm:postgres@3.4.9";
import { createFuzzWorld, FUZZED_FUNCTIONS, fuzzFunction } from "../tests/_support/fuzz.ts";
import { stack } from "../tests/_support/stack.ts";

function option(name: string, fallback: number): number {
  const given = Deno.args.find((arg) => arg.startsWith(`--${name}=`));
  const value = given === undefined ? fallback : Number(given.slice(name.length + 3));
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a whole number`);
  return value;
}

const runs = option("runs", 10_000);
const seed = option("seed", 1);
const hugeBytes = option("huge-bytes", 1_048_576);

const sql = postgres(stack.SUPABASE_DB_URL, { max: 2, onnotice: () => {} });
const world = await createFuzzWorld(sql);
let failed = false;
try {
  for (const fn of FUZZED_FUNCTIONS) {
    const started = performance.now();
    const figures = await fuzzFunction(fn, world, { runs, seed, hugeBytes });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const clientErrors = Object.entries(figures.byStatus).filter(([status]) => status.startsWith("4"));
    console.log(`${fn}: ${figures.requests} requests in ${seconds} s, seed ${seed}`);
    console.log(`  by status: ${JSON.stringify(figures.byStatus)}`);
    console.log(
      `  4xx: ${clientErrors.reduce((sum, [, count]) => sum + count, 0)}, by error code: ${
        JSON.stringify(figures.byErrorCode)
      }`,
    );
    console.log(`  5xx: ${figures.serverErrors}`);
    for (const failure of figures.failures) console.log(`  ✗ ${failure}`);
    failed ||= figures.failures.length > 0 || figures.serverErrors > 0;
  }
} finally {
  await world.remove();
  await sql.end();
}
Deno.exit(failed ? 1 : 0);
