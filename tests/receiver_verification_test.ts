// What receivers verify, end to end through the running stack: a payload with accents, emoji, CJK
// and U+2028 (a line separator JavaScript once could not hold in a string literal, and that some
// serializers escape) arrives byte for byte as signed, and the public `standardwebhooks` and
// `svix` libraries verify it unchanged; after rotations in quick succession (a double-clicked
// rotate), a receiver on any of the secrets still within its overlap verifies every delivery.
import assert from "node:assert/strict";
import { Webhook as StandardWebhook } from "npm:standardwebhooks@1.1.1";
import { Webhook as SvixWebhook } from "npm:svix@2.5.0";
import {
  connect,
  createTenant,
  eventually,
  integrationTest,
  type ReceivedRequest,
  startHttpsReceiver,
} from "./_support/stack.ts";
import { insertJob, registerEndpoint } from "./_support/webhooks.ts";

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

const TITLE = "Réparer l’évier 🚰🔧 — 水道の修理 \u2028 next line, ü ß ñ";

function verifiers(secret: string, request: ReceivedRequest) {
  const headers = Object.fromEntries(request.headers.entries());
  const attempt = (verify: () => unknown) => {
    try {
      return verify() as { job?: { title?: string } };
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  };
  return {
    standardwebhooks: attempt(() => new StandardWebhook(secret).verify(request.body, headers)),
    // svix's verify returns nothing and throws when the signature or timestamp is wrong.
    svix: attempt(() => (new SvixWebhook(secret).verify(request.body, headers), { verified: true })),
  };
}

integrationTest("a payload with accents, emoji, CJK and U+2028 verifies with standardwebhooks and svix", async () => {
  const receiver = startHttpsReceiver();
  const tenant = await createTenant(sql, "unicode");
  try {
    const { secret } = await registerEndpoint(sql, tenant, `${receiver.url}/hook`);
    await insertJob(sql, tenant, TITLE);
    const request = await eventually(() => receiver.requests[0], { what: "the delivery" });
    assert.equal(JSON.parse(request.body).job?.title, TITLE, `the title arrives as written: ${request.body}`);
    const { standardwebhooks, svix } = verifiers(secret, request);
    assert.equal((standardwebhooks as { job: { title: string } }).job?.title, TITLE, String(standardwebhooks));
    assert.ok(!(svix instanceof Error), String(svix));
  } finally {
    await receiver.close();
    await tenant.remove();
  }
});

integrationTest("after three rotations in a row, a receiver on any of the four secrets verifies", async () => {
  const receiver = startHttpsReceiver();
  const tenant = await createTenant(sql, "rotations");
  try {
    const { endpointId, secret: original } = await registerEndpoint(sql, tenant, `${receiver.url}/hook`);
    const secrets = [original];
    for (let rotation = 0; rotation < 3; rotation++) {
      const [{ secret }] = await sql<
        { secret: string }[]
      >`select webhooks.rotate_endpoint_secret(${endpointId}) as secret`;
      secrets.push(secret);
    }
    await insertJob(sql, tenant, TITLE);
    const request = await eventually(() => receiver.requests[0], { what: "the delivery" });
    assert.equal(request.headers.get("webhook-signature")?.split(" ").length, 4, "one signature per secret");
    for (const [index, secret] of secrets.entries()) {
      const { standardwebhooks, svix } = verifiers(secret, request);
      assert.ok(!(standardwebhooks instanceof Error), `secret ${index} with standardwebhooks: ${standardwebhooks}`);
      assert.ok(!(svix instanceof Error), `secret ${index} with svix: ${svix}`);
    }
  } finally {
    await receiver.close();
    await tenant.remove();
  }
});
