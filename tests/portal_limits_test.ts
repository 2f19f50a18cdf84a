// The numbers the portal's pages state (docs/rate-limits.md, retries.md, security.md, sync.md) are the ones
// the code and the database set. Each is written next to the name of the constant or setting it
// comes from; this finds that table row or paragraph and checks it states the current value, so a
// changed default fails here until the page says so too.
import assert from "node:assert/strict";
import { SERVICE_ACCOUNT_TOKEN_TTL_SECONDS } from "../supabase/functions/_shared/service-accounts.ts";
import { GeocodeSettings } from "../supabase/functions/mapbox-geocode/config.ts";
import { MAX_LIMIT, MAX_QUERY_CHARS, MAX_QUERY_WORDS } from "../supabase/functions/mapbox-geocode/request.ts";
import { loadDispatchConfig } from "../supabase/functions/webhook-dispatch/config.ts";
import { LEASE_SECONDS } from "../supabase/functions/webhook-dispatch/drain.ts";
import { REQUEST_TIMEOUT_MS, RESPONSE_EXCERPT_BYTES } from "../supabase/functions/webhook-dispatch/sender.ts";
import { connect, integrationTest, ROOT } from "./_support/stack.ts";

async function page(name: string): Promise<string> {
  return await Deno.readTextFile(`${ROOT}/docs/${name}`);
}

/** The table row or paragraph of a page that names `name` (in backticks or as a qualified setting). */
function passageNaming(text: string, name: string): string {
  const passages = text.split(/\n\s*\n/).flatMap((block) => block.startsWith("|") ? block.split("\n") : [block]);
  const found = passages.filter((passage) => passage.includes(name));
  assert.ok(found.length > 0, `no passage names ${name}`);
  return found.join("\n");
}

/** The ways a page may write a duration: 60 s, 1 min, 1 minute, 24 h, 24 hours, 30 days. */
function durations(seconds: number): string[] {
  const forms = [`${seconds} s`, `${seconds} seconds`];
  const units: [number, string, string][] = [[60, "min", "minute"], [3600, "h", "hour"], [86400, "d", "day"]];
  for (const [size, short, long] of units) {
    if (seconds % size !== 0) continue;
    const count = seconds / size;
    forms.push(`${count} ${short}`, `${count} ${long}${count === 1 ? "" : "s"}`);
  }
  return forms;
}

function assertStates(passage: string, forms: string[], what: string): void {
  const plain = passage.replaceAll("**", "").replace(/(\d) (\d{3})\b/g, "$1$2");
  assert.ok(
    forms.some((form) => new RegExp(`(^|[^\\d.])${form.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(plain)),
    `${what}: expected one of ${forms.join(" | ")} in:\n${passage}`,
  );
}

Deno.test("docs/rate-limits.md states webhook-dispatch's and mapbox-geocode's defaults", async () => {
  const text = await page("rate-limits.md");
  const dispatch = loadDispatchConfig({ SUPABASE_DB_URL: "postgres://unused", SUPABASE_SERVICE_ROLE_KEY: "unused" });
  const counts: [string, number][] = [
    ["WEBHOOK_DISPATCH_CONCURRENCY", dispatch.WEBHOOK_DISPATCH_CONCURRENCY],
    ["WEBHOOK_DISPATCH_BATCH_SIZE", dispatch.WEBHOOK_DISPATCH_BATCH_SIZE],
    ["WEBHOOK_DISPATCH_MAX_BACKGROUND_DRAINS", dispatch.WEBHOOK_DISPATCH_MAX_BACKGROUND_DRAINS],
    ["MAX_LIMIT", MAX_LIMIT],
  ];
  for (const [name, value] of counts) assertStates(passageNaming(text, `\`${name}\``), [String(value)], name);
  const times: [string, number][] = [
    ["WEBHOOK_DISPATCH_TIME_BUDGET_MS", dispatch.WEBHOOK_DISPATCH_TIME_BUDGET_MS / 1000],
    ["WEBHOOK_DISPATCH_WORKER_WALL_CLOCK_MS", dispatch.WEBHOOK_DISPATCH_WORKER_WALL_CLOCK_MS / 1000],
    ["REQUEST_TIMEOUT_MS", REQUEST_TIMEOUT_MS / 1000],
    ["LEASE_SECONDS", LEASE_SECONDS],
    ["MAPBOX_TIMEOUT_MS", GeocodeSettings.parse({}).MAPBOX_TIMEOUT_MS / 1000],
    ["SERVICE_ACCOUNT_TOKEN_TTL_SECONDS", SERVICE_ACCOUNT_TOKEN_TTL_SECONDS],
  ];
  for (const [name, seconds] of times) assertStates(passageNaming(text, `\`${name}\``), durations(seconds), name);
  assertStates(passageNaming(text, "`RESPONSE_EXCERPT_BYTES`"), [`${RESPONSE_EXCERPT_BYTES / 1024} KiB`], "excerpt");
  const query = passageNaming(text, "`MAX_QUERY_CHARS`");
  assertStates(query, [`${MAX_QUERY_CHARS} characters`], "MAX_QUERY_CHARS");
  assertStates(query, [`${MAX_QUERY_WORDS} words`], "MAX_QUERY_WORDS");
});

integrationTest(
  "the retry schedule and the webhook and geocoding settings in the pages are the database's",
  async () => {
    const sql = connect(1);
    try {
      const [webhooks] = await sql<{ [name: string]: number }[]>`
      select extract(epoch from delivery_window)::int as delivery_window,
             extract(epoch from auto_disable_after)::int as auto_disable_after,
             extract(epoch from retry_after_cap)::int as retry_after_cap,
             extract(epoch from secret_overlap)::int as secret_overlap,
             extract(epoch from retention)::int as retention,
             endpoint_concurrency
        from webhooks.settings`;
      const [geocoding] = await sql<{ [name: string]: number }[]>`
      select rate_limit_burst, rate_limit_per_minute::float8 as rate_limit_per_minute,
             extract(epoch from cache_ttl)::int as cache_ttl
        from geocoding.settings`;
      const [{ definition }] = await sql<{ definition: string }[]>`
      select pg_get_functiondef('webhooks.retry_delay(integer)'::regprocedure) as definition`;

      const retries = await page("retries.md");
      const rateLimits = await page("rate-limits.md");
      const security = await page("security.md");
      const sync = await page("sync.md");
      const settings: [string, string, number][] = [
        [retries, "delivery_window", webhooks.delivery_window],
        [retries, "auto_disable_after", webhooks.auto_disable_after],
        [retries, "retry_after_cap", webhooks.retry_after_cap],
        [rateLimits, "retry_after_cap", webhooks.retry_after_cap],
        [security, "secret_overlap", webhooks.secret_overlap],
        [sync, "retention", webhooks.retention],
        [rateLimits, "cache_ttl", geocoding.cache_ttl],
      ];
      for (const [text, name, seconds] of settings) {
        assertStates(passageNaming(text, `.${name}\``), durations(seconds), name);
      }
      assertStates(
        passageNaming(rateLimits, ".endpoint_concurrency`"),
        [String(webhooks.endpoint_concurrency)],
        "endpoint_concurrency",
      );
      const bucket = passageNaming(rateLimits, "`rate_limit_burst`");
      assertStates(bucket, [`burst ${geocoding.rate_limit_burst}`], "rate_limit_burst");
      assertStates(bucket, [`${geocoding.rate_limit_per_minute} per minute`], "rate_limit_per_minute");

      // The delays after the 1st, 2nd, … failed attempt, before jitter, as the schedule table shows them.
      const delays = definition.match(/array\[([\d,\s]+)\]/)![1].split(",").map(Number);
      const row = retries.split("\n").find((line) => line.startsWith("| next attempt in"));
      assert.ok(row, "retries.md has the schedule table");
      const cells = row.split("|").slice(2, -1).map((cell) => cell.trim());
      assert.equal(cells.length, delays.length);
      delays.forEach((seconds, index) =>
        assert.ok(durations(seconds).includes(cells[index]), `${cells[index]} ≠ ${seconds} s`)
      );
      assert.match(definition, /0\.8 \+ random\(\) \* 0\.4/, "±20 % jitter, as retries.md says");
    } finally {
      await sql.end();
    }
  },
);
