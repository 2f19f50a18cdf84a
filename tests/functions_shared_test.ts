// The HTTP conventions every function shares (supabase/functions/_shared), called without a server:
// CORS, errors, JSON bodies, the platform guard, the environment and the database connection.
import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import { corsHeaders as supabaseCorsHeaders } from "npm:@supabase/supabase-js@2.119.0/cors";
import { databasePool, MAX_CONNECTIONS_PER_WORKER } from "../supabase/functions/_shared/database.ts";
import { databaseUrl, loadEdgeEnvironment } from "../supabase/functions/_shared/environment.ts";
import { HttpError, readJson, withHttpConventions } from "../supabase/functions/_shared/http.ts";
import { requirePlatformCaller } from "../supabase/functions/_shared/platform-auth.ts";
import { loadDispatchConfig } from "../supabase/functions/webhook-dispatch/config.ts";

const request = (method = "POST", body?: string, headers: HeadersInit = {}) =>
  new Request("http://functions.local/fn/path", { method, body, headers });

Deno.test("a CORS preflight is answered without reaching the handler", async () => {
  const handler = withHttpConventions("test", () => {
    throw new Error("the handler must not run for OPTIONS");
  });
  const response = await handler(request("OPTIONS"));
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("access-control-allow-origin"), "*");
  // Every header supabase-js sends, as its own CORS module lists them.
  assertEquals(
    response.headers.get("access-control-allow-headers"),
    supabaseCorsHeaders["Access-Control-Allow-Headers"],
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

Deno.test("the platform guard accepts only an exact key, each in its own header", () => {
  const credentials = { secretKeys: ["sb_secret_key"], platformSecrets: ["vault-secret", null] };
  const guard = (headers: Record<string, string>) => () =>
    requirePlatformCaller(new Request("http://functions.local/fn", { headers }), credentials);
  guard({ apikey: "sb_secret_key" })();
  guard({ Authorization: "Bearer vault-secret" })();
  const refused: Record<string, string>[] = [
    { apikey: "sb_secret_ke" },
    { apikey: "SB_SECRET_KEY" },
    { apikey: "" },
    { Authorization: "Bearer sb_secret_key" },
    { Authorization: "Bearer vault-secret2" },
    { Authorization: "Bearer " },
    { apikey: "vault-secret" },
  ];
  for (const headers of refused) {
    assertThrows(
      guard(headers),
      (error) => error instanceof HttpError && error.status === 401,
      JSON.stringify(headers),
    );
  }
});

const EDGE_ENV = {
  SUPABASE_URL: "https://project.supabase.co",
  SUPABASE_DB_URL: "postgresql://postgres:pw@db.project.supabase.co:5432/postgres",
};

Deno.test("functions boot without the legacy keys, which a project may have disabled", () => {
  const environment = loadEdgeEnvironment(EDGE_ENV);
  assertEquals([environment.SUPABASE_ANON_KEY, environment.SUPABASE_SERVICE_ROLE_KEY], [undefined, undefined]);
  assertEquals(environment.SUPABASE_SECRET_KEYS, []);
  const withKeys = loadEdgeEnvironment({
    ...EDGE_ENV,
    SUPABASE_SECRET_KEYS: '{"default":"sb_secret_x","ci":"sb_secret_y"}',
  });
  assertEquals(withKeys.SUPABASE_SECRET_KEYS, ["sb_secret_x", "sb_secret_y"]);
  assertThrows(() => loadEdgeEnvironment({ ...EDGE_ENV, SUPABASE_SECRET_KEYS: "sb_secret_x" }), /SUPABASE_SECRET_KEYS/);
});

Deno.test("the transaction pooler URL, when set, is preferred over the direct SUPABASE_DB_URL", () => {
  const pooler = "postgresql://postgres.project:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres";
  assertEquals(databaseUrl(loadEdgeEnvironment(EDGE_ENV)), EDGE_ENV.SUPABASE_DB_URL);
  assertEquals(databaseUrl(loadEdgeEnvironment({ ...EDGE_ENV, DB_POOLER_URL: pooler })), pooler);
  assertEquals(databaseUrl(loadDispatchConfig({ ...EDGE_ENV, DB_POOLER_URL: pooler })), pooler);
  assertThrows(() => loadEdgeEnvironment({ ...EDGE_ENV, DB_POOLER_URL: "https://not-a-database" }), /DB_POOLER_URL/);
});

Deno.test("a worker's pool is capped, whatever a function's settings ask for", () => {
  assertThrows(() => databasePool(EDGE_ENV.SUPABASE_DB_URL, { maxConnections: MAX_CONNECTIONS_PER_WORKER + 1 }));
  assertThrows(
    () => loadDispatchConfig({ ...EDGE_ENV, WEBHOOK_DISPATCH_DB_POOL_SIZE: String(MAX_CONNECTIONS_PER_WORKER + 1) }),
    /WEBHOOK_DISPATCH_DB_POOL_SIZE/,
  );
});
