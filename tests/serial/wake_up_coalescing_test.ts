// While a drain is announced, writers skip their wake-up and hold the wake lock until they end;
// a stopping drain waits for them without making new writers queue behind it. Serial: it fakes
// a running drain, which would hold back every other test's wake-ups.
import assert from "node:assert/strict";
import { asUser, connect, createTenant, eventually, integrationTest, startReceiver } from "../_support/stack.ts";
import { deliveriesOf, dispatchNow, registerEndpoint } from "../_support/webhooks.ts";

integrationTest(
  "a stopping drain waits for writers that skipped their wake-up, and new writers never wait for it",
  async () => {
    const sql = connect(4);
    const receiver = startReceiver();
    const tenant = await createTenant(sql, "coalescing");
    // Another organization's writer: the same organization's would queue on its job-number counter.
    const other = await createTenant(sql, "coalescing-other");
    let releaseLongWriter: () => void = () => {};
    const longWriterMayCommit = new Promise<void>((resolve) => (releaseLongWriter = resolve));
    try {
      const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
      const { endpointId: otherEndpointId } = await registerEndpoint(sql, other, receiver.url);
      await sql`insert into webhooks.dispatcher_heartbeat values (true, 'infinity')
              on conflict (singleton) do update set draining_until = 'infinity'`;

      // A long transaction creates a delivery while the (pretended) drain runs.
      let wakeUpsSeenInside = -1;
      const longWriter = asUser(sql, tenant.userId, async (tx) => {
        await tx`insert into public.jobs (org_id, title) values (${tenant.orgId}, 'Long transaction')`;
        await tx`set local role postgres`;
        const [{ count }] = await tx`select count(*)::int as count from net.http_request_queue
                                    where xmin::text::bigint = txid_current() % 4294967296`;
        wakeUpsSeenInside = count;
        await longWriterMayCommit;
      });
      await eventually(() => wakeUpsSeenInside >= 0 || undefined, { what: "the long transaction's insert" });
      assert.equal(wakeUpsSeenInside, 0, "it skipped its wake-up: the running drain will claim its delivery");

      // The drain stops: it clears the heartbeat and waits for the long transaction…
      await sql`select webhooks.stop_draining()`;
      const order: string[] = [];
      const waiting = sql`select webhooks.await_skipped_wake_ups(1500) as clear`.then(([row]) => {
        order.push("drain gave up waiting");
        return row.clear as boolean;
      });
      // …while another writer commits without waiting for it, and wakes a dispatcher itself.
      await asUser(
        sql,
        other.userId,
        (tx) => tx`insert into public.jobs (org_id, title) values (${other.orgId}, 'Quick')`,
      );
      order.push("quick writer committed");
      assert.equal(await waiting, false, "the drain cannot stop while the long transaction is open");
      assert.deepEqual(order, ["quick writer committed", "drain gave up waiting"]);

      releaseLongWriter();
      await longWriter;
      const [{ clear }] = await sql`select webhooks.await_skipped_wake_ups(1500) as clear`;
      assert.equal(clear, true, "once it has committed, the drain may claim one last time and stop");

      await dispatchNow();
      await eventually(async () => {
        const current = [...await deliveriesOf(sql, endpointId), ...await deliveriesOf(sql, otherEndpointId)];
        return current.length === 2 && current.every((row) => row.status === "succeeded") || undefined;
      }, { what: "both deliveries" });
    } finally {
      releaseLongWriter();
      await sql`delete from webhooks.dispatcher_heartbeat`;
      await receiver.close();
      await tenant.remove();
      await other.remove();
      await sql.end();
    }
  },
);
