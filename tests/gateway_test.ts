// The local functions gateway (local/gateway.ts): routing, verify_jwt per config.toml, the edge
// runtime's 401 bodies and environment, and staying up when a function throws or crashes. A second
// gateway serves the fixture functions in tests/fixtures/supabase; the stack's own gateway is
// checked against the project's config.toml and with the real supabase-js client.
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { createClient } from "npm:@supabase/supabase-js@2.119.0";
import { startGateway } from "./_support/gateway.ts";
import { eventually, integrationTest, mintJwt, stack } from "./_support/stack.ts";

// The edge runtime's limits at their hosted values (tests/runtime_limits_test.ts tries them).
const gateway = await startGateway();

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}/functions/v1/${path}`, init);
  return { status: response.status, body: await response.json() };
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

integrationTest("a function with verify_jwt = false is reached without a token", async () => {
  const { status, body } = await call("echo");
  assertEquals(status, 200);
  assertEquals(body.method, "GET");
});

integrationTest("verify_jwt defaults to on: a request without Authorization gets the runtime's 401", async () => {
  assertEquals(await call("protected"), { status: 401, body: { msg: "Error: Missing authorization header" } });
});

integrationTest("a non-Bearer Authorization header is refused with 401", async () => {
  const result = await call("protected", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
  assertEquals(result, { status: 401, body: { msg: "Error: Auth header is not 'Bearer {token}'" } });
});

integrationTest("a JWT signed with another secret is refused as Invalid JWT", async () => {
  const forged = await mintJwt({ sub: crypto.randomUUID() }, {
    secret: "a-different-secret-that-is-at-least-32-chars",
  });
  assertEquals(await call("protected", bearer(forged)), { status: 401, body: { msg: "Invalid JWT" } });
});

integrationTest("an expired JWT is refused as Invalid JWT", async () => {
  const expired = await mintJwt({ sub: crypto.randomUUID() }, { expiresInSeconds: -60 });
  assertEquals(await call("protected", bearer(expired)), { status: 401, body: { msg: "Invalid JWT" } });
});

integrationTest("an undecodable token is refused with the decoder's error", async () => {
  assertEquals(await call("protected", bearer("not-a-jwt")), {
    status: 401,
    body: { msg: "TypeError: Invalid Token or Protected Header formatting" },
  });
});

integrationTest("a token with alg none is refused as Invalid JWT", async () => {
  const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
  const payload = btoa(JSON.stringify({ sub: crypto.randomUUID(), role: "service_role" })).replace(/=+$/, "");
  assertEquals(await call("protected", bearer(`${header}.${payload}.`)), { status: 401, body: { msg: "Invalid JWT" } });
});

integrationTest("a valid user JWT and the anon key both pass verify_jwt", async () => {
  const user = await mintJwt({ sub: crypto.randomUUID() });
  assertEquals((await call("protected", bearer(user))).status, 200);
  assertEquals((await call("protected", bearer(stack.SUPABASE_ANON_KEY))).status, 200);
});

integrationTest("the publishable key in apikey stands for the anon JWT, as Kong maps it", async () => {
  const publishable = JSON.parse(Deno.env.get("SUPABASE_PUBLISHABLE_KEYS")!).default;
  const { status } = await call("protected", { headers: { apikey: publishable } });
  assertEquals(status, 200);
  const { body } = await call("echo", { headers: { apikey: publishable } });
  assertEquals(body.authorization, `Bearer ${stack.SUPABASE_ANON_KEY}`);
});

integrationTest("the secret key stands for the service_role JWT, even beside a Bearer sb_ header", async () => {
  const secret = JSON.parse(Deno.env.get("SUPABASE_SECRET_KEYS")!).default;
  const { body } = await call("echo", { headers: { apikey: secret, Authorization: `Bearer ${secret}` } });
  assertEquals(body.authorization, `Bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}`);
});

integrationTest("an opaque key in Authorization alone is not a credential", async () => {
  const secret = JSON.parse(Deno.env.get("SUPABASE_SECRET_KEYS")!).default;
  const result = await call("protected", bearer(secret));
  assertEquals(result, { status: 401, body: { msg: "Error: Missing authorization header" } });
});

integrationTest("OPTIONS preflight passes verify_jwt without a token", async () => {
  const { status, body } = await call("protected", { method: "OPTIONS" });
  assertEquals(status, 200);
  assertEquals(body, { reached: true, method: "OPTIONS" });
});

integrationTest("the function sees its name, sub-path, query and body", async () => {
  const { body } = await call("echo/jobs/42?expand=property", { method: "POST", body: '{"a":1}' });
  assertEquals(body.path, "/echo/jobs/42");
  assertEquals(body.search, "?expand=property");
  assertEquals(body.body, '{"a":1}');
});

integrationTest("functions get the edge runtime's environment and functions/.env, not the gateway's", async () => {
  const { body } = await call("echo");
  const env = body.env as Record<string, string | null>;
  assertEquals(env.SUPABASE_URL, stack.SUPABASE_URL);
  assertEquals(env.SUPABASE_ANON_KEY, stack.SUPABASE_ANON_KEY);
  assertEquals(env.SUPABASE_SERVICE_ROLE_KEY, stack.SUPABASE_SERVICE_ROLE_KEY);
  assertEquals(env.SUPABASE_DB_URL, stack.SUPABASE_DB_URL);
  assertEquals(env.CJH_FIXTURE_GREETING, "hello from .env");
  assertEquals(env.CJH_JWT_SECRET, null);
  assertEquals(env.CJH_PG_SOCKET_DIR, null);
});

integrationTest(
  "a function's heap limit is the runtime's 256 MB for the whole heap, young generation included",
  async () => {
    const { body } = await call("echo");
    assertEquals(body.heapSizeLimit, 256 * 2 ** 20);
  },
);

integrationTest("a function exporting default { fetch } is served", async () => {
  assertEquals(await call("default-export/x"), {
    status: 200,
    body: { style: "default export", path: "/default-export/x" },
  });
});

integrationTest("a handler that throws gives a 500 and the function keeps serving", async () => {
  const failed = await call("throws?throw=1");
  assertEquals(failed.status, 500);
  assertEquals(failed.body.code, "WORKER_ERROR");
  assert(!JSON.stringify(failed.body).includes("deliberate failure"), "the error text must not leak");
  const next = await call("throws");
  assertEquals(next.status, 200);
});

integrationTest("a function process that exits is restarted on the next request", async () => {
  const first = await call("crashes");
  const crashed = await call("crashes?exit=1");
  assertEquals(crashed.status, 500);
  const after = await eventually(async () => {
    const result = await call("crashes");
    return result.status === 200 ? result : undefined;
  }, { what: "the crashed function to serve again" });
  assert(after.body.bootedAt !== first.body.bootedAt, "a new process serves after the crash");
});

integrationTest("work handed to EdgeRuntime.waitUntil finishes after the response", async () => {
  const started = await call("background", { method: "POST" });
  assertEquals(started.body, { accepted: true, done: false });
  await eventually(async () => ((await call("background")).body.done === true ? true : undefined), {
    what: "the background work to finish",
  });
});

integrationTest("an unknown function or a malformed name is the runtime's plain-text 404", async () => {
  for (const name of ["no-such-function", "_shared"]) {
    const response = await fetch(`${gateway.url}/functions/v1/${name}`);
    assertEquals([response.status, await response.text()], [404, "Function not found"], name);
  }
});

integrationTest("supabase-js functions.invoke reaches a function through the gateway", async () => {
  const client = createClient(gateway.url, stack.SUPABASE_ANON_KEY, { auth: { persistSession: false } });
  const { data, error } = await client.functions.invoke("echo/ping", { body: { hello: "world" } });
  assertEquals(error, null);
  assertEquals(data.method, "POST");
  assertEquals(data.path, "/echo/ping");
  assertEquals(JSON.parse(data.body), { hello: "world" });
  assertEquals(data.authorization, `Bearer ${stack.SUPABASE_ANON_KEY}`);
});

integrationTest("the stack's gateway applies the project's verify_jwt settings", async () => {
  for (const name of ["mapbox-geocode", "webhook-admin"]) {
    const response = await fetch(`${stack.SUPABASE_URL}/functions/v1/${name}`, { method: "POST", body: "{}" });
    assertEquals(response.status, 401, `${name} requires a JWT`);
    assertMatch(await response.text(), /Missing authorization header/);
  }
  // webhook-dispatch authenticates its callers itself (service key or dispatch secret), not the gateway.
  const dispatch = await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-dispatch`, { method: "POST", body: "{}" });
  const text = await dispatch.text();
  assert(!text.includes("Missing authorization header"), `the gateway let the request through: ${text}`);
});
