// The HTTP conventions every function shares (supabase/functions/_shared), called without a server,
// and the platform-only guard of webhook-dispatch through the stack's gateway.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { HttpError, readJson, withHttpConventions } from "../supabase/functions/_shared/http.ts";
import { requirePlatformCaller } from "../supabase/functions/_shared/platform-auth.ts";
import { integrationTest, stack } from "./_support/stack.ts";

const request = (method = "POST", body?: string, headers: HeadersInit = {}) =>
  new Request("http://functions.local/fn/path", { method, body, headers });

Deno.test("a CORS preflight is answered without reaching the handler", async () => {
  const handler = withHttpConventions("test", () => {
    throw new Error("the handler must not run for OPTIONS");
  });
  const response = await handler(request("OPTIONS"));
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("access-control-allow-origin"), "*");
  assertEquals(
    response.headers.get("access-control-allow-headers"),
    "authorization, x-client-info, apikey, content-type",
  );
});

Deno.test("an HttpError becomes its status with a JSON error body and CORS headers", async () => {
  const handler = withHttpConventions("test", () => {
    throw new HttpError(429, "rate_limited", "Slow down.", { limit: 10 }, { "Retry-After": "3" });
  });
  const response = await handler(request());
  assertEquals(response.status, 429);
  assertEquals(response.headers.get("retry-after"), "3");
  assertEquals(response.headers.get("access-control-allow-origin"), "*");
  assertEquals(await response.json(), {
    error: { code: "rate_limited", message: "Slow down.", details: { limit: 10 } },
  });
});

Deno.test("an unexpected error is a generic 500 that leaks nothing", async () => {
  const handler = withHttpConventions("test", () => {
    throw new Error("password=hunter2 at db.ts:42");
  });
  const originalError = console.error;
  console.error = () => {};
  try {
    const response = await handler(request());
    assertEquals(response.status, 500);
    const text = await response.text();
    assert(!text.includes("hunter2") && !text.includes("db.ts"), text);
    assertEquals(JSON.parse(text), { error: { code: "internal_error", message: "An unexpected error occurred." } });
  } finally {
    console.error = originalError;
  }
});

Deno.test("an empty or malformed JSON body is a 400 invalid_json", async () => {
  for (const body of ["", "{not json", "   "]) {
    const error = await readJson(request("POST", body)).catch((caught) => caught);
    assert(error instanceof HttpError, `body ${JSON.stringify(body)}`);
    assertEquals([error.status, error.code], [400, "invalid_json"]);
  }
  assertEquals(await readJson(request("POST", '{"a":1}')), { a: 1 });
});

Deno.test("the platform guard accepts only an exact key", () => {
  const withToken = (token: string) => request("POST", "{}", { Authorization: `Bearer ${token}` });
  requirePlatformCaller(withToken("service-key"), ["service-key"]);
  for (const token of ["service-ke", "service-key2", "SERVICE-KEY", ""]) {
    const error = (() => {
      try {
        requirePlatformCaller(withToken(token), ["service-key"]);
      } catch (caught) {
        return caught;
      }
    })();
    assert(error instanceof HttpError && error.status === 401, `token ${JSON.stringify(token)} must be refused`);
  }
});

integrationTest("webhook-dispatch refuses a user's JWT and the anon key, and accepts the service key", async () => {
  const url = `${stack.SUPABASE_URL}/functions/v1/webhook-dispatch`;
  const post = (key: string) => fetch(url, { method: "POST", headers: { Authorization: `Bearer ${key}` }, body: "{}" });
  const anon = await post(stack.SUPABASE_ANON_KEY);
  assertEquals(anon.status, 401);
  assertEquals((await anon.json()).error.code, "unauthorized");
  const service = await post(stack.SUPABASE_SERVICE_ROLE_KEY);
  await service.body?.cancel();
  assert(service.status !== 401, "the service key is the platform's credential");
});
