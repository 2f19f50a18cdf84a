// The event catalog has one source of truth, the zod schemas: the database's list of types, the
// generated docs and JSON Schemas, and the samples must all agree with it.
import assert from "node:assert/strict";
import { EVENT_CATALOG, EVENT_TYPES, RESOURCES, WebhookEvent } from "../supabase/functions/_shared/events.ts";
import { renderCatalog } from "../scripts/generate-event-docs.ts";
import { connect, integrationTest, ROOT } from "./_support/stack.ts";

integrationTest("the database's event types are exactly the catalog's, with the same descriptions", async () => {
  const sql = connect(1);
  try {
    const rows = await sql<{ name: string; description: string }[]>`
      select name, description from webhooks.event_types order by name`;
    assert.deepEqual(
      rows.map((row) => [row.name, row.description]),
      [...EVENT_TYPES].sort().map((type) => [type, EVENT_CATALOG[type].description]),
    );
  } finally {
    await sql.end();
  }
});

integrationTest("the fields a <resource>.updated can list are the same in the database and the catalog", async () => {
  const sql = connect(1);
  try {
    for (const [resource, { fields }] of Object.entries(RESOURCES)) {
      const [{ update_fields }] = await sql<{ update_fields: string[] }[]>`select webhooks.update_fields(${resource})`;
      assert.deepEqual(update_fields, [...fields], resource);
    }
  } finally {
    await sql.end();
  }
});

Deno.test("every sample payload validates against its own schema and the union", () => {
  for (const type of EVENT_TYPES) {
    const { schema, sample } = EVENT_CATALOG[type];
    assert.equal(schema.safeParse(sample).success, true, `${type} sample`);
    assert.equal(WebhookEvent.parse(sample).event, type);
  }
});

Deno.test("a payload with a missing or extra field is rejected", () => {
  const sample = structuredClone(EVENT_CATALOG["job.created"].sample) as Record<string, unknown>;
  assert.equal(EVENT_CATALOG["job.created"].schema.safeParse({ ...sample, surprise: 1 }).success, false);
  delete sample.org_id;
  assert.equal(EVENT_CATALOG["job.created"].schema.safeParse(sample).success, false);
});

Deno.test("docs/events.md and docs/schemas are generated from the current schemas (npm run docs:events)", async () => {
  for (const [path, content] of renderCatalog()) {
    assert.equal(await Deno.readTextFile(`${ROOT}/${path}`), content, `${path} is stale`);
  }
});
