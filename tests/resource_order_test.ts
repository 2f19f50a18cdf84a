// Per resource and endpoint, deliveries arrive in sequence order, end to end through the stack's
// own scheduler and dispatcher: a job's update reaches the receiver only after its creation has
// succeeded, however many attempts that took, while another job's events to the same endpoint go
// out meanwhile. (Receive order and counts, not timings; supabase/tests/database/19-resource-order.sql
// has the claim's parking and release step by step.)
import assert from "node:assert/strict";
import { asUser, connect, createTenant, eventually, integrationTest, startHttpsReceiver } from "./_support/stack.ts";
import { deliveriesOf, registerEndpoint } from "./_support/webhooks.ts";

interface JobEvent {
  event: string;
  job: { id: string; title: string };
  resource: { type: string; id: string; sequence: number };
}

integrationTest(
  "a job's update waits for its creation to succeed after three failures; another job's events do not wait",
  async () => {
    const sql = connect(2);
    const tenant = await createTenant(sql, "resource-order");
    // What the receiver answered, in order: "<job title> <event> <status>", and each request.
    const received: string[] = [];
    const requests: { event: JobEvent; retryCount: string | null }[] = [];
    let creationFailures = 0;
    let otherJobDone = () => {};
    const otherJobDelivered = new Promise<void>((resolve) => (otherJobDone = resolve));
    const receiver = startHttpsReceiver(async (request) => {
      const event = JSON.parse(request.body) as JobEvent;
      let status = 200;
      if (event.job.title === "First" && event.event === "job.created") {
        if (++creationFailures <= 3) {
          status = 503;
        } else {
          // Succeed only once the other job's events are in: were they held back behind this
          // one, the test would time out here.
          await otherJobDelivered;
        }
      }
      received.push(`${event.job.title} ${event.event} ${status}`);
      requests.push({ event, retryCount: request.headers.get("x-retry-count") });
      if (event.job.title === "Second" && event.event === "job.updated") otherJobDone();
      return status === 503
        ? new Response("busy", { status, headers: { "Retry-After": "1" } })
        : new Response("ok", { status });
    });
    try {
      const { endpointId } = await registerEndpoint(sql, tenant, receiver.url, ["job.created", "job.updated"]);
      const writeJob = async (title: string) => {
        const [job] = await asUser(
          sql,
          tenant.userId,
          (tx) =>
            tx<
              { id: string }[]
            >`insert into public.jobs (org_id, title) values (${tenant.orgId}, ${title}) returning id`,
        );
        await asUser(
          sql,
          tenant.userId,
          (tx) => tx`update public.jobs set description = 'Changed right after' where id = ${job.id}`,
        );
      };

      await writeJob("First");
      await eventually(() => creationFailures >= 1 || undefined, { what: "the first job's creation to fail once" });
      await writeJob("Second");

      await eventually(async () => {
        const rows = await deliveriesOf(sql, endpointId);
        return rows.length === 4 && rows.every((row) => row.status === "succeeded") || undefined;
      }, { what: "every delivery to succeed", timeoutMs: 60_000 });

      assert.deepEqual(received.filter((line) => line.startsWith("First")), [
        "First job.created 503",
        "First job.created 503",
        "First job.created 503",
        "First job.created 200",
        "First job.updated 200",
      ], "the update was sent once, after the creation's success, never between its attempts");
      assert.deepEqual(received.filter((line) => line.startsWith("Second")), [
        "Second job.created 200",
        "Second job.updated 200",
      ]);
      assert.ok(
        received.indexOf("Second job.updated 200") < received.indexOf("First job.created 200"),
        `the other job's events went out while the first job's creation was failing: ${received.join(", ")}`,
      );
      assert.deepEqual(
        requests.filter(({ event }) => event.job.title === "First").map(({ event, retryCount }) => [
          event.event,
          event.resource.sequence,
          retryCount,
        ]),
        [
          ["job.created", 1, "0"],
          ["job.created", 1, "1"],
          ["job.created", 1, "2"],
          ["job.created", 1, "3"],
          ["job.updated", 2, "0"],
        ],
        "each with its resource's sequence number; waiting was not an attempt",
      );
    } finally {
      await receiver.close();
      await tenant.remove();
      await sql.end();
    }
  },
);
