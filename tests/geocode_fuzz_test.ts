// Fuzzing mapbox-geocode's request body with fast-check: thousands of bodies (arbitrary JSON,
// near-miss request objects with every field of every type, and raw text that is mostly not JSON)
// sent by a signed-in member through the gateway. Whatever arrives, the answer is a success or a
// 4xx with a JSON error; never a 5xx, never a body that is not JSON.
import { ok as assert } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { awkwardText } from "./_support/fuzz.ts";
import { connect, integrationTest, mintJwt } from "./_support/stack.ts";
import {
  createGeocodeTenant,
  startGeocodeGateway,
  startMapboxStandIn,
  vaultMapboxToken,
} from "./_support/geocoding.ts";

const sql = connect(2);
const standIn = startMapboxStandIn({ tokens: [await vaultMapboxToken(sql)] });
const gateway = await startGeocodeGateway({ MAPBOX_API_ORIGIN: standIn.origin });
const tenant = await createGeocodeTenant(sql, "geocode-fuzz");
// Valid bodies should reach the cache and Mapbox, not stop at the rate limit.
await sql`insert into geocoding.rate_limit_overrides (org_id, burst, per_minute) values (${tenant.orgId}, 100000, 100000)`;
const jwt = await mintJwt({ sub: tenant.memberId });
globalThis.addEventListener("unload", () => {
  gateway.close();
  void standIn.close();
  void sql.end();
});

async function post(body: string): Promise<void> {
  const response = await fetch(`${gateway.url}/functions/v1/mapbox-geocode`, {
    method: "POST",
    headers: { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" },
    body,
  });
  const text = await response.text();
  const failure = `${response.status} for ${JSON.stringify(body)}: ${text}`;
  assert(response.status < 500, failure);
  const answer = JSON.parse(text);
  if (response.status >= 400) {
    assert(response.status >= 400 && response.status < 500, failure);
    assert(typeof answer.error?.code === "string" && typeof answer.error?.message === "string", failure);
    if (response.status === 400 && answer.error.code === "invalid_request") {
      assert(typeof answer.error.details?.fieldErrors === "object", `field errors: ${failure}`);
    }
  } else {
    assert(response.status === 200 && typeof answer.lat === "number" && typeof answer.lng === "number", failure);
  }
}

// Any JSON value, strings including unpaired surrogates and control characters.
const anyString = fc.oneof(
  awkwardText,
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", " ", "\u0000", "\ud800", "nowhere", "1 Main St", "US", "us", "ZZZ", "💥".repeat(300)),
);
const anyJson = fc.jsonValue();
const anyValue = fc.oneof(
  anyString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uuid(),
  anyJson,
  fc.array(anyString, { maxLength: 3 }),
  fc.record({ lng: fc.oneof(fc.double(), anyString), lat: fc.oneof(fc.double(), anyString) }),
);
const field = (valid: fc.Arbitrary<unknown>) => fc.oneof({ weight: 3, arbitrary: valid }, anyValue);

// Close to a real request: each field usually of its type, sometimes anything at all.
const nearMissRequest = fc.record({
  address: field(fc.string({ maxLength: 300 })),
  address1: field(fc.string({ maxLength: 220 })),
  city: field(fc.string({ maxLength: 120 })),
  region: field(fc.string({ maxLength: 5 })),
  postal_code: field(fc.string({ maxLength: 25 })),
  country: field(fc.stringMatching(/^[A-Za-z]{1,3}$/)),
  proximity: field(fc.record({ lng: fc.double({ min: -200, max: 200 }), lat: fc.double({ min: -100, max: 100 }) })),
  limit: field(fc.integer({ min: -2, max: 12 })),
  property_id: field(fc.oneof(fc.uuid(), fc.constant(tenant.propertyId))),
  org_id: field(fc.oneof(fc.uuid(), fc.constant(tenant.orgId))),
  unexpected: anyValue,
}, { requiredKeys: [] });

// Requests of the right shape with arbitrary text, so the fuzzing also reaches the cache, the
// upstream call and the property update, not only validation.
const wellFormedRequest = fc.oneof(
  fc.record({
    address: fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), awkwardText),
    limit: fc.integer({ min: 1, max: 10 }),
    country: fc.constantFrom("US", "ca", "GB"),
  }, { requiredKeys: ["address"] }),
  fc.record({
    address1: fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), awkwardText),
    city: fc.oneof(fc.string({ maxLength: 40 }), awkwardText),
    postal_code: fc.string({ maxLength: 10 }),
    property_id: fc.constant(tenant.propertyId),
  }, { requiredKeys: ["address1"] }),
);

integrationTest(
  "2,000 near-miss and well-formed request objects: never a 5xx, every error is a JSON error",
  async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(nearMissRequest, wellFormedRequest), (body) => post(JSON.stringify(body))),
      { numRuns: 2000 },
    );
  },
);

integrationTest("1,500 arbitrary JSON documents: never a 5xx, every error is a JSON error", async () => {
  await fc.assert(fc.asyncProperty(anyJson, (body) => post(JSON.stringify(body))), { numRuns: 1500 });
});

integrationTest("1,000 raw bodies that are mostly not JSON: never a 5xx, every error is a JSON error", async () => {
  await fc.assert(fc.asyncProperty(anyString, (body) => post(body)), { numRuns: 1000 });
});

integrationTest("the fuzzed requests reached the upstream too, not only the validation", async () => {
  assert(standIn.requests.length > 0, "some fuzzed bodies were valid and geocoded");
  await tenant.remove();
});
