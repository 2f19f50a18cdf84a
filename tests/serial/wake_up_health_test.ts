// When wake-ups cannot leave the database, every place an admin or operator looks says so, with
// the fix: dispatch_health(), the admin API's endpoint health and the Studio view. Played out by
// taking the project_url Vault secret away for a moment (serial: every wake-up of the stack
// depends on it), and giving it back.
import assert from "node:assert/strict";
import { callAdminOk, createAdminFixture } from "../_support/admin.ts";
import { asUser, connect, integrationTest } from "../_support/stack.ts";
import { registerEndpoint } from "../_support/webhooks.ts";

integrationTest(
  "without wake-ups, dispatch_health, the admin health route and the Studio view give the problem and fix",
  async () => {
    const sql = connect(2);
    const fixture = await createAdminFixture(sql, "wake-up-health");
    try {
      const owner = { userId: fixture.owner.userId, orgId: fixture.orgId };
      const { endpointId } = await registerEndpoint(sql, owner, "http://127.0.0.1:9/health");
      const healthy = await callAdminOk("getEndpointHealth", {
        token: fixture.admin.token,
        params: { endpoint_id: endpointId },
      });
      assert.deepEqual([healthy.body.health.wake_up_problem, healthy.body.health.wake_up_fix], [null, null]);

      // Through Vault's own API, as an operator would.
      const [{ id: secretId }] = await sql`select id from vault.decrypted_secrets where name = 'project_url'`;
      await sql`select vault.update_secret(${secretId}, new_name => 'project_url (paused by a test)')`;
      try {
        const [health] = await sql`select wake_ups_configured, problem, fix from webhooks.dispatch_health()`;
        assert.equal(health.wake_ups_configured, false);
        assert.match(health.problem, /^Wake-ups are not configured/);
        assert.match(health.fix, /vault\.create_secret\('https:\/\/<project-ref>\.supabase\.co', 'project_url'\)/);

        const route = await callAdminOk("getEndpointHealth", {
          token: fixture.admin.token,
          params: { endpoint_id: endpointId },
        });
        assert.deepEqual(
          [route.body.health.wake_up_problem, route.body.health.wake_up_fix],
          [health.problem, health.fix],
        );
        const [view] = await asUser(
          sql,
          fixture.admin.userId,
          (tx) =>
            tx`select wake_up_problem, wake_up_fix from public.webhook_endpoint_health where endpoint_id = ${endpointId}`,
        );
        assert.deepEqual({ ...view }, { wake_up_problem: health.problem, wake_up_fix: health.fix });
      } finally {
        await sql`select vault.update_secret(${secretId}, new_name => 'project_url')`;
      }
    } finally {
      await fixture.remove();
      await sql.end();
    }
  },
);
