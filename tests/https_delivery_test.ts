// What hosted's https path adds to a delivery, through the stack's strict function host: the
// receiver's name is resolved by the platform's resolver (here the gateway's DNS stand-in) and its
// answer judged by the SSRF check, and TLS is checked against the URL's name, never the address.
import assert from "node:assert/strict";
import { connect, createTenant, eventually, integrationTest, stack, startHttpsReceiver } from "./_support/stack.ts";
import { attemptsOf, deliveriesOf, insertJob, registerEndpoint } from "./_support/webhooks.ts";

async function firstAttempt(sql: ReturnType<typeof connect>, endpointId: string) {
  await eventually(async () => {
    const rows = await deliveriesOf(sql, endpointId);
    return rows[0]?.attempt_count >= 1 && rows[0].status !== "sending" || undefined;
  }, { what: "the first attempt" });
  const [attempt] = await attemptsOf(sql, endpointId);
  return attempt;
}

integrationTest("a name that resolves to a refused address is refused at delivery and nothing is sent", async () => {
  const sql = connect(2);
  const receiver = startHttpsReceiver();
  const { port } = new URL(receiver.url);
  const tenant = await createTenant(sql, "dns-refused");
  try {
    // The stack's resolver answers 0.0.0.0 ("this network") for this name; Linux would deliver a
    // connection to it to the receiver on 127.0.0.1, so a request reaching it means no check.
    const { endpointId } = await registerEndpoint(sql, tenant, `https://inside.refused.cjh.test:${port}/hook`);
    await insertJob(sql, tenant, "Aimed inside by DNS");
    const attempt = await firstAttempt(sql, endpointId);
    assert.equal(attempt.response_status, null);
    assert.match(
      attempt.error ?? "",
      /^Refused: inside\.refused\.cjh\.test resolves to a refused address: .*0\.0\.0\.0/,
    );
    assert.equal(receiver.requests.length, 0);
  } finally {
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});

integrationTest(
  "TLS is checked against the URL's host: the receiver's certificate does not hold for its IP",
  async () => {
    const sql = connect(2);
    const receiver = startHttpsReceiver();
    const { port, hostname } = new URL(receiver.url);
    assert.ok(hostname.endsWith(`.${stack.CJH_RECEIVER_DOMAIN}`));
    const tenant = await createTenant(sql, "tls-name");
    try {
      // The same server, its certificate for *.loopback.cjh.test, asked for as https://127.0.0.1.
      const { endpointId } = await registerEndpoint(sql, tenant, `https://127.0.0.1:${port}/hook`);
      await insertJob(sql, tenant, "Wrong name");
      const attempt = await firstAttempt(sql, endpointId);
      assert.equal(attempt.response_status, null);
      assert.match(attempt.error ?? "", /^TLS error: .*certificate/i);
      assert.equal(receiver.requests.length, 0);
    } finally {
      await receiver.close();
      await tenant.remove();
      await sql.end();
    }
  },
);
