// One endpoint's backlog and slowness never hold back another endpoint's deliveries, and no endpoint
// has more requests in flight than webhooks.settings.endpoint_concurrency, however many dispatchers
// run at once: the database hands out the work. (Counts and order, not timings.)
import assert from "node:assert/strict";
import { loadDispatchConfig } from "../supabase/functions/webhook-dispatch/config.ts";
import { drainDueDeliveries } from "../supabase/functions/webhook-dispatch/drain.ts";
import { dispatchWorker } from "../supabase/functions/webhook-dispatch/handler.ts";
import { postgresDeliveryStore } from "../supabase/functions/webhook-dispatch/store.ts";
import { DestinationGuard, dnsResolver } from "../supabase/functions/_shared/ssrf.ts";
import {
  asUser,
  connect,
  createTenant,
  eventually,
  integrationTest,
  stackDnsServer,
  startHttpsReceiver,
} from "./_support/stack.ts";
import { deliveriesOf, insertJob, registerEndpoint } from "./_support/webhooks.ts";

integrationTest(
  "a slow endpoint's backlog does not hold back another organization's delivery, nor get more than its limit",
  async () => {
    const sql = connect(4);
    const dispatcherSql = connect(4);
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const slowState = { inFlight: 0, mostInFlight: 0 };
    const slow = startHttpsReceiver(async () => {
      slowState.mostInFlight = Math.max(slowState.mostInFlight, ++slowState.inFlight);
      await released; // a receiver that takes as long as the test wants
      slowState.inFlight--;
      return new Response("ok");
    });
    const quick = startHttpsReceiver();
    const noisy = await createTenant(sql, "noisy");
    const quiet = await createTenant(sql, "quiet");
    const backlog = 300;
    const extraDrains: Promise<unknown>[] = [];
    try {
      const [{ limit }] = await sql<{ limit: number }[]>`select endpoint_concurrency as "limit" from webhooks.settings`;
      const slowEndpoint = await registerEndpoint(sql, noisy, slow.url);
      const quickEndpoint = await registerEndpoint(sql, quiet, quick.url);
      await asUser(
        sql,
        noisy.userId,
        (tx) =>
          tx`insert into public.jobs (org_id, title) select ${noisy.orgId}, 'Backlog ' || n from generate_series(1, ${backlog}) n`,
      );
      await eventually(() => slowState.inFlight === limit || undefined, {
        what: "the slow endpoint to hold its limit",
      });

      // Two more dispatchers (workers of their own) join the one the scheduler woke.
      const config = loadDispatchConfig(Deno.env.toObject());
      for (let i = 0; i < 2; i++) {
        // Resolving receivers' names through the stack's DNS server, as the function hosts do.
        const worker = dispatchWorker(config, postgresDeliveryStore(dispatcherSql), {
          guardFor: (allowLoopback) => new DestinationGuard({ allowLoopback }, dnsResolver(stackDnsServer)),
        });
        extraDrains.push(drainDueDeliveries(worker, { timeBudgetMs: 5_000, lingerMs: 500 }));
      }

      await insertJob(sql, quiet, "Quiet job");
      await eventually(() => quick.requests.length === 1 || undefined, { what: "the quiet organization's delivery" });
      const waiting = (await deliveriesOf(sql, slowEndpoint.endpointId)).filter((row) => row.status !== "succeeded");
      assert.equal(waiting.length, backlog, "it went out while the whole backlog still waited");
      await eventually(
        async () => (await deliveriesOf(sql, quickEndpoint.endpointId))[0].status === "succeeded" || undefined,
        {
          what: "its success to be recorded",
        },
      );
      await Promise.all(extraDrains);
      assert.equal(slowState.mostInFlight, limit, "three dispatchers together never sent the slow endpoint more");

      release();
      await eventually(async () => {
        const rows = await deliveriesOf(sql, slowEndpoint.endpointId);
        return rows.length === backlog && rows.every((row) => row.status === "succeeded") || undefined;
      }, { what: "the backlog to drain once the endpoint answers", timeoutMs: 60_000 });
      assert.equal(slowState.mostInFlight, limit);
    } finally {
      release();
      await Promise.allSettled(extraDrains);
      await slow.close();
      await quick.close();
      await noisy.remove();
      await quiet.remove();
      await dispatcherSql.end();
      await sql.end();
    }
  },
);
