// The function's database access over SUPABASE_DB_URL (postgres.js; PostgREST is not reachable
// from every environment the function runs in). Two kinds of work:
// - the geocoding schema's machinery (rate limit, cache, the Vault token) as postgres, its owner;
// - reading and writing properties *as the caller*, in a transaction that does what PostgREST does
//   for a request: `role` and `request.jwt.claims` set locally from the caller's verified JWT, so
//   row-level security decides exactly as it would for `supabase.from('properties')`.
import postgres from "npm:postgres@3.4.9";
import { asCaller as runAsCaller, databasePool } from "../_shared/database.ts";
import { HttpError } from "../_shared/http.ts";
import type { JwtClaims } from "../_shared/caller.ts";
import type { GeocodeResult } from "./mapbox.ts";

export interface PropertyAddress {
  id: string;
  org_id: string;
  address1: string;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string;
  lat: number | null;
  lng: number | null;
}

export type PropertyRow = PropertyAddress & Record<string, unknown>;

export interface RateLimitDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export interface GeocodeStore {
  /** Organizations the member belongs to. */
  memberOrgIds(claims: JwtClaims): Promise<string[]>;
  /** The property as the member sees it, and whether the member may write properties of its organization. */
  propertyForMember(claims: JwtClaims, propertyId: string): Promise<(PropertyAddress & { writable: boolean }) | null>;
  /** The property, as the service role, if it belongs to the organization. */
  propertyForPlatform(claims: JwtClaims, propertyId: string, orgId: string): Promise<PropertyAddress | null>;
  /** Stores coordinates as the caller (RLS applies); null when the caller may not write it. */
  storeCoordinatesAsCaller(
    claims: JwtClaims,
    propertyId: string,
    result: GeocodeResult,
    { onlyIfMissing }: { onlyIfMissing: boolean },
  ): Promise<PropertyRow | null>;
  takeRateLimitToken(orgId: string): Promise<RateLimitDecision>;
  cachedResults(orgId: string, key: string): Promise<GeocodeResult[] | null>;
  storeResults(orgId: string, key: string, results: GeocodeResult[]): Promise<void>;
  mapboxToken(secretName: string): Promise<string | null>;
  /** Automatic geocoding: the property's address is unknown, so it is not asked for again. */
  recordAutoGeocodingFailure(propertyId: string, reason: string): Promise<void>;
}

const INSUFFICIENT_PRIVILEGE = "42501";

export function createGeocodeStore(databaseUrl: string): GeocodeStore {
  const sql = databasePool(databaseUrl, { applicationName: "mapbox-geocode" });

  const asCaller = <T>(claims: JwtClaims, work: (tx: postgres.TransactionSql) => Promise<T>) =>
    runAsCaller(sql, claims, work);

  return {
    async memberOrgIds(claims) {
      const rows = await asCaller(claims, (tx) => tx<{ org_id: string }[]>`select authz.member_org_ids() as org_id`);
      return rows.map((row) => row.org_id);
    },

    async propertyForMember(claims, propertyId) {
      const [row] = await asCaller(claims, (tx) =>
        tx<(PropertyAddress & { writable: boolean })[]>`
          select p.id, p.org_id, p.address1, p.city, p.region, p.postal_code, p.country, p.lat, p.lng,
                 authz.has_scope(p.org_id, 'properties:write') as writable
            from public.properties p
           where p.id = ${propertyId}`);
      return row ?? null;
    },

    async propertyForPlatform(claims, propertyId, orgId) {
      const [row] = await asCaller(claims, (tx) =>
        tx<PropertyAddress[]>`
          select p.id, p.org_id, p.address1, p.city, p.region, p.postal_code, p.country, p.lat, p.lng
            from public.properties p
           where p.id = ${propertyId}
             and p.org_id = ${orgId}`);
      return row ?? null;
    },

    async storeCoordinatesAsCaller(claims, propertyId, result, { onlyIfMissing }) {
      try {
        const [row] = await asCaller(claims, (tx) =>
          tx<PropertyRow[]>`
            update public.properties p
               set lat = ${result.lat}, lng = ${result.lng}, geocoded_at = now(), geocode_source = 'mapbox'
             where p.id = ${propertyId}
               and (not ${onlyIfMissing} or p.lat is null)
            returning p.*`);
        return row ?? null;
      } catch (error) {
        if (error instanceof postgres.PostgresError && error.code === INSUFFICIENT_PRIVILEGE) return null;
        throw error;
      }
    },

    async takeRateLimitToken(orgId) {
      const [row] = await sql<{ allowed: boolean; retry_after_seconds: number }[]>`
        select allowed, retry_after_seconds from geocoding.take_rate_limit_token(${orgId})`;
      return { allowed: row.allowed, retryAfterSeconds: row.retry_after_seconds };
    },

    async cachedResults(orgId, key) {
      const [row] = await sql<{ results: GeocodeResult[] | null }[]>`
        select geocoding.cached_results(${orgId}, ${key}) as results`;
      return row.results;
    },

    async storeResults(orgId, key, results) {
      await sql`select geocoding.store_results(${orgId}, ${key}, ${
        sql.json(results as unknown as postgres.JSONValue)
      })`;
    },

    async recordAutoGeocodingFailure(propertyId, reason) {
      await sql`select geocoding.record_auto_geocoding_failure(${propertyId}, ${reason})`;
    },

    async mapboxToken(secretName) {
      const [row] = await sql<{ token: string | null }[]>`select geocoding.mapbox_access_token(${secretName}) as token`;
      return row.token;
    },
  };
}

/** A property the caller may not see is, to them, one that does not exist. */
export function propertyNotFound(): HttpError {
  return new HttpError(404, "property_not_found", "No property with this id is visible to you.");
}
