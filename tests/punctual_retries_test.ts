// Retries go out by themselves when they fall due, whatever asked for the delay (the backoff,
// Retry-After in seconds or as an HTTP date): the scheduler wakes the dispatcher for them, and
// never early. No test here drives the dispatcher or moves next_attempt_at.
import assert from "node:assert/strict";
import { connect, createTenant, eventually, integrationTest, startHttpsReceiver } from "./_support/stack.ts";
import { attemptsOf, deliveriesOf, insertJob, registerEndpoint } from "./_support/webhooks.ts";

for (
  const [what, retryAfter] of [
    ["503 with Retry-After as an HTTP date", (now: number) => new Date(now + 3_000).toUTCString()],
    ["429 with Retry-After in seconds", () => "2"],
  ] as const
) {
  integrationTest(`a ${what} is retried by itself once due, not before`, async () => {
    const sql = connect(2);
    const status = what.startsWith("503") ? 503 : 429;
    let answered = 0;
    const receiver = startHttpsReceiver(() =>
      answered++ === 0
        ? new Response("later", { status, headers: { "Retry-After": retryAfter(Date.now()) } })
        : new Response("ok")
    );
    const tenant = await createTenant(sql, "punctual");
    try {
      const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
      await insertJob(sql, tenant, "Retry me when due");
      const [waiting] = await eventually(async () => {
        const rows = await deliveriesOf(sql, endpointId);
        return rows[0]?.attempt_count === 1 && rows[0].status === "pending" ? rows : undefined;
      }, { what: "the first attempt's retry to be scheduled" });
      const due = waiting.next_attempt_at;
      const [delivered] = await eventually(async () => {
        const rows = await deliveriesOf(sql, endpointId);
        return rows[0]?.status === "succeeded" ? rows : undefined;
      }, { what: "the retry to go out by itself", timeoutMs: 30_000 });
      assert.equal(delivered.attempt_count, 2);
      const [first, second] = await attemptsOf(sql, endpointId);
      assert.equal(first.response_status, status);
      assert.ok(
        second.started_at >= due,
        `the retry started ${second.started_at.toISOString()}, due ${due.toISOString()}`,
      );
      assert.equal(receiver.requests[1].headers.get("x-retry-count"), "1");
    } finally {
      await receiver.close();
      await tenant.remove();
      await sql.end();
    }
  });
}
