// What mapbox-geocode answers (200), as a zod schema for the developer portal's OpenAPI document
// (scripts/generate-openapi.ts); tests/geocode_member_test.ts checks real answers against it.
import { z } from "npm:zod@4.6.7";

const Latitude = z.number().min(-90).max(90);
const Longitude = z.number().min(-180).max(180);
const Relevance = z.number().min(0).max(1).describe("Mapbox's confidence in the match, 0–1");

/** One Mapbox candidate, best first. */
export const GeocodeCandidate = z.object({
  lat: Latitude,
  lng: Longitude,
  formatted_address: z.string().describe("Mapbox's place_name"),
  relevance: Relevance,
}).meta({ id: "GeocodeCandidate" });

/** The property row after the update, as the caller sees it (present only when property_id was given). */
export const GeocodedProperty = z.looseObject({
  id: z.guid(),
  org_id: z.guid(),
  lat: Latitude,
  lng: Longitude,
  geocoded_at: z.string().describe("When the coordinates were stored (ISO-8601)"),
  geocode_source: z.literal("mapbox"),
}).describe("The updated properties row (every column of the table)");

export const GeocodeResponse = z.object({
  lat: Latitude.describe("The best candidate's latitude"),
  lng: Longitude.describe("The best candidate's longitude"),
  formatted_address: z.string().describe("The best candidate's full address"),
  relevance: Relevance,
  source: z.enum(["mapbox", "cache"]).describe("cache: answered from the organization's cache, without calling Mapbox"),
  candidates: z.array(GeocodeCandidate).min(1).describe("Every candidate Mapbox returned (up to `limit`), best first"),
  property: GeocodedProperty.optional(),
}).meta({ id: "GeocodeResult" });
export type GeocodeResponse = z.infer<typeof GeocodeResponse>;
