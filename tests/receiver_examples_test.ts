// The receiver examples in docs/examples run against real deliveries: the Node server (started as
// the docs say) and the Deno handler each verify a job.created from the local stack, ignore the
// duplicate, and refuse a forged request.
import assert from "node:assert/strict";
import { receiver as denoReceiver } from "../docs/examples/verify-deno.ts";
import { connect, createTenant, eventually, freePort, integrationTest, ROOT } from "./_support/stack.ts";
import { insertJob, registerEndpoint } from "./_support/webhooks.ts";

integrationTest("the Node and Deno receiver examples verify real deliveries and refuse forged ones", async () => {
  const sql = connect(2);
  const tenant = await createTenant(sql, "examples");
  const nodePort = freePort();
  const denoEvents: { event?: string }[] = [];
  let denoServer: Deno.HttpServer<Deno.NetAddr> | null = null;
  let node: Deno.ChildProcess | null = null;
  try {
    // The Deno example needs its secret before it can serve; register first, then point it.
    const denoEndpoint = await registerEndpoint(sql, tenant, "http://127.0.0.1:9/placeholder");
    denoServer = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      denoReceiver(denoEndpoint.secret, (event) => denoEvents.push(event as { event?: string })),
    );
    await sql`update webhooks.endpoints set url = ${`http://127.0.0.1:${denoServer.addr.port}/hook`}
               where id = ${denoEndpoint.endpointId}`;

    const nodeEndpoint = await registerEndpoint(sql, tenant, `http://127.0.0.1:${nodePort}/hook`);
    node = new Deno.Command("node", {
      args: [`${ROOT}/docs/examples/verify-node.mjs`, String(nodePort)],
      env: { CJH_WEBHOOK_SECRET: nodeEndpoint.secret },
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines: string[] = [];
    void node.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void lines.push(...chunk.split("\n").filter(Boolean)) }),
    );
    await eventually(() => lines.includes(`listening on ${nodePort}`) || undefined, { what: "the Node example" });

    await insertJob(sql, tenant, "Verified by the examples");
    const nodeEvent = await eventually(() => lines.find((line) => line.startsWith("{")), {
      what: "the Node example's event",
    });
    assert.equal(JSON.parse(nodeEvent).job.title, "Verified by the examples");
    await eventually(() => denoEvents[0], { what: "the Deno example's event" });
    assert.equal(denoEvents[0].event, "job.created");

    const forged = await fetch(`http://127.0.0.1:${nodePort}/hook`, {
      method: "POST",
      headers: {
        "webhook-id": "evt_00000000000000000000000000000000",
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
        "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl",
      },
      body: JSON.stringify({ event: "job.created" }),
    });
    assert.equal(forged.status, 400);
    await forged.body?.cancel();
    assert.equal(lines.filter((line) => line.startsWith("{")).length, 1, "the forged request reached no handler");
  } finally {
    node?.kill();
    await node?.status;
    await denoServer?.shutdown();
    await tenant.remove();
    await sql.end();
  }
});
