// mapbox-geocode's request handling: who is calling, what they may geocode, the per-organization
// rate limit, the cache, the upstream call, and storing the result on a property. I/O comes in as
// dependencies (store.ts, mapbox.ts) so this reads as the sequence of decisions it is.
import type { Caller, IdentifyCaller } from "../_shared/caller.ts";
import { type Handler, HttpError, jsonResponse, readJson } from "../_shared/http.ts";
import type { Geocoder, GeocodeResult } from "./mapbox.ts";
import {
  type AddressParts,
  cacheKey,
  MemberRequest,
  parseBody,
  PlatformRequest,
  type Search,
  searchFor,
} from "./request.ts";
import type { GeocodeResponse } from "./response.ts";
import { type GeocodeStore, type PropertyAddress, propertyNotFound, type PropertyRow } from "./store.ts";

export interface GeocodeDependencies {
  store: GeocodeStore;
  geocoder: Geocoder;
  identifyCaller: IdentifyCaller;
  tokenSecretName: string;
}

/** What one request geocodes, for which organization's limit and cache, and where the result goes. */
interface Target {
  orgId: string;
  search: Search;
  property: PropertyAddress | null;
}

const STRUCTURED_FIELDS = ["address1", "city", "region", "postal_code"] as const;

function invalidField(field: string, message: string): HttpError {
  return new HttpError(400, "invalid_request", "The request body is not valid.", {
    formErrors: [],
    fieldErrors: { [field]: [message] },
  });
}

async function memberTarget(
  store: GeocodeStore,
  caller: Extract<Caller, { kind: "member" }>,
  body: unknown,
): Promise<Target> {
  const input = parseBody(MemberRequest, body);
  const structured = STRUCTURED_FIELDS.some((field) => input[field] !== undefined);
  let orgId: string;
  let property: PropertyAddress | null = null;
  if (input.property_id !== undefined) {
    const found = await store.propertyForMember(caller.claims, input.property_id);
    if (found === null) throw propertyNotFound();
    if (!found.writable) throw new HttpError(403, "forbidden", "You may not change this property.");
    if (input.org_id !== undefined && input.org_id !== found.org_id) {
      throw invalidField("org_id", "is not the property's organization");
    }
    orgId = found.org_id;
    property = found;
  } else {
    const orgIds = await store.memberOrgIds(caller.claims);
    if (input.org_id !== undefined) {
      if (!orgIds.includes(input.org_id)) throw notAMember();
      orgId = input.org_id;
    } else if (orgIds.length === 1) {
      orgId = orgIds[0];
    } else if (orgIds.length === 0) {
      throw notAMember();
    } else {
      throw invalidField("org_id", "is required when you belong to more than one organization");
    }
  }
  // Without an address in the body, the property's own address is geocoded, in its country.
  const fromProperty = input.address === undefined && !structured;
  const parts: AddressParts = fromProperty ? property! : input;
  const country = input.country ?? (fromProperty ? property!.country : undefined);
  return { orgId, property, search: searchFor({ ...input, country }, parts) };
}

function notAMember(): HttpError {
  return new HttpError(403, "not_a_member", "You are not a member of an organization that may geocode.");
}

async function platformTarget(
  store: GeocodeStore,
  caller: Extract<Caller, { kind: "platform" }>,
  body: unknown,
): Promise<Target> {
  const input = parseBody(PlatformRequest, body);
  const property = await store.propertyForPlatform(caller.claims, input.property_id, input.org_id);
  if (property === null) throw propertyNotFound();
  if (property.lat !== null) throw alreadyGeocoded();
  return { orgId: property.org_id, property, search: searchFor({ country: property.country }, property) };
}

function alreadyGeocoded(): HttpError {
  return new HttpError(409, "already_geocoded", "The property already has coordinates.");
}

/**
 * The results for a target, from the cache or Mapbox. A member's request spends a token of the
 * organization's rate limit here; the platform's (automatic geocoding) had its token spent when
 * the database sent it (geocoding.request_due_geocoding), within the same limit.
 */
async function lookUp(
  deps: GeocodeDependencies,
  target: Target,
  context: Record<string, unknown>,
  { tokenSpent }: { tokenSpent: boolean },
): Promise<{ results: GeocodeResult[]; source: "mapbox" | "cache" }> {
  const { store } = deps;
  const decision = tokenSpent ? { allowed: true, retryAfterSeconds: 0 } : await store.takeRateLimitToken(target.orgId);
  if (!decision.allowed) {
    throw new HttpError(
      429,
      "rate_limited",
      "Your organization has made too many geocoding requests; try again later.",
      { retry_after_seconds: decision.retryAfterSeconds },
      { "Retry-After": String(decision.retryAfterSeconds), "Access-Control-Expose-Headers": "Retry-After" },
    );
  }
  const key = cacheKey(target.search);
  const cached = await store.cachedResults(target.orgId, key);
  if (cached !== null) return { results: cached, source: "cache" };

  const token = await store.mapboxToken(deps.tokenSecretName);
  if (token === null) {
    console.error(`mapbox-geocode: the Vault secret ${deps.tokenSecretName} is not set`, context);
    throw new HttpError(503, "geocoding_not_configured", "Geocoding is not configured for this project.");
  }
  const results = await deps.geocoder.forwardGeocode(token, target.search, context);
  if (results.length === 0) throw new HttpError(404, "no_match", "No location matches this address.");
  await store.storeResults(target.orgId, key, results);
  return { results, source: "mapbox" };
}

export function createGeocodeHandler(deps: GeocodeDependencies): Handler {
  return async (request) => {
    if (request.method !== "POST") {
      throw new HttpError(405, "method_not_allowed", "Use POST.", undefined, { Allow: "POST, OPTIONS" });
    }
    const caller = await deps.identifyCaller(request);
    const body = await readJson(request);
    const target = caller.kind === "platform"
      ? await platformTarget(deps.store, caller, body)
      : await memberTarget(deps.store, caller, body);
    const context = { caller: caller.kind, org_id: target.orgId, property_id: target.property?.id ?? null };
    const lookedUp = lookUp(deps, target, context, { tokenSpent: caller.kind === "platform" });
    const { results, source } = await lookedUp.catch(async (error) => {
      // Automatic geocoding records an address Mapbox does not know as failed for good, so the
      // property is not asked for again; every other failure leaves it queued for a later try.
      if (caller.kind === "platform" && error instanceof HttpError && error.code === "no_match") {
        await deps.store.recordAutoGeocodingFailure(target.property!.id, "Mapbox found no location for the address.");
      }
      throw error;
    });
    const [best] = results;

    let property = null;
    if (target.property !== null) {
      property = await deps.store.storeCoordinatesAsCaller(caller.claims, target.property.id, best, {
        onlyIfMissing: caller.kind === "platform",
      });
      if (property === null) {
        throw caller.kind === "platform"
          ? alreadyGeocoded()
          : new HttpError(403, "forbidden", "You may not change this property.");
      }
    }
    // The documented answer (response.ts, from which the OpenAPI document is generated); the
    // property row's static type cannot say that its coordinates are now set.
    const answer: Omit<GeocodeResponse, "property"> & { property?: PropertyRow } = {
      lat: best.lat,
      lng: best.lng,
      formatted_address: best.formatted_address,
      relevance: best.relevance,
      source,
      candidates: results,
      ...(property !== null ? { property } : {}),
    };
    return jsonResponse(answer);
  };
}
