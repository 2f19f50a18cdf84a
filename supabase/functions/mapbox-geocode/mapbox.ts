// Forward geocoding with the real @mapbox/mapbox-sdk (Geocoding API v5), against a configurable
// origin and with a timeout, and every way it can fail mapped to the function's documented errors.
// The token travels in the request URL (that is Mapbox's API): nothing from a failed request is
// logged except its status, Mapbox's message and our own context, each with the token redacted.
//
// The SDK builds, validates and describes the request (its geocoding service, MapiRequest,
// MapiResponse, MapiError); the transport is the runtime's fetch, plugged in where the SDK expects
// an environment's client (its Node client uses got, its browser client XMLHttpRequest). Measured
// with got 11 under Deno: aborting a request that went out on a reused keep-alive connection makes
// got send it a second time (the SDK passes `retries: 0`, got 9's option name, which got 11
// ignores), so a timed-out search would be paid for twice. fetch with an AbortSignal sends once,
// and it also gives the headers of an error response, such as Mapbox's rate-limit reset.
import MapiClient from "npm:@mapbox/mapbox-sdk@0.16.2/lib/classes/mapi-client.js";
import MapiError from "npm:@mapbox/mapbox-sdk@0.16.2/lib/classes/mapi-error.js";
import MapiResponse from "npm:@mapbox/mapbox-sdk@0.16.2/lib/classes/mapi-response.js";
import mbxGeocoding from "npm:@mapbox/mapbox-sdk@0.16.2/services/geocoding.js";
import { z } from "npm:zod@4.6.7";
import { HttpError } from "../_shared/http.ts";
import type { Search } from "./request.ts";

// Mapbox counts its rate limit per minute (X-Rate-Limit-Interval: 60) and says when the window
// resets (X-Rate-Limit-Reset, unix seconds); without that header a 429 is retried after a window.
const UPSTREAM_RATE_LIMIT_WINDOW_SECONDS = 60;

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
  id: number;
  method: string;
  headers: Record<string, string>;
  url(): string;
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
  headers?: Record<string, string>;
}

type MapiClientConstructor = new (options: { accessToken: string; origin: string }) => object;
type MapiErrorConstructor = new (options: Record<string, unknown>) => MapiErrorLike;
type MapiResponseConstructor = new (request: MapiRequest, data: Record<string, unknown>) => { body: unknown };

/** The SDK's client with fetch as its transport (see the top of this file). */
class FetchMapiClient extends (MapiClient as unknown as MapiClientConstructor) {
  #underway = new Map<number, AbortController>();

  async sendRequest(request: MapiRequest) {
    const controller = new AbortController();
    this.#underway.set(request.id, controller);
    try {
      const response = await fetch(request.url(), {
        method: request.method,
        headers: request.headers,
        redirect: "manual",
        signal: controller.signal,
      });
      const body = await response.text();
      const headers = Object.fromEntries(response.headers);
      if (response.status < 200 || response.status >= 400) {
        const error = new (MapiError as unknown as MapiErrorConstructor)({
          request,
          body,
          statusCode: response.status,
        });
        error.headers = headers;
        throw error;
      }
      return new (MapiResponse as unknown as MapiResponseConstructor)(request, {
        body,
        headers,
        statusCode: response.status,
      });
    } finally {
      this.#underway.delete(request.id);
    }
  }

  abortRequest(request: MapiRequest) {
    this.#underway.get(request.id)?.abort();
  }
}

function isMapiError(error: unknown): error is MapiErrorLike {
  return typeof error === "object" && error !== null && "type" in error && "statusCode" in error;
}

function upstreamRetryAfterSeconds(headers: Record<string, string> = {}): number {
  const reset = Number(headers["x-rate-limit-reset"]);
  const seconds = Number.isFinite(reset) ? Math.ceil(reset - Date.now() / 1000) : NaN;
  return seconds >= 1 && seconds <= UPSTREAM_RATE_LIMIT_WINDOW_SECONDS ? seconds : UPSTREAM_RATE_LIMIT_WINDOW_SECONDS;
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
    // One line of JSON per failure, so log search finds it by reason, organization or property.
    console.error(`mapbox-geocode: upstream ${reason} ${redact(JSON.stringify({ ...context, ...detail }), token)}`);
  };

  return {
    async forwardGeocode(token, search, context) {
      let service: GeocodingService;
      try {
        const client = new FetchMapiClient({ accessToken: token, origin });
        service = (mbxGeocoding as (client: object) => GeocodingService)(client);
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
              {
                "Retry-After": String(upstreamRetryAfterSeconds(error.headers)),
                "Access-Control-Expose-Headers": "Retry-After",
              },
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
