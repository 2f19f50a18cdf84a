// The last step of README's deploy walkthrough, as written: docs/examples/first-delivery.sql run
// with `supabase db query` creates an organization, an endpoint and a test event, and the Node
// receiver example, started with the secret it printed, verifies the delivery. The receiver is
// reached as on hosted: https to a host name (the stack's resolver, its certificate from the local CA).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { connect, deleteOrganization, eventually, freePort, integrationTest, ROOT, stack } from "./_support/stack.ts";
import { dispatchNow, makeRetriesDue } from "./_support/webhooks.ts";

integrationTest("docs/examples/first-delivery.sql gets a test event verified by the receiver example", async () => {
  const sql = connect(1);
  const port = freePort();
  let node: Deno.ChildProcess | null = null;
  let orgId: string | null = null;
  try {
    // The file as written, with the operator's receiver URL put in.
    const walkthrough = (await Deno.readTextFile(`${ROOT}/docs/examples/first-delivery.sql`))
      .replace("https://receiver.example.com/cjh", `https://first-delivery.${stack.CJH_RECEIVER_DOMAIN}:${port}/hook`);
    const file = await Deno.makeTempFile({ suffix: ".sql" });
    await Deno.writeTextFile(file, walkthrough);
    const query = await new Deno.Command(`${ROOT}/node_modules/.bin/supabase`, {
      args: ["db", "query", "--db-url", `${stack.SUPABASE_DB_URL}?sslmode=disable`, "-f", file],
      cwd: ROOT,
    }).output();
    await Deno.remove(file);
    const table = new TextDecoder().decode(query.stdout);
    assertEquals(query.code, 0, table + new TextDecoder().decode(query.stderr));
    const [, endpointId, secret] = table.match(/│ ([0-9a-f-]{36}) +│ (whsec_\S+) +│ evt_/)!;
    [{ org_id: orgId }] = await sql`select org_id from webhooks.endpoints where id = ${endpointId}`;

    node = new Deno.Command("node", {
      args: [`${ROOT}/docs/examples/verify-node.mjs`, String(port)],
      env: {
        CJH_WEBHOOK_SECRET: secret,
        TLS_CERT_FILE: stack.CJH_RECEIVER_CERT_FILE,
        TLS_KEY_FILE: stack.CJH_RECEIVER_KEY_FILE,
      },
      stdout: "piped",
    }).spawn();
    const lines: string[] = [];
    void node.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void lines.push(...chunk.split("\n").filter(Boolean)) }),
    );
    await eventually(() => lines.includes(`listening on ${port} (https)`) || undefined, {
      what: "the receiver example",
    });
    // The receiver was not up for the first attempt: its retry, made due now, is verified.
    const event = await eventually(async () => {
      await makeRetriesDue(sql, endpointId);
      await (await dispatchNow()).body?.cancel();
      return lines.find((line) => line.startsWith("{"));
    }, { what: "the verified test event", intervalMs: 500 });
    assertEquals(JSON.parse(event).event, "webhook.test");
  } finally {
    node?.kill();
    await node?.status;
    if (orgId) await deleteOrganization(sql, orgId);
    await sql.end();
  }
});
