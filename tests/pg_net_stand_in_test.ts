// The pg_net interface the migrations rely on (real pg_net on hosted, the stand-in locally):
// requests leave only after the calling transaction commits, never after a rollback, and every
// outcome - status, body, transport error, timeout - lands in net._http_response.
import assert, { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { connect, eventually, integrationTest, startReceiver } from "./_support/stack.ts";

const sql = connect(4);
const receiver = startReceiver(async (request) => {
  if (request.path === "/slow") await new Promise((resolve) => setTimeout(resolve, 2_000));
  if (request.path === "/moved") return new Response(null, { status: 302, headers: { Location: "/moved-here" } });
  if (request.path === "/created") {
    return Response.json({ stored: JSON.parse(request.body) }, { status: 201, headers: { "X-Receiver": "yes" } });
  }
  return new Response("ok");
});
globalThis.addEventListener("unload", () => {
  void sql.end();
  void receiver.close();
});

interface HttpResponse {
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean | null;
  error_msg: string | null;
}

function responseFor(id: bigint | string): Promise<HttpResponse> {
  return eventually(async () => {
    const [row] = await sql<HttpResponse[]>`
      select status_code, content_type, headers, content, timed_out, error_msg
        from net._http_response where id = ${String(id)}`;
    return row;
  }, { what: `net._http_response row ${id}` });
}

/** Commits a request of its own and waits for its response: proof the worker has run since. */
async function workerHasRunSince(): Promise<void> {
  const [{ id }] = await sql`select net.http_get(${receiver.url + "/marker"}) as id`;
  await responseFor(id);
}

const receivedAt = (path: string) => receiver.requests.filter((request) => request.path === path);

integrationTest("net.http_post reaches the receiver only after the transaction commits", async () => {
  const path = `/after-commit-${crypto.randomUUID()}`;
  await sql.begin(async (tx) => {
    await tx`select net.http_post(${receiver.url + path}, '{"job":"J-1"}'::jsonb)`;
    await workerHasRunSince();
    assertEquals(receivedAt(path).length, 0, "nothing may be sent while the transaction is open");
  });
  const [request] = await eventually(() => receivedAt(path).length ? receivedAt(path) : undefined, {
    what: "the committed request",
  });
  assertEquals(request.method, "POST");
  assertEquals(JSON.parse(request.body), { job: "J-1" });
  assertEquals(request.headers.get("content-type"), "application/json");
});

integrationTest("a rolled-back net.http_post is never sent", async () => {
  const path = `/rolled-back-${crypto.randomUUID()}`;
  await sql.begin(async (tx) => {
    await tx`select net.http_post(${receiver.url + path}, '{}'::jsonb)`;
    throw new Error("roll back");
  }).catch((error: Error) => assertEquals(error.message, "roll back"));
  await workerHasRunSince();
  assertEquals(receivedAt(path).length, 0);
  const [{ queued }] = await sql`select count(*)::int as queued from net.http_request_queue where url like ${
    "%" + path
  }`;
  assertEquals(queued, 0);
});

integrationTest("the response's status, content type, headers and body are recorded", async () => {
  const [{ id }] = await sql`
    select net.http_post(${receiver.url + "/created"}, '{"n":7}'::jsonb,
      headers => '{"Content-Type": "application/json", "X-Test": "1"}'::jsonb) as id`;
  const response = await responseFor(id);
  assertEquals(response.status_code, 201);
  assertEquals(response.content_type, "application/json");
  assertEquals(response.headers?.["x-receiver"], "yes");
  assertEquals(JSON.parse(response.content!), { stored: { n: 7 } });
  assertEquals(response.error_msg, null);
  assertEquals(response.timed_out, false);
  const [sent] = receivedAt("/created").slice(-1);
  assertEquals(sent.headers.get("x-test"), "1");
});

integrationTest("net.http_get sends params as a query string", async () => {
  const [{ id }] = await sql`
    select net.http_get(${receiver.url + "/query"}, params => '{"q": "a b&c", "n": "1"}'::jsonb) as id`;
  await responseFor(id);
  const [request] = receivedAt("/query").slice(-1);
  assertEquals(request.method, "GET");
  assertEquals(new URLSearchParams(request.search).get("q"), "a b&c");
  assertEquals(new URLSearchParams(request.search).get("n"), "1");
});

integrationTest("a refused connection is recorded as an error without a status", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const [{ id }] = await sql`select net.http_post(${`http://127.0.0.1:${port}/nobody`}, '{}'::jsonb) as id`;
  const response = await responseFor(id);
  assertEquals(response.status_code, null);
  assertEquals(response.timed_out, false);
  assertMatch(response.error_msg ?? "", /connect/i);
});

integrationTest("a request slower than timeout_milliseconds is recorded as timed out", async () => {
  const [{ id }] = await sql`
    select net.http_post(${receiver.url + "/slow"}, '{}'::jsonb, timeout_milliseconds => 200) as id`;
  const response = await responseFor(id);
  assertEquals(response.status_code, null);
  assertEquals(response.timed_out, true);
  assertMatch(response.error_msg ?? "", /^Timeout of 200 ms reached/);
});

integrationTest("a 5xx answer is a response, not an error", async () => {
  const failing = startReceiver(() => new Response("down", { status: 503 }));
  try {
    const [{ id }] = await sql`select net.http_post(${failing.url + "/x"}, '{}'::jsonb) as id`;
    const response = await responseFor(id);
    assertEquals(response.status_code, 503);
    assertEquals(response.content, "down");
    assert(response.error_msg === null);
  } finally {
    await failing.close();
  }
});

integrationTest(
  "headers without a Content-Type get application/json added; another Content-Type is refused",
  async () => {
    const path = `/content-type-${crypto.randomUUID()}`;
    const [{ id }] = await sql`
    select net.http_post(${receiver.url + path}, '{"a":1}'::jsonb, headers => '{"X-Only": "this"}'::jsonb) as id`;
    await responseFor(id);
    const [request] = receivedAt(path);
    assertEquals([request.headers.get("content-type"), request.headers.get("x-only")], ["application/json", "this"]);
    await assert.rejects(
      () =>
        sql`select net.http_post(${
          receiver.url + path
        }, '{}'::jsonb, headers => '{"content-type": "text/plain"}'::jsonb)`,
      /Content-Type header must be "application\/json"/,
    );
  },
);

integrationTest("null headers and a null body are sent as nothing, as pg_net sends them", async () => {
  const path = `/nulls-${crypto.randomUUID()}`;
  const [{ id }] = await sql`select net.http_post(${receiver.url + path}, null::jsonb, headers => null::jsonb) as id`;
  await responseFor(id);
  const [queued] = receivedAt(path);
  assertEquals([
    queued.body,
    queued.headers.get("content-type"),
    queued.headers.get("user-agent")?.startsWith("pg_net"),
  ], [
    "",
    null,
    false,
  ]);
  const [{ headersNull }] = await sql`select net.http_get(${
    receiver.url + path
  }, headers => null) is not null as "headersNull"`;
  assert(headersNull);
});

integrationTest("redirects are followed, as pg_net's libcurl follows them", async () => {
  const before = receivedAt("/moved-here").length;
  const [{ id }] = await sql`select net.http_post(${receiver.url + "/moved"}, '{"n":1}'::jsonb) as id`;
  const response = await responseFor(id);
  assertEquals([response.status_code, response.content], [200, "ok"]);
  assertEquals(receivedAt("/moved-here").length, before + 1);
});
