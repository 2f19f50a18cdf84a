// mapbox-geocode for signed-in members, through real supabase-js `functions.invoke` and a real
// gateway, against a Mapbox stand-in that counts its calls: coordinates back, the cache, storing on
// a property as the caller (RLS decides), tenant isolation, the per-organization rate limit, the
// caller checks and CORS.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { GeocodeResponse } from "../supabase/functions/mapbox-geocode/response.ts";
import { connect, integrationTest, mintJwt, stack } from "./_support/stack.ts";
import {
  clientFor,
  createGeocodeTenant,
  invokeGeocode,
  startGeocodeGateway,
  startMapboxStandIn,
  uniqueAddress,
  vaultMapboxToken,
} from "./_support/geocoding.ts";

const sql = connect(2);
const standIn = startMapboxStandIn({ tokens: [await vaultMapboxToken(sql)] });
const gateway = await startGeocodeGateway({ MAPBOX_API_ORIGIN: standIn.origin });
globalThis.addEventListener("unload", () => {
  gateway.close();
  void standIn.close();
  void sql.end();
});

type Tenant = Awaited<ReturnType<typeof createGeocodeTenant>>;

/** A test with two fresh organizations of its own, removed afterwards. */
function geocodeTest(name: string, fn: (tenant: Tenant, other: Tenant) => Promise<void>): void {
  integrationTest(name, async () => {
    const tenant = await createGeocodeTenant(sql, "geocode-member");
    const other = await createGeocodeTenant(sql, "geocode-other");
    try {
      await fn(tenant, other);
    } finally {
      await tenant.remove();
      await other.remove();
    }
  });
}

const propertyRow = async (id: string) => {
  const [row] =
    await sql`select lat, lng, geocoded_at, geocode_source, updated_at from public.properties where id = ${id}`;
  return { ...row };
};

geocodeTest("a member gets coordinates for a free-text address through functions.invoke", async (tenant) => {
  const client = await clientFor(gateway.url, tenant.memberId);
  const address = uniqueAddress();
  const { status, body } = await invokeGeocode(client, { address, country: "us" });
  assertEquals(status, 200, JSON.stringify(body));
  // The answer is what the developer portal documents (docs/openapi.json is generated from this schema).
  assert(GeocodeResponse.safeParse(body).success, JSON.stringify(body));
  assertEquals(body.source, "mapbox");
  assert(typeof body.lat === "number" && body.lat >= -90 && body.lat <= 90, `lat ${body.lat}`);
  assert(typeof body.lng === "number" && body.lng >= -180 && body.lng <= 180, `lng ${body.lng}`);
  assert(typeof body.formatted_address === "string" && body.formatted_address.length > 0);
  assertEquals(body.relevance, 1);
  assertEquals(body.property, undefined, "no property was named");
  const [call] = standIn.requests.filter((request) => request.query === address.toLowerCase());
  assert(call !== undefined, "the stand-in saw the normalized address");
  assertEquals(call.authorized, true);
  assertEquals(call.params.get("country"), "us");
  assertEquals(call.params.get("autocomplete"), "false");
  assertEquals(call.params.get("limit"), "1");
});

geocodeTest("structured fields are searched in address order, with limit and proximity passed on", async (tenant) => {
  const client = await clientFor(gateway.url, tenant.memberId);
  const street = `${crypto.randomUUID().slice(0, 8)} Pine Street`;
  const { status, body } = await invokeGeocode(client, {
    address1: street,
    city: "Boulder",
    region: "CO",
    postal_code: "80302",
    country: "US",
    proximity: { lng: -105.27055, lat: 40.01499 },
    limit: 3,
  });
  assertEquals(status, 200, JSON.stringify(body));
  const [call] = standIn.requests.filter((request) => request.query.includes(street.toLowerCase()));
  assertEquals(call.query, `${street.toLowerCase()}, boulder, co 80302`);
  assertEquals(call.params.get("proximity"), "-105.271,40.015");
  assertEquals(call.params.get("limit"), "3");
  assertEquals((body.candidates as unknown[]).length, 3);
});

geocodeTest(
  "the same address spelled differently is answered from the cache without an upstream call",
  async (tenant) => {
    const client = await clientFor(gateway.url, tenant.memberId);
    const address = uniqueAddress("Cedar Lane");
    const first = await invokeGeocode(client, { address });
    assertEquals([first.status, first.body.source], [200, "mapbox"]);
    assertEquals(standIn.callsFor(address), 1);

    const respelled = `  ${address.toUpperCase().replace(", ", " ,\n ")}  `;
    const second = await invokeGeocode(client, { address: respelled });
    assertEquals([second.status, second.body.source], [200, "cache"]);
    assertEquals([second.body.lat, second.body.lng], [first.body.lat, first.body.lng]);
    assertEquals(standIn.callsFor(address), 1, "the cache hit made no upstream call");

    const filtered = await invokeGeocode(client, { address, country: "CA" });
    assertEquals(filtered.body.source, "mapbox", "another country filter is another search");
    assertEquals(standIn.callsFor(address), 2);
  },
);

geocodeTest("the cache is per organization: another tenant's identical search goes upstream", async (tenant, other) => {
  const address = uniqueAddress("Birch Road");
  const mine = await invokeGeocode(await clientFor(gateway.url, tenant.memberId), { address });
  const theirs = await invokeGeocode(await clientFor(gateway.url, other.memberId), { address });
  assertEquals([mine.body.source, theirs.body.source], ["mapbox", "mapbox"]);
  assertEquals(standIn.callsFor(address), 2);
});

geocodeTest("with property_id the coordinates are stored on the property, as the caller", async (tenant) => {
  const client = await clientFor(gateway.url, tenant.memberId);
  const before = await propertyRow(tenant.propertyId);
  assertEquals(before.lat, null);
  const { status, body } = await invokeGeocode(client, { address: uniqueAddress(), property_id: tenant.propertyId });
  assertEquals(status, 200, JSON.stringify(body));
  assert(GeocodeResponse.safeParse(body).success, JSON.stringify(body));
  const after = await propertyRow(tenant.propertyId);
  assertEquals([after.lat, after.lng, after.geocode_source], [body.lat, body.lng, "mapbox"]);
  assert(after.geocoded_at instanceof Date);
  const property = body.property as Record<string, unknown>;
  assertEquals([property.id, property.lat, property.lng], [tenant.propertyId, body.lat, body.lng]);
});

geocodeTest("property_id alone geocodes the property's own address, in its country", async (tenant) => {
  const [property] = await sql<{ id: string; address1: string }[]>`
    insert into public.properties (org_id, address1, city, country)
    values (${tenant.orgId}, ${`${crypto.randomUUID().slice(0, 8)} Aspen Way`}, 'Toronto', 'CA')
    returning id, address1`;
  const client = await clientFor(gateway.url, tenant.memberId);
  const { status, body } = await invokeGeocode(client, { property_id: property.id });
  assertEquals(status, 200, JSON.stringify(body));
  const [call] = standIn.requests.filter((request) => request.query.startsWith(property.address1.toLowerCase()));
  assertEquals(call.query, `${property.address1.toLowerCase()}, toronto`);
  assertEquals(call.params.get("country"), "ca");
  assertEquals((await propertyRow(property.id)).geocode_source, "mapbox");
});

geocodeTest(
  "a member of another organization gets 404 for a property, and nothing is written or sent",
  async (tenant, other) => {
    const intruder = await clientFor(gateway.url, other.memberId);
    const before = await propertyRow(tenant.propertyId);
    const address = uniqueAddress("Intruder Street");
    const { status, body } = await invokeGeocode(intruder, { address, property_id: tenant.propertyId });
    assertEquals(status, 404);
    assertEquals(body.error?.code, "property_not_found");
    assertEquals(await propertyRow(tenant.propertyId), before, "the property is unchanged");
    assertEquals(standIn.callsFor(address), 0, "no upstream call for a refused request");
  },
);

geocodeTest(
  "an integration with only properties:read cannot store coordinates (403), and nothing is written",
  async (tenant) => {
    const integration = await clientFor(gateway.url, tenant.readOnlyIntegrationId);
    const before = await propertyRow(tenant.propertyId);
    const { status, body } = await invokeGeocode(integration, {
      address: uniqueAddress(),
      property_id: tenant.propertyId,
    });
    assertEquals([status, body.error?.code], [403, "forbidden"]);
    assertEquals(await propertyRow(tenant.propertyId), before);
  },
);

geocodeTest("a user in no organization gets 403 not_a_member", async () => {
  const nobody = crypto.randomUUID();
  await sql`insert into auth.users (id, aud, role, email) values (${nobody}, 'authenticated', 'authenticated',
            ${`nobody-${nobody.slice(0, 8)}@example.test`})`;
  try {
    const { status, body } = await invokeGeocode(await clientFor(gateway.url, nobody), { address: uniqueAddress() });
    assertEquals([status, body.error?.code], [403, "not_a_member"]);
  } finally {
    await sql`delete from auth.users where id = ${nobody}`;
  }
});

geocodeTest(
  "a member of several organizations names one with org_id, and only one of their own",
  async (tenant, other) => {
    await sql`insert into public.organization_members (org_id, user_id, role) values (${other.orgId}, ${tenant.userId}, 'member')`;
    try {
      const client = await clientFor(gateway.url, tenant.userId);
      const ambiguous = await invokeGeocode(client, { address: uniqueAddress() });
      assertEquals([ambiguous.status, ambiguous.body.error?.code], [400, "invalid_request"]);
      assert("org_id" in (ambiguous.body.error?.details?.fieldErrors as object));
      const named = await invokeGeocode(client, { address: uniqueAddress(), org_id: other.orgId });
      assertEquals(named.status, 200);
      const stranger = await invokeGeocode(await clientFor(gateway.url, other.memberId), {
        address: uniqueAddress(),
        org_id: tenant.orgId,
      });
      assertEquals([stranger.status, stranger.body.error?.code], [403, "not_a_member"]);
    } finally {
      await sql`delete from public.organization_members where org_id = ${other.orgId} and user_id = ${tenant.userId}`;
    }
  },
);

geocodeTest("the organization's rate limit answers 429 with Retry-After once its bucket is empty", async (tenant) => {
  const limited = await createGeocodeTenant(sql, "geocode-limited");
  try {
    // Two requests at once, then one every ten minutes.
    await sql`insert into geocoding.rate_limit_overrides (org_id, burst, per_minute) values (${limited.orgId}, 2, 0.1)`;
    const client = await clientFor(gateway.url, limited.memberId);
    const address = uniqueAddress();
    assertEquals((await invokeGeocode(client, { address })).status, 200);
    assertEquals((await invokeGeocode(client, { address })).status, 200);
    const refused = await invokeGeocode(client, { address: uniqueAddress() });
    assertEquals(refused.status, 429);
    assertEquals(refused.body.error?.code, "rate_limited");
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 600, `Retry-After ${retryAfter}`);
    assertEquals(refused.body.error?.details, { retry_after_seconds: retryAfter });
    assertEquals(refused.headers.get("access-control-expose-headers"), "Retry-After");
    assertEquals(standIn.callsFor(address), 1, "the second request was a cache hit");

    const elsewhere = await invokeGeocode(await clientFor(gateway.url, tenant.memberId), { address: uniqueAddress() });
    assertEquals(elsewhere.status, 200, "other organizations keep their own bucket");
  } finally {
    await limited.remove();
  }
});

geocodeTest(
  "the publishable key, and a signed JWT that merely claims service_role, are refused with 401",
  async (tenant) => {
    const call = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/functions/v1/mapbox-geocode`, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body: JSON.stringify({ property_id: tenant.propertyId, org_id: tenant.orgId }),
      });
    const anonymous = await call({ apikey: stack.publishableKey });
    assertEquals([anonymous.status, (await anonymous.json()).error.code], [401, "unauthorized"]);
    const impostor = await call({ Authorization: `Bearer ${await mintJwt({ role: "service_role", sub: undefined })}` });
    assertEquals([impostor.status, (await impostor.json()).error.code], [401, "unauthorized"]);
    assertEquals((await propertyRow(tenant.propertyId)).lat, null);
  },
);

geocodeTest("a session the project did not sign is refused by the function, with CORS headers", async (tenant) => {
  const forged = await mintJwt({ sub: tenant.memberId }, { secret: "another-secret-of-at-least-32-characters!" });
  const response = await fetch(`${gateway.url}/functions/v1/mapbox-geocode`, {
    method: "POST",
    headers: { Authorization: `Bearer ${forged}` },
    body: JSON.stringify({ address: uniqueAddress() }),
  });
  assertEquals([response.status, (await response.json()).error.code], [401, "unauthorized"]);
  assertEquals(response.headers.get("access-control-allow-origin"), "*");
});

geocodeTest("the browser's CORS preflight is answered and every answer carries CORS headers", async (tenant) => {
  const preflight = await fetch(`${gateway.url}/functions/v1/mapbox-geocode`, {
    method: "OPTIONS",
    headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
  });
  await preflight.body?.cancel();
  assertEquals(preflight.status, 200);
  assertEquals(preflight.headers.get("access-control-allow-origin"), "*");
  assert(preflight.headers.get("access-control-allow-headers")?.includes("authorization"));
  const client = await clientFor(gateway.url, tenant.memberId);
  const failed = await invokeGeocode(client, { limit: 0 });
  assertEquals(failed.status, 400);
  assertEquals(failed.headers.get("access-control-allow-origin"), "*");
});

geocodeTest("a GET is 405, not a geocoding request", async (tenant) => {
  const jwt = await mintJwt({ sub: tenant.memberId });
  const response = await fetch(`${gateway.url}/functions/v1/mapbox-geocode`, {
    headers: { Authorization: `Bearer ${jwt}` },
  });
  assertEquals([response.status, (await response.json()).error.code], [405, "method_not_allowed"]);
});
