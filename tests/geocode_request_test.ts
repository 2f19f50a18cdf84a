// mapbox-geocode's request rules without a server: what the schema accepts and refuses with which
// field errors, how an address becomes Mapbox's search text, and that spellings of one search share
// one cache key while every filter that changes the answer makes another.
import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import { HttpError } from "../supabase/functions/_shared/http.ts";
import {
  cacheKey,
  MemberRequest,
  normalizeQuery,
  parseBody,
  PlatformRequest,
  searchFor,
  structuredQuery,
} from "../supabase/functions/mapbox-geocode/request.ts";

function fieldErrors(body: unknown): Record<string, string[]> {
  try {
    parseBody(MemberRequest, body);
  } catch (error) {
    assert(error instanceof HttpError && error.status === 400 && error.code === "invalid_request");
    return (error.details as { fieldErrors: Record<string, string[]> }).fieldErrors;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

Deno.test("a free-text address, structured fields or a property id alone are each a request", () => {
  assertEquals(parseBody(MemberRequest, { address: " 1 Main St " }).address, "1 Main St");
  assertEquals(parseBody(MemberRequest, { address1: "1 Main St", city: "Austin", country: "us" }).country, "US");
  const propertyId = crypto.randomUUID();
  assertEquals(parseBody(MemberRequest, { property_id: propertyId }).property_id, propertyId);
});

Deno.test("an empty body, or an address given both ways, is refused on the address field", () => {
  assert(fieldErrors({}).address[0].includes("give an address"));
  assert(fieldErrors({ address: "1 Main St", city: "Austin" }).address[0].includes("not both"));
});

Deno.test("each malformed field is named with its problem", () => {
  const errors = fieldErrors({
    address: "   ",
    country: "USA",
    limit: 11,
    proximity: { lng: 200, lat: 0 },
    property_id: "42",
  });
  assertEquals(Object.keys(errors).sort(), ["address", "country", "limit", "property_id", "proximity"]);
  assertEquals(errors.address, ["must not be empty"]);
});

Deno.test("unknown fields, control characters and unpaired surrogates are refused", () => {
  assertThrows(() => parseBody(MemberRequest, { address: "1 Main St", zip: "78702" }), HttpError);
  assertEquals(fieldErrors({ address: "1 Main\u0000St" }).address, ["must not contain control characters"]);
  assertEquals(fieldErrors({ address: "1 Main \ud800St" }).address, ["must be valid Unicode text"]);
});

Deno.test("the platform names exactly a property and its organization", () => {
  const body = { property_id: crypto.randomUUID(), org_id: crypto.randomUUID() };
  assertEquals(parseBody(PlatformRequest, body), body);
  assertThrows(() => parseBody(PlatformRequest, { property_id: body.property_id }), HttpError);
  assertThrows(() => parseBody(PlatformRequest, { ...body, address: "1 Main St" }), HttpError);
});

Deno.test("structured fields read in address order, skipping the missing ones", () => {
  assertEquals(
    structuredQuery({ address1: "1 Main St", city: "Austin", region: "TX", postal_code: "78702" }),
    "1 Main St, Austin, TX 78702",
  );
  assertEquals(structuredQuery({ address1: "1 Main St", postal_code: "78702" }), "1 Main St, 78702");
});

Deno.test("normalizing lowercases, collapses whitespace and commas, and treats ; as a comma", () => {
  assertEquals(normalizeQuery("  1  MAIN St ,\n\tAustin;;TX  "), "1 main st, austin, tx");
  assertEquals(normalizeQuery("Ｍａｉｎ"), "main");
});

Deno.test("one search spelled two ways has one cache key; another filter has another", () => {
  const key = (address: string, extra = {}) => cacheKey(searchFor({ address, ...extra }, {}));
  assertEquals(key("1 Main St, Austin"), key(" 1 main st ,AUSTIN "));
  const base = key("1 Main St, Austin");
  assert(base !== key("1 Main St, Austin", { country: "US" }));
  assert(base !== key("1 Main St, Austin", { limit: 2 }));
  assert(base !== key("1 Main St, Austin", { proximity: { lng: -97.7, lat: 30.2 } }));
  assertEquals(
    key("1 Main St", { proximity: { lng: -97.70001, lat: 30.20004 } }),
    key("1 Main St", { proximity: { lng: -97.7, lat: 30.2 } }),
    "proximity is rounded to about 100 m",
  );
});

Deno.test("a search longer than Mapbox accepts is a 400 on the address", () => {
  const words = Array.from({ length: 21 }, (_, i) => `w${i}`).join(" ");
  assertThrows(() => searchFor({ address: words }, {}), (error: unknown) => {
    return error instanceof HttpError && error.status === 400;
  });
  assertThrows(() => searchFor({ address: ",,," }, {}), HttpError);
});
