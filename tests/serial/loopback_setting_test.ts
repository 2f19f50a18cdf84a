// With the local-only setting off (production's default), a loopback receiver registered while it
// was on is refused at delivery, after DNS resolution, and never contacted. Serial: the setting is
// global, and every other test delivers to loopback receivers.
import assert from "node:assert/strict";
import { connect, createTenant, eventually, integrationTest, startReceiver } from "../_support/stack.ts";
import { deliveriesOf, dispatchNow, insertJob, registerEndpoint } from "../_support/webhooks.ts";

integrationTest(
  "with allow_loopback_endpoints off, a loopback endpoint is refused at delivery and never contacted",
  async () => {
    const sql = connect(2);
    const receiver = startReceiver();
    const tenant = await createTenant(sql, "loopback-off");
    try {
      const { endpointId } = await registerEndpoint(sql, tenant, receiver.url.replace("127.0.0.1", "localhost"));
      await sql`update webhooks.settings set allow_loopback_endpoints = false`;
      await insertJob(sql, tenant, "Aimed at loopback");
      await dispatchNow();
      const [delivery] = await eventually(async () => {
        const rows = await deliveriesOf(sql, endpointId);
        return rows[0]?.attempt_count === 1 ? rows : undefined;
      }, { what: "the refused attempt" });
      assert.equal(delivery.status, "pending");
      assert.equal(delivery.last_error, "Refused: localhost is a loopback host");
      assert.equal(receiver.requests.length, 0);
    } finally {
      await sql`update webhooks.settings set allow_loopback_endpoints = true`;
      await receiver.close();
      await tenant.remove();
      await sql.end();
    }
  },
);
