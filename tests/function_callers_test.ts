// Who may call the functions, the way hosted Supabase issues credentials: user sessions signed
// with the legacy HS256 secret (while the project has it) or with asymmetric keys (ES256 / RS256,
// from the project's JWKS); the secret API key in `apikey` for the platform; the publishable key
// and the anon key for nobody in particular. Unit tests of the caller check, then every function
// through the stack's gateway as a browser sees it: a preflight, then the request with an Origin,
// whose answer - a 401 included - carries CORS headers so supabase-js can read its status.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createClient, FunctionsHttpError } from "npm:@supabase/supabase-js@2.119.0";
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from "npm:jose@6.2.17";
import { callerIdentifier, type CallerSources } from "../supabase/functions/_shared/caller.ts";
import { HttpError } from "../supabase/functions/_shared/http.ts";
import { integrationTest, legacyKey, legacyKeysTest, mintJwt, stack } from "./_support/stack.ts";

const LEGACY_SECRET = "unit-test-legacy-jwt-secret-of-32-characters";
const USER_ID = "00000000-0000-4000-a000-000000001001";

async function keyPair(alg: "ES256" | "RS256") {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = crypto.randomUUID();
  return { privateKey, kid, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } as JWK };
}
const es256 = await keyPair("ES256");
const rs256 = await keyPair("RS256");

function sources(overrides: Partial<CallerSources> = {}): CallerSources {
  return {
    jwks: createLocalJWKSet({ keys: [es256.publicJwk, rs256.publicJwk] }),
    legacyJwtSecret: () => Promise.resolve(LEGACY_SECRET),
    secretKeys: ["sb_secret_unit"],
    serviceRoleKey: "legacy-service-role-jwt",
    platformSecret: () => Promise.resolve("function-platform-secret"),
    ...overrides,
  };
}

async function session(alg: "HS256" | "ES256" | "RS256", claims: Record<string, unknown> = {}, expiresIn = 60) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ sub: USER_ID, role: "authenticated", aud: "authenticated", ...claims })
    .setIssuedAt(now).setExpirationTime(now + expiresIn);
  if (alg === "HS256") return await jwt.setProtectedHeader({ alg }).sign(new TextEncoder().encode(LEGACY_SECRET));
  const pair = alg === "ES256" ? es256 : rs256;
  return await jwt.setProtectedHeader({ alg, kid: pair.kid }).sign(pair.privateKey);
}

const request = (headers: Record<string, string>) => new Request("http://functions.local/fn", { headers });
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function refusal(identify: ReturnType<typeof callerIdentifier>, headers: Record<string, string>) {
  const error = await identify(request(headers)).then(() => null, (caught) => caught);
  assert(error instanceof HttpError && error.status === 401, `expected a 401 for ${JSON.stringify(headers)}`);
  return error.message;
}

Deno.test("sessions signed with the legacy secret, ES256 or RS256 are members", async () => {
  const identify = callerIdentifier(sources());
  for (const alg of ["HS256", "ES256", "RS256"] as const) {
    const caller = await identify(request(bearer(await session(alg))));
    assertEquals([caller.kind, caller.kind === "member" && caller.userId], ["member", USER_ID], alg);
  }
});

Deno.test("once the legacy secret is revoked, an HS256 session is refused and an ES256 one still passes", async () => {
  const identify = callerIdentifier(sources({ legacyJwtSecret: () => Promise.resolve(null) }));
  assert((await refusal(identify, bearer(await session("HS256")))).includes("legacy JWT secret"));
  assertEquals((await identify(request(bearer(await session("ES256"))))).kind, "member");
});

Deno.test("expired, forged, unsigned and unknown-key sessions are refused", async () => {
  const identify = callerIdentifier(sources());
  assert((await refusal(identify, bearer(await session("ES256", {}, -60)))).includes("expired"));
  const stranger = await keyPair("ES256");
  const foreign = await new SignJWT({ sub: USER_ID, role: "authenticated" }).setProtectedHeader({
    alg: "ES256",
    kid: es256.kid,
  }).setExpirationTime("1m").sign(stranger.privateKey);
  await refusal(identify, bearer(foreign));
  await refusal(identify, bearer(`${btoa('{"alg":"none"}')}.${btoa(`{"sub":"${USER_ID}"}`)}.`));
  await refusal(identify, bearer("not-a-jwt"));
  await refusal(identify, {});
});

Deno.test("the platform is the secret key in apikey, the function's own secret or the legacy service key", async () => {
  const identify = callerIdentifier(sources());
  for (
    const headers of [
      { apikey: "sb_secret_unit" },
      bearer("function-platform-secret"),
      bearer("legacy-service-role-jwt"),
    ]
  ) {
    assertEquals((await identify(request(headers))).kind, "platform", JSON.stringify(headers));
  }
  // The secret key is not a bearer token, and a signed JWT merely claiming service_role is nobody.
  await refusal(identify, bearer("sb_secret_unit"));
  await refusal(identify, bearer(await session("ES256", { role: "service_role" })));
  // Without legacy keys, the old service role key is nobody's either.
  const withoutLegacy = callerIdentifier(sources({ serviceRoleKey: undefined }));
  await refusal(withoutLegacy, bearer("legacy-service-role-jwt"));
});

Deno.test("the publishable key and an anon session are not members", async () => {
  const identify = callerIdentifier(sources());
  await refusal(identify, { apikey: "sb_publishable_unit" });
  await refusal(identify, bearer(await session("HS256", { role: "anon", sub: undefined })));
});

// ---------------------------------------------------------------------------------------------
// Through the stack's gateway, as a browser and supabase-js see it
// ---------------------------------------------------------------------------------------------

const FUNCTIONS = [
  { path: "mapbox-geocode", method: "POST" },
  { path: "webhook-admin/event-types", method: "GET" },
  { path: "webhook-dispatch", method: "POST" },
];
const ORIGIN = "http://localhost:3000";
const url = (path: string) => `${stack.SUPABASE_URL}/functions/v1/${path}`;

integrationTest("every function answers a browser's preflight, then its 401 with CORS headers", async () => {
  const expired = await mintJwt({ sub: USER_ID }, { expiresInSeconds: -60 });
  for (const { path, method } of FUNCTIONS) {
    const preflight = await fetch(url(path), {
      method: "OPTIONS",
      headers: {
        Origin: ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, x-client-info, apikey, content-type",
      },
    });
    await preflight.body?.cancel();
    assertEquals(preflight.status, 200, path);
    assertEquals(preflight.headers.get("access-control-allow-origin"), "*", path);
    const allowed = preflight.headers.get("access-control-allow-headers") ?? "";
    for (const header of ["authorization", "x-client-info", "apikey", "content-type"]) {
      assert(allowed.includes(header), `${path} allows ${header}: ${allowed}`);
    }
    const response = await fetch(url(path), {
      method,
      headers: { Origin: ORIGIN, apikey: stack.publishableKey, ...bearer(expired), "Content-Type": "application/json" },
      body: method === "GET" ? undefined : "{}",
    });
    const body = await response.json();
    assertEquals([response.status, body.error?.code], [401, "unauthorized"], `${path}: ${JSON.stringify(body)}`);
    assertEquals(response.headers.get("access-control-allow-origin"), "*", path);
  }
});

integrationTest("supabase-js reports an expired session's 401 as an HTTP error the client can act on", async () => {
  const expired = await mintJwt({ sub: USER_ID }, { expiresInSeconds: -60 });
  const client = createClient(stack.SUPABASE_URL, stack.publishableKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: bearer(expired) },
  });
  const { error } = await client.functions.invoke("mapbox-geocode", { body: { address: "1 Main St" } });
  assert(error instanceof FunctionsHttpError, `not an HTTP error: ${error}`);
  assertEquals((error.context as Response).status, 401);
  assertEquals((error.context as Response).headers.get("access-control-allow-origin"), "*");
});

integrationTest(
  "an owner's ES256 session and the secret key reach webhook-admin; the publishable key alone does not",
  async () => {
    const owner = "00000000-0000-4000-a000-000000001001";
    const call = (headers: Record<string, string>) => fetch(url("webhook-admin/event-types"), { headers });
    const es256Session = await call({
      apikey: stack.publishableKey,
      ...bearer(await mintJwt({ sub: owner }, { algorithm: "ES256" })),
    });
    assertEquals(es256Session.status, 200, await es256Session.text());
    const platform = await call({ apikey: stack.secretKey });
    assertEquals(platform.status, 200, await platform.text());
    const anonymous = await call({ apikey: stack.publishableKey });
    assertEquals(anonymous.status, 401, await anonymous.text());
  },
);

legacyKeysTest(
  "while the project has legacy keys, an HS256 session and the service role key work, the anon key does not",
  async () => {
    const owner = "00000000-0000-4000-a000-000000001001";
    const call = (token: string) => fetch(url("webhook-admin/event-types"), { headers: bearer(token) });
    const hs256 = await call(await mintJwt({ sub: owner }, { algorithm: "HS256" }));
    assertEquals(hs256.status, 200, await hs256.text());
    const service = await call(legacyKey("service_role"));
    assertEquals(service.status, 200, await service.text());
    const anon = await call(legacyKey("anon"));
    assertEquals(anon.status, 401, await anon.text());
  },
);

integrationTest("once the legacy keys are revoked, HS256 sessions and the legacy keys are refused", async () => {
  if (stack.legacyKeys) return; // The legacy-off run (scripts/test.mjs) checks this.
  const { ANON_KEY, SERVICE_ROLE_KEY, JWT_SECRET } = await import("../scripts/lib/platform.mjs");
  const owner = "00000000-0000-4000-a000-000000001001";
  const tokens = [await mintJwt({ sub: owner }, { secret: JWT_SECRET }), ANON_KEY, SERVICE_ROLE_KEY];
  for (const token of tokens) {
    const response = await fetch(url("webhook-admin/event-types"), { headers: bearer(token) });
    assertEquals(response.status, 401, await response.text());
  }
});
