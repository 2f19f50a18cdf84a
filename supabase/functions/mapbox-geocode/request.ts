// What a caller may ask for, and the search it becomes: request bodies parsed with zod (a 400 with
// field errors for anything else), the search text built from a free-text or structured address,
// and the cache key that identifies a search whatever its spelling.
import { z } from "npm:zod@4.6.7";
import { HttpError } from "../_shared/http.ts";

// Mapbox's forward geocoding accepts at most 256 characters and 20 words.
export const MAX_QUERY_CHARS = 256;
export const MAX_QUERY_WORDS = 20;
export const MAX_LIMIT = 10;
// Proximity is rounded to about 100 m, for the upstream call and the cache key alike, so nearby
// callers share cached results that were computed for exactly the point in the key.
const PROXIMITY_DECIMALS = 3;

// Whitespace of any kind (a pasted multi-line address) is collapsed later; other control characters
// and unpaired surrogates cannot be sent to Mapbox or stored in Postgres, so they are refused here.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000e-\u001f\u007f]/;

const text = (max: number) =>
  z.string()
    .refine((value) => value.isWellFormed(), "must be valid Unicode text")
    .refine((value) => !CONTROL_CHARACTERS.test(value), "must not contain control characters")
    .transform((value) => value.trim())
    .pipe(z.string().min(1, "must not be empty").max(max, `must be at most ${max} characters`));

const Proximity = z.strictObject({
  lng: z.number().min(-180).max(180),
  lat: z.number().min(-90).max(90),
});

const STRUCTURED_FIELDS = ["address1", "city", "region", "postal_code"] as const;

/** A signed-in member's request: an address (free text or structured), optionally for a property. */
export const MemberRequest = z.strictObject({
  address: text(MAX_QUERY_CHARS).optional(),
  address1: text(200).optional(),
  city: text(100).optional(),
  region: text(100).optional(),
  postal_code: text(20).optional(),
  country: z.string().regex(/^[A-Za-z]{2}$/, "must be an ISO 3166-1 alpha-2 code such as US")
    .transform((code) => code.toUpperCase()).optional(),
  proximity: Proximity.optional(),
  limit: z.int().min(1).max(MAX_LIMIT).optional(),
  property_id: z.guid().optional(),
  org_id: z.guid().optional(),
}).check((context) => {
  const body = context.value;
  const structured = STRUCTURED_FIELDS.some((field) => body[field] !== undefined);
  if (body.address !== undefined && structured) {
    context.issues.push({
      code: "custom",
      path: ["address"],
      message: "give either address or the structured fields (address1, city, region, postal_code), not both",
      input: body.address,
    });
  }
  if (body.address === undefined && !structured && body.property_id === undefined) {
    context.issues.push({
      code: "custom",
      path: ["address"],
      message: "give an address, the structured fields (address1, city, region, postal_code), or a property_id",
      input: body,
    });
  }
});
export type MemberRequest = z.infer<typeof MemberRequest>;

/** The platform's request (the automatic geocoding trigger): which property, in which organization. */
export const PlatformRequest = z.strictObject({
  property_id: z.guid(),
  org_id: z.guid(),
});
export type PlatformRequest = z.infer<typeof PlatformRequest>;

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(400, "invalid_request", "The request body is not valid.", z.flattenError(parsed.error));
  }
  return parsed.data;
}

export interface AddressParts {
  address1?: string | null;
  city?: string | null;
  region?: string | null;
  postal_code?: string | null;
}

export interface Search {
  /** The text sent to Mapbox. */
  query: string;
  country: string | null;
  proximity: { lng: number; lat: number } | null;
  limit: number;
}

/** "1 Main St", "Springfield", "IL 62701": the parts Mapbox reads best, in address order. */
export function structuredQuery(parts: AddressParts): string {
  const regionLine = [parts.region, parts.postal_code].filter(Boolean).join(" ");
  return [parts.address1, parts.city, regionLine].filter(Boolean).join(", ");
}

/** Lowercased, Unicode-normalized, whitespace collapsed, one space after each comma. */
export function normalizeQuery(query: string): string {
  return query
    .normalize("NFKC")
    .toLowerCase()
    // `;` separates batch queries in Mapbox's API; inside one address it is only punctuation.
    .replaceAll(";", ",")
    .replace(/\s+/g, " ")
    .replace(/\s*,\s*/g, ", ")
    .replace(/(, )+/g, ", ")
    .replace(/^[\s,]+|[\s,]+$/g, "");
}

function roundCoordinate(value: number): number {
  const factor = 10 ** PROXIMITY_DECIMALS;
  return Math.round(value * factor) / factor;
}

/** The search a request (or the property it names) stands for; a 400 when it cannot be sent as is. */
export function searchFor(
  request: { address?: string; country?: string; proximity?: { lng: number; lat: number }; limit?: number },
  parts: AddressParts,
): Search {
  const raw = request.address ?? structuredQuery(parts);
  const query = normalizeQuery(raw);
  if (query === "") {
    throw new HttpError(400, "invalid_request", "The request body is not valid.", {
      formErrors: [],
      fieldErrors: { address: ["must contain letters or digits"] },
    });
  }
  if (query.length > MAX_QUERY_CHARS || query.split(" ").length > MAX_QUERY_WORDS) {
    throw new HttpError(400, "invalid_request", "The request body is not valid.", {
      formErrors: [],
      fieldErrors: { address: [`must be at most ${MAX_QUERY_CHARS} characters and ${MAX_QUERY_WORDS} words`] },
    });
  }
  const proximity = request.proximity
    ? { lng: roundCoordinate(request.proximity.lng), lat: roundCoordinate(request.proximity.lat) }
    : null;
  return { query, country: request.country ?? null, proximity, limit: request.limit ?? 1 };
}

/** Identifies a search in the cache: the normalized text and every filter that changes the answer. */
export function cacheKey(search: Search): string {
  const proximity = search.proximity ? `${search.proximity.lng},${search.proximity.lat}` : "";
  return `v1|${search.query}|country=${search.country ?? ""}|proximity=${proximity}|limit=${search.limit}`;
}
