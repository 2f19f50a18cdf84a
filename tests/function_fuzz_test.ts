// Fuzzing every function route through the gateway with fast-check, with a fixed seed so every run
// sends the same requests (tests/_support/fuzz.ts says what they are): never a 5xx, every error
// JSON with a code. `npm run fuzz` runs the same generators for as long as asked.
import assert from "node:assert/strict";
import { createFuzzWorld, fuzzFunction, type FuzzWorld } from "./_support/fuzz.ts";
import { connect, integrationTest } from "./_support/stack.ts";

const SEED = 14;
const RUNS = { "webhook-admin": 600, "mapbox-geocode": 250, "webhook-dispatch": 150 } as const;

const sql = connect(2);
let world: FuzzWorld | null = null;
globalThis.addEventListener("unload", () => void sql.end());

for (const [fn, runs] of Object.entries(RUNS) as [keyof typeof RUNS, number][]) {
  integrationTest(
    `${runs} fuzzed requests to ${fn} (seed ${SEED}): no 5xx, every error is JSON with a code`,
    async () => {
      world ??= await createFuzzWorld(sql);
      const figures = await fuzzFunction(fn, world, { runs, seed: SEED });
      assert.deepEqual(figures.failures, []);
      assert.equal(figures.serverErrors, 0);
      assert.equal(figures.requests, runs);
      // The requests reached past validation too: some succeeded.
      assert.ok(Object.keys(figures.byStatus).some((status) => Number(status) < 300), JSON.stringify(figures.byStatus));
    },
  );
}

integrationTest("the fuzzing organization is removed", async () => {
  await world?.remove();
});
