// Automatic geocoding converges for an import of any size: 300 properties inserted at once into an
// organization with the default rate limit (a burst of 60, 60 per minute) all end up with
// coordinates, or recorded as failed for good when Mapbox knows no such address, in waves of at
// most the tokens the bucket holds, and not one request is refused with a 429. Time is controlled,
// not waited for: each "minute" moves the bucket's last refill back by a minute and runs what the
// minute job runs (geocoding.request_due_geocoding), and the test waits only for the requests
// sent to settle.
import assert from "node:assert/strict";
import type postgres from "npm:postgres@3.4.9";
import { asUser, connect, eventually, integrationTest } from "./_support/stack.ts";
import { createGeocodeTenant } from "./_support/geocoding.ts";

const IMPORT = 300;
const UNKNOWN = 10; // the stand-in finds nothing for an address containing "nowhere"

const sql = connect(3);
globalThis.addEventListener("unload", () => void sql.end());

/** The pg_net requests `work` queues in its transaction, by id. */
async function requestsQueuedBy(work: (tx: postgres.TransactionSql) => Promise<unknown>): Promise<string[]> {
  return await sql.begin(async (tx) => {
    const [{ last }] = await tx<
      { last: string }[]
    >`select coalesce(max(id), 0)::text as last from net.http_request_queue`;
    await work(tx);
    const rows = await tx<{ id: string }[]>`
      select id::text from net.http_request_queue
       where id > ${last} and url like '%/functions/v1/mapbox-geocode'`;
    return rows.map((row) => row.id);
  });
}

integrationTest(`an import of ${IMPORT} properties is geocoded entirely, within the rate limit`, async () => {
  const tenant = await createGeocodeTenant(sql, "geocode-import");
  try {
    await asUser(sql, tenant.userId, (tx) => tx`select public.set_auto_geocoding(${tenant.orgId}, true)`);
    const [{ burst }] = await sql<{ burst: number }[]>`select rate_limit_burst as burst from geocoding.settings`;

    const waves: string[][] = [];
    waves.push(
      await requestsQueuedBy(async (tx) => {
        // As the member, the way PostgREST runs their import.
        const claims = JSON.stringify({ sub: tenant.memberId, role: "authenticated" });
        await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
        await tx`
          insert into public.properties (org_id, address1, city, region, postal_code)
          select ${tenant.orgId},
                 case when g <= ${UNKNOWN} then g || ' Nowhere Lane' else g || ' Import Avenue' end,
                 'Austin', 'TX', '78702'
            from generate_series(1, ${IMPORT}) as g`;
      }),
    );
    const pending = async () => {
      const [row] = await sql<{ waiting: number; leased: number }[]>`
        select count(*) filter (where attempts = 0)::int as waiting,
               count(*) filter (where attempts > 0)::int as leased
          from geocoding.auto_queue where org_id = ${tenant.orgId} and status = 'pending'`;
      return row;
    };
    while (true) {
      // The requests sent settle: coordinates stored (the row leaves), or a failure recorded.
      await eventually(async () => (await pending()).leased === 0 || undefined, {
        timeoutMs: 60_000,
        what: "the wave's requests to settle",
      });
      if ((await pending()).waiting === 0) break;
      // A minute passes.
      await sql`update geocoding.rate_limit_buckets set refilled_at = refilled_at - interval '1 minute'
                 where org_id = ${tenant.orgId}`;
      waves.push(await requestsQueuedBy((tx) => tx`select geocoding.request_due_geocoding()`));
      assert.ok(waves.length <= IMPORT / burst + 2, `converging takes more than ${waves.length} minutes`);
    }

    const [{ geocoded }] = await sql<{ geocoded: number }[]>`
      select count(*)::int as geocoded from public.properties
       where org_id = ${tenant.orgId} and address1 like '% Import Avenue' and lat is not null`;
    assert.equal(geocoded, IMPORT - UNKNOWN, "every known address has coordinates");
    const failed = await sql<{ address1: string; last_error: string }[]>`
      select p.address1, q.last_error from geocoding.auto_queue q join public.properties p on p.id = q.property_id
       where q.org_id = ${tenant.orgId} and q.status = 'failed'`;
    assert.equal(failed.length, UNKNOWN, "every unknown address is recorded as failed for good");
    assert.ok(failed.every((row) => row.address1.endsWith("Nowhere Lane") && /no location/.test(row.last_error)));

    // Within the rate limit: no wave was larger than a bucket's worth, and no request was refused.
    assert.ok(waves.every((wave) => wave.length <= burst), JSON.stringify(waves.map((wave) => wave.length)));
    const answers = await sql<{ status_code: number; count: number }[]>`
      select status_code, count(*)::int from net._http_response where id = any(${waves.flat()}::bigint[]) group by 1`;
    assert.ok(
      answers.every((row) => row.status_code === 200 || row.status_code === 404),
      `the waves' answers are 200 with coordinates or 404 no_match, never a 429: ${JSON.stringify(answers)}`,
    );
    // The stack's own minute job (geocoding-request-due) may send a wave between the test's, from
    // the same bucket: every request that stored coordinates is counted, whoever sent it. (Only
    // this organization's answers carry its id; they are JSON.) The function stores coordinates
    // before it answers, and pg_net records the answer after: wait for the answers of every
    // property that has coordinates (or the timeout), then compare.
    const storedAnswers = async () => {
      const [row] = await sql<{ answers: number; properties: number }[]>`
        with mine as materialized (
          select content from net._http_response where status_code = 200 and strpos(content, ${tenant.orgId}) > 0
        )
        select count(*)::int as answers, count(distinct content::jsonb -> 'property' ->> 'id')::int as properties
          from mine where content::jsonb -> 'property' ->> 'org_id' = ${tenant.orgId}`;
      return row;
    };
    const stored = await eventually(async () => {
      const row = await storedAnswers();
      return row.answers >= IMPORT - UNKNOWN ? row : undefined;
    }, { timeoutMs: 30_000, what: "pg_net to record every answer" }).catch(storedAnswers);
    assert.deepEqual(
      stored,
      { answers: IMPORT - UNKNOWN, properties: IMPORT - UNKNOWN },
      "each known property was requested once, and answered 200 with its coordinates",
    );
  } finally {
    await tenant.remove();
  }
});
