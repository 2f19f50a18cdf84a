// A dispatcher killed with SIGKILL in the middle of a batch loses nothing: its deliveries stay
// leased, are claimed again once the lease expires, and every one arrives; a delivery sent twice
// carries the same webhook-id and body both times. Serial: it kills the stack's dispatchers.
import assert from "node:assert/strict";
import { asUser, connect, createTenant, eventually, integrationTest, ROOT, startReceiver } from "../_support/stack.ts";
import { deliveriesOf, dispatchNow, registerEndpoint } from "../_support/webhooks.ts";

/**
 * The processes the functions gateway runs webhook-dispatch's workers in, for this checkout: as on
 * hosted, a function may have several at once (wake-ups arriving together start two).
 */
function dispatcherPids(): number[] {
  const entry = `${ROOT}/supabase/functions/webhook-dispatch/index.ts`;
  const pids: number[] = [];
  for (const proc of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(proc.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${proc.name}/cmdline`).split("\0");
      if (argv.some((arg) => arg.endsWith("local/function-host.ts")) && argv.includes(entry)) {
        pids.push(Number(proc.name));
      }
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

integrationTest(
  "a dispatcher killed mid-batch: every delivery still arrives after the lease, duplicates keep their webhook-id",
  async () => {
    const sql = connect(2);
    let holding = true;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const receiver = startReceiver(async () => {
      if (holding) await held;
      return new Response("ok");
    });
    const tenant = await createTenant(sql, "crash");
    // Fewer than an endpoint's concurrency limit (32), so that all of them are in flight at once.
    const jobs = 20;
    try {
      const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
      await asUser(
        sql,
        tenant.userId,
        (tx) =>
          tx`insert into public.jobs (org_id, title) select ${tenant.orgId}, 'Crash ' || n from generate_series(1, ${jobs}) n`,
      );
      await eventually(() => receiver.requests.length >= jobs || undefined, { what: "the batch to be in flight" });

      const pids = dispatcherPids();
      assert.ok(pids.length > 0, "the gateway runs webhook-dispatch in processes of its own");
      for (const pid of pids) Deno.kill(pid, "SIGKILL");
      await eventually(() => dispatcherPids().length === 0 || undefined, { what: "the dispatchers to die" });
      holding = false;
      release();

      const stranded = (await deliveriesOf(sql, endpointId)).filter((delivery) => delivery.status === "sending");
      assert.equal(stranded.length, jobs, "the killed dispatcher's deliveries are still leased");
      // Time passes: the lease runs out (instead of waiting LEASE_SECONDS).
      await sql`update webhooks.deliveries set lease_expires_at = now() - interval '1 second'
               where endpoint_id = ${endpointId} and status = 'sending'`;
      // The gateway starts a new dispatcher once it has seen the old one die.
      await eventually(async () => {
        const response = await dispatchNow();
        await response.body?.cancel();
        return response.status === 200 || undefined;
      }, { what: "a new dispatcher to drain" });

      const delivered = await eventually(async () => {
        const rows = await deliveriesOf(sql, endpointId);
        return rows.every((row) => row.status === "succeeded") ? rows : undefined;
      }, { what: "every delivery to succeed" });
      assert.equal(delivered.length, jobs);

      const bodiesById = new Map<string, Set<string>>();
      for (const request of receiver.requests) {
        const id = request.headers.get("webhook-id")!;
        bodiesById.set(id, (bodiesById.get(id) ?? new Set()).add(request.body));
      }
      assert.deepEqual(
        [...bodiesById.keys()].sort(),
        delivered.map((row) => row.event_id).sort(),
        "every event arrived",
      );
      for (const [id, bodies] of bodiesById) assert.equal(bodies.size, 1, `${id} was sent with one body`);
      const retried = receiver.requests.filter((request) => request.headers.get("x-retry-count") !== "0");
      assert.equal(retried.length, 0, "a crash is not a failed attempt: the resend still carries X-Retry-Count 0");
    } finally {
      holding = false;
      release();
      await receiver.close();
      await tenant.remove();
      await sql.end();
    }
  },
);
