// Forward geocoding with the real @mapbox/mapbox-sdk (Geocoding API v5), against a configurable
// origin and with a timeout, and every way it can fail mapped to the function's documented errors.
// The token travels in the request URL (that is Mapbox's API): nothing from a failed request is
// logged except its status, Mapbox's message and our own context, each with the token redacted.
import mbxGeocoding from "npm:@mapbox/mapbox-sdk@0.16.2/services/geocoding.js";
import { z } from "npm:zod@4.6.7";
import { HttpError } from "../_shared/http.ts";
import type { Search } from "./request.ts";

// Mapbox counts its rate limit per minute (X-Rate-Limit-Interval: 60); the SDK does not pass the
// headers of an error response on, so a 429 is retried after the whole interval.
export const UPSTREAM_RETRY_AFTER_SECONDS = 60;

export interface GeocodeResult {
  lat: number;
  lng: number;
  formatted_address: string;
  relevance: number;
}

export interface Geocoder {
  forwardGeocode(token: string, search: Search, context: Record<string, unknown>): Promise<GeocodeResult[]>;
}

// Only what the function uses from Mapbox's FeatureCollection; anything else is ignored.
const FeatureCollection = z.object({
  type: z.literal("FeatureCollection"),
  features: z.array(z.object({
    center: z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]),
    place_name: z.string(),
    relevance: z.number(),
  })),
});

interface MapiRequest {
  send(): Promise<{ body: unknown }>;
  abort(): void;
}

interface GeocodingService {
  forwardGeocode(config: Record<string, unknown>): MapiRequest;
}

interface MapiErrorLike {
  type: string;
  statusCode: number | null;
  message: string | null;
}

function isMapiError(error: unknown): error is MapiErrorLike {
  return typeof error === "object" && error !== null && "type" in error && "statusCode" in error;
}

function redact(text: string, token: string): string {
  return token === "" ? text : text.replaceAll(token, "[redacted]");
}

function unavailable(reason: string): HttpError {
  return new HttpError(502, "geocoding_unavailable", "The geocoding service is unavailable; try again later.", {
    reason,
  });
}

export function createMapboxGeocoder({ origin, timeoutMs }: { origin: string; timeoutMs: number }): Geocoder {
  const log = (reason: string, token: string, context: Record<string, unknown>, detail: Record<string, unknown>) => {
    const safe = JSON.parse(redact(JSON.stringify({ ...context, ...detail }), token));
    console.error(`mapbox-geocode: upstream ${reason}`, safe);
  };

  return {
    async forwardGeocode(token, search, context) {
      let service: GeocodingService;
      try {
        service = (mbxGeocoding as (options: { accessToken: string; origin: string }) => GeocodingService)({
          accessToken: token,
          origin,
        });
      } catch {
        // The SDK parses the token before any request: this one is not a Mapbox token at all.
        log("token_rejected", token, context, { detail: "the Vault secret is not a Mapbox access token" });
        throw unavailable("token_rejected");
      }

      const request = service.forwardGeocode({
        query: search.query,
        mode: "mapbox.places",
        // Complete addresses, not prefixes typed so far.
        autocomplete: false,
        limit: search.limit,
        ...(search.country ? { countries: [search.country.toLowerCase()] } : {}),
        ...(search.proximity ? { proximity: [search.proximity.lng, search.proximity.lat] } : {}),
      });
      const startedAt = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          request.abort();
          reject(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError"));
        }, timeoutMs);
      });

      let body: unknown;
      try {
        ({ body } = await Promise.race([request.send(), timeout]));
      } catch (error) {
        const elapsedMs = Math.round(performance.now() - startedAt);
        if (error instanceof DOMException && error.name === "TimeoutError") {
          log("timeout", token, context, { timeout_ms: timeoutMs });
          throw unavailable("timeout");
        }
        if (isMapiError(error) && error.type === "HttpError" && error.statusCode !== null) {
          const detail = { status: error.statusCode, message: error.message, elapsed_ms: elapsedMs };
          if (error.statusCode === 429) {
            log("rate_limited", token, context, detail);
            throw new HttpError(
              503,
              "geocoding_rate_limited",
              "The geocoding service is busy; try again later.",
              undefined,
              { "Retry-After": String(UPSTREAM_RETRY_AFTER_SECONDS), "Access-Control-Expose-Headers": "Retry-After" },
            );
          }
          if (error.statusCode === 401 || error.statusCode === 403) {
            log("token_rejected", token, context, detail);
            throw unavailable("token_rejected");
          }
          if (error.statusCode === 422) {
            // Mapbox refused the search text itself (e.g. too many words): the caller's input.
            throw new HttpError(400, "invalid_request", "The geocoding service cannot search for this address.", {
              formErrors: [],
              fieldErrors: { address: [redact(error.message ?? "not searchable", token)] },
            });
          }
          log("http_error", token, context, detail);
          throw unavailable("upstream_error");
        }
        const message = error instanceof Error ? error.message : String(error);
        const code = (error as { code?: unknown })?.code;
        log("network_error", token, context, { message, code, elapsed_ms: elapsedMs });
        throw unavailable("network_error");
      } finally {
        clearTimeout(timer);
      }

      const parsed = FeatureCollection.safeParse(body);
      if (!parsed.success) {
        log("invalid_response", token, context, { issues: parsed.error.issues.length });
        throw unavailable("invalid_response");
      }
      return parsed.data.features.map((feature) => ({
        lat: feature.center[1],
        lng: feature.center[0],
        formatted_address: feature.place_name,
        relevance: feature.relevance,
      }));
    },
  };
}
