// The local functions gateway (local/gateway.ts, local/gateway-auth.ts): routing, verify_jwt per
// config.toml with the edge runtime's 401 bodies (HS256 sessions with the legacy secret while the
// project has one, ES256 against the JWKS it publishes, API keys refused), the runtime's
// environment, and staying up when a function throws or crashes. Fixture gateways serve the
// functions in tests/fixtures/supabase: one whose project has a legacy JWT secret, one whose
// project has revoked it.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createClient } from "npm:@supabase/supabase-js@2.119.0";
import { exportJWK, generateKeyPair } from "npm:jose@6.2.17";
import { startGateway } from "./_support/gateway.ts";
import { eventually, integrationTest, mintJwt, signingKeys, stack } from "./_support/stack.ts";

/** The fixture project's legacy JWT secret (the revoked fixture has none). */
const FIXTURE_SECRET = "fixture-legacy-jwt-secret-of-at-least-32-characters";

function startFixtureGateway({ legacySecret }: { legacySecret: string | null }) {
  return startGateway({
    inheritEnv: false,
    env: {
      CJH_SIGNING_KEYS_FILE: stack.CJH_SIGNING_KEYS_FILE,
      ...(legacySecret === null ? {} : { CJH_JWT_SECRET: legacySecret, SUPABASE_ANON_KEY: "fixture-anon-key" }),
      SUPABASE_URL: stack.SUPABASE_URL,
      SUPABASE_DB_URL: stack.SUPABASE_DB_URL,
      SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: stack.publishableKey }),
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: stack.secretKey }),
    },
  });
}

// Both with the edge runtime's limits at their hosted values (tests/runtime_limits_test.ts tries them).
const gateway = await startFixtureGateway({ legacySecret: FIXTURE_SECRET });
const revokedGateway = await startFixtureGateway({ legacySecret: null });

async function call(
  path: string,
  init: RequestInit = {},
  url = gateway.url,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/functions/v1/${path}`, init);
  return { status: response.status, body: await response.json() };
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
const legacySession = () => mintJwt({ sub: crypto.randomUUID() }, { secret: FIXTURE_SECRET });
const asymmetricSession = () => mintJwt({ sub: crypto.randomUUID() }, { algorithm: "ES256" });

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
  const expired = await mintJwt({ sub: crypto.randomUUID() }, { secret: FIXTURE_SECRET, expiresInSeconds: -60 });
  assertEquals(await call("protected", bearer(expired)), { status: 401, body: { msg: "Invalid JWT" } });
  const expiredEs256 = await mintJwt({ sub: crypto.randomUUID() }, { algorithm: "ES256", expiresInSeconds: -60 });
  assertEquals(await call("protected", bearer(expiredEs256)), { status: 401, body: { msg: "Invalid JWT" } });
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

integrationTest("a legacy HS256 session and an ES256 session signed with the project's key both pass", async () => {
  assertEquals((await call("protected", bearer(await legacySession()))).status, 200);
  assertEquals((await call("protected", bearer(await asymmetricSession()))).status, 200);
});

integrationTest("an ES256 session signed with a key the JWKS does not hold is refused", async () => {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const stranger = { ...(await exportJWK(privateKey)), kid: signingKeys.session.kid };
  const forged = await mintJwt({ sub: crypto.randomUUID() }, { algorithm: "ES256", key: stranger });
  assertEquals(await call("protected", bearer(forged)), { status: 401, body: { msg: "Invalid JWT" } });
});

integrationTest("once the legacy secret is revoked, HS256 sessions are refused and ES256 ones pass", async () => {
  const legacy = await call("protected", bearer(await legacySession()), revokedGateway.url);
  assertEquals(legacy, { status: 401, body: { msg: "Invalid JWT" } });
  assertEquals((await call("protected", bearer(await asymmetricSession()), revokedGateway.url)).status, 200);
});

integrationTest("API keys are not JWTs: verify_jwt refuses them, and functions get them unchanged", async () => {
  for (const key of [stack.publishableKey, stack.secretKey]) {
    assertEquals(await call("protected", { headers: { apikey: key } }), {
      status: 401,
      body: { msg: "Error: Missing authorization header" },
    });
    assertEquals((await call("protected", bearer(key))).status, 401);
    const { body } = await call("echo", { headers: { apikey: key } });
    assertEquals([body.apikey, body.authorization], [key, null]);
  }
});

integrationTest("the gateway publishes the project's JWKS: the public halves of its signing keys", async () => {
  const response = await fetch(`${gateway.url}/auth/v1/.well-known/jwks.json`);
  const { keys } = await response.json() as { keys: Record<string, unknown>[] };
  assertEquals(keys.map((key) => key.kid).sort(), [signingKeys.session.kid, signingKeys.service_accounts.kid].sort());
  assert(keys.every((key) => key.d === undefined && key.kty === "EC" && key.alg === "ES256"), JSON.stringify(keys));
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
  assertEquals(env.SUPABASE_DB_URL, stack.SUPABASE_DB_URL);
  assertEquals(env.SUPABASE_SECRET_KEYS, JSON.stringify({ default: stack.secretKey }));
  assertEquals(env.SUPABASE_ANON_KEY, "fixture-anon-key");
  assertEquals(env.CJH_FIXTURE_GREETING, "hello from .env");
  assertEquals(env.CJH_JWT_SECRET, null);
  assertEquals(env.CJH_SIGNING_KEYS_FILE, null);
});

integrationTest("a project without legacy keys gives its functions no SUPABASE_ANON_KEY", async () => {
  const { body } = await call("echo", {}, revokedGateway.url);
  const env = body.env as Record<string, string | null>;
  assertEquals([env.SUPABASE_ANON_KEY, env.SUPABASE_SERVICE_ROLE_KEY], [null, null]);
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

integrationTest("a function process that dies of an uncaught exception is restarted on the next request", async () => {
  const first = await call("crashes");
  const crashed = await call("crashes?crash=1");
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

integrationTest("supabase-js functions.invoke reaches a function, the publishable key in apikey only", async () => {
  const client = createClient(gateway.url, stack.publishableKey, { auth: { persistSession: false } });
  const { data, error } = await client.functions.invoke("echo/ping", { body: { hello: "world" } });
  assertEquals(error, null);
  assertEquals(data.method, "POST");
  assertEquals(data.path, "/echo/ping");
  assertEquals(JSON.parse(data.body), { hello: "world" });
  assertEquals([data.apikey, data.authorization], [stack.publishableKey, null]);
});
