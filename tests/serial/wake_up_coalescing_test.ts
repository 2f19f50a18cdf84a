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

integrationTest(
  "a transaction recording its wake-up never makes another writer wait, and both deliveries arrive once",
  async () => {
    const sql = connect(4);
    const receiver = startReceiver();
    const tenant = await createTenant(sql, "wake-recorder");
    const other = await createTenant(sql, "wake-other");
    let releaseLongWriter: () => void = () => {};
    const longWriterMayCommit = new Promise<void>((resolve) => (releaseLongWriter = resolve));
    try {
      await registerEndpoint(sql, tenant, receiver.url);
      await registerEndpoint(sql, other, receiver.url);
      // A drain has stopped and no wake-up is on its way: the next writer asks for one.
      await sql`select webhooks.stop_draining()`;
      await sql`update webhooks.wake_requests set requested_at = '-infinity'`;

      let recorded: boolean | null = null;
      const longWriter = asUser(sql, tenant.userId, async (tx) => {
        await tx`insert into public.jobs (org_id, title) values (${tenant.orgId}, 'Long transaction')`;
        await tx`set local role postgres`;
        const [row] = await tx`select requested_at > clock_timestamp() - interval '1 minute' as recorded
                                from webhooks.wake_requests`;
        recorded = row.recorded;
        await longWriterMayCommit;
      });
      await eventually(() => recorded ?? undefined, { what: "the long transaction's insert" });
      assert.equal(recorded, true, "it asked for a wake-up and is recording it (holding the row)");

      // Without skip locked this writer would queue behind the long transaction's row lock.
      await asUser(sql, other.userId, async (tx) => {
        await tx`set local lock_timeout = '2s'`;
        await tx`insert into public.jobs (org_id, title) values (${other.orgId}, 'Quick')`;
      });

      releaseLongWriter();
      await longWriter;
      await eventually(
        () => receiver.requests.length >= 2 || undefined,
        { what: "both deliveries", timeoutMs: 30_000 },
      );
      const titles = receiver.requests.map((request) => JSON.parse(request.body).job.title).sort();
      assert.deepEqual(titles, ["Long transaction", "Quick"]);
    } finally {
      releaseLongWriter();
      await receiver.close();
      await tenant.remove();
      await other.remove();
      await sql.end();
    }
  },
);

integrationTest(
  "a stopping drain waits only for the writers it found, however many come after them",
  async () => {
    const sql = connect(4);
    let writing = true;
    // Two writers take turns holding the wake lock (as writers do from their insert to their
    // commit), each taking it before the other lets go: at no moment is it free.
    const hold = async () => {
      while (writing) {
        await sql.begin(async (tx) => {
          await tx`select pg_advisory_xact_lock_shared(webhooks.wake_lock_key())`;
          await new Promise((resolve) => setTimeout(resolve, 200));
        });
      }
    };
    try {
      const first = hold();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = hold();
      await new Promise((resolve) => setTimeout(resolve, 150));
      const [{ clear }] = await sql`select webhooks.await_skipped_wake_ups(1500) as clear`;
      assert.equal(clear, true, "the holders it found ended within 200 ms; the ones after them do not count");
      writing = false;
      await Promise.all([first, second]);
    } finally {
      writing = false;
      await sql.end();
    }
  },
);
