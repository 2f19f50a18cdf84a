// A local stand-in for the Mapbox Geocoding API v5, for the tests and the local stack: it answers
// `GET /geocoding/v5/mapbox.places/{query}.json?access_token=…` in Mapbox's response format (a
// GeoJSON FeatureCollection whose features carry center [lng, lat], place_name, relevance, …), and
// Mapbox's errors: 401 for a missing or unknown token, 429 with its rate-limit headers, 5xx. A query
// containing "nowhere" has no match; any other query matches a deterministic point. Every request is
// counted, so a test can tell that no upstream call was made.
//
// As a module: `startMapboxStandIn({ tokens })` in a test, switching `mode` between tests.
// As a program (the local stack's `mapbox-stand-in` service): CJH_MAPBOX_STAND_IN_PORT and
// CJH_MAPBOX_STAND_IN_TOKEN from the environment. Local only; never deployed.

export type StandInMode = "normal" | "rate_limited" | "server_error" | "slow";

export interface StandInRequest {
  /** The decoded search text, as Mapbox reads it from the path. */
  query: string;
  params: URLSearchParams;
  authorized: boolean;
}

export interface MapboxStandIn {
  origin: string;
  requests: StandInRequest[];
  /** How the next requests are answered; "normal" unless a test changes it. */
  mode: StandInMode;
  /** The access tokens this Mapbox account accepts; any other is a 401. */
  tokens: string[];
  /** Requests whose search text contains `text` (case-insensitive). */
  callsFor(text: string): number;
  close(): Promise<void>;
}

const PATH = /^\/geocoding\/v5\/(mapbox\.places(?:-permanent)?)\/([^/]+)\.json$/;
const RATE_LIMIT_PER_MINUTE = 600;
const SLOW_RESPONSE_MS = 60_000;
const ATTRIBUTION = "NOTICE: © 2026 Mapbox and its suppliers. All rights reserved. Use of this data is subject to " +
  "the Mapbox Terms of Service (https://www.mapbox.com/about/maps/). This response and the information it contains " +
  "may not be retained.";

/** A Mapbox-shaped token (`pk.<base64 JSON with the account>.<signature>`), which the SDK insists on parsing. */
export function standInToken(account = "cjh-local"): string {
  const payload = btoa(JSON.stringify({ u: account, a: "stand-in" })).replace(/=+$/, "");
  return `pk.${payload}.${account}-stand-in-signature`;
}

function mapboxError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ message }, { status, headers });
}

/** A stable 32-bit hash, so the same query always lands on the same point. */
function hash(text: string): number {
  let value = 2166136261;
  for (const byte of new TextEncoder().encode(text)) value = Math.imul(value ^ byte, 16777619) >>> 0;
  return value;
}

// The demo data's addresses (supabase/seed.sql) answer with their real coordinates.
const GAZETTEER: Record<string, [lng: number, lat: number]> = {
  "1402 elm street": [-97.727936, 30.262481],
  "88 riverside drive": [-97.748314, 30.252037],
  "2210 oak hollow lane": [-97.7108, 30.2297],
  "500 greenfield avenue": [-104.965012, 39.758451],
  "77 sunflower court": [-105.081507, 39.711002],
};

const titleCase = (text: string) => text.replace(/(^|\s)(\p{L})/gu, (_, space, letter) => space + letter.toUpperCase());

function featureCollection(query: string, params: URLSearchParams) {
  const words = query.toLowerCase().split(/[\s,]+/).filter(Boolean);
  if (words.some((word) => word.includes("nowhere"))) {
    return { type: "FeatureCollection", query: words, features: [], attribution: ATTRIBUTION };
  }
  const country = (params.get("country") ?? "us").split(",")[0].toLowerCase();
  const limit = Math.min(Number(params.get("limit") ?? 5) || 5, 10);
  const [street, place = "Springfield"] = query.split(",").map((part) => titleCase(part.trim()));
  const seed = hash(words.join(" "));
  const known = GAZETTEER[street.toLowerCase()];
  const features = Array.from({ length: Math.min(limit, 3) }, (_, index) => {
    const baseLng = known?.[0] ?? (((seed >>> 8) % 340_000) / 1000) - 170;
    const baseLat = known?.[1] ?? ((seed % 140_000) / 1000) - 70;
    const lng = Number((baseLng + index * 0.01).toFixed(6));
    const lat = Number((baseLat + index * 0.01).toFixed(6));
    return {
      id: `address.${seed + index}`,
      type: "Feature",
      place_type: ["address"],
      relevance: Number((1 - index * 0.12).toFixed(2)),
      properties: { accuracy: "rooftop", mapbox_id: `dXJuOm1ieGFkcjo${seed + index}` },
      text: street,
      place_name: `${street}${index === 0 ? "" : ` ${index + 1}`}, ${place}, ${country.toUpperCase()}`,
      center: [lng, lat],
      geometry: { type: "Point", coordinates: [lng, lat] },
      context: [
        { id: `place.${seed}`, mapbox_id: `dXJuOm1ieHBsYzo${seed}`, text: place },
        { id: `country.${seed}`, mapbox_id: "dXJuOm1ieHBsYzpJdXc", short_code: country, text: country.toUpperCase() },
      ],
    };
  });
  return { type: "FeatureCollection", query: words, features, attribution: ATTRIBUTION };
}

export function startMapboxStandIn(
  { tokens, port = 0 }: { tokens: readonly string[]; port?: number },
): MapboxStandIn {
  const requests: StandInRequest[] = [];
  const pendingSlow = new Set<() => void>();
  const standIn: MapboxStandIn = {
    origin: "",
    requests,
    mode: "normal",
    tokens: [...tokens],
    callsFor: (text) => requests.filter((request) => request.query.toLowerCase().includes(text.toLowerCase())).length,
    close: async () => {
      for (const finish of pendingSlow) finish();
      await server.shutdown();
    },
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    const match = url.pathname.match(PATH);
    if (request.method !== "GET" || !match) return mapboxError(404, "Not Found");
    const token = url.searchParams.get("access_token");
    const authorized = token !== null && standIn.tokens.includes(token);
    const params = new URLSearchParams(url.searchParams);
    params.delete("access_token");
    let query: string;
    try {
      query = decodeURIComponent(match[2]);
    } catch {
      return mapboxError(422, "Invalid query");
    }
    requests.push({ query, params, authorized });

    if (token === null) return mapboxError(401, "Not Authorized - No Token");
    if (!authorized) return mapboxError(401, "Not Authorized - Invalid Token");
    switch (standIn.mode) {
      case "rate_limited":
        return mapboxError(429, "Too Many Requests", {
          "X-Rate-Limit-Interval": "60",
          "X-Rate-Limit-Limit": String(RATE_LIMIT_PER_MINUTE),
          "X-Rate-Limit-Reset": String(Math.ceil(Date.now() / 1000) + 60),
        });
      case "server_error":
        return mapboxError(503, "Service Unavailable");
      case "slow":
        // Answers a minute later (or when the stand-in closes), long after any caller gave up.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, SLOW_RESPONSE_MS);
          pendingSlow.add(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        break;
    }
    return Response.json(featureCollection(query, params), {
      headers: {
        "X-Rate-Limit-Interval": "60",
        "X-Rate-Limit-Limit": String(RATE_LIMIT_PER_MINUTE),
        "Cache-Control": "max-age=604800",
      },
    });
  });
  standIn.origin = `http://127.0.0.1:${server.addr.port}`;
  return standIn;
}

if (import.meta.main) {
  const port = Number(Deno.env.get("CJH_MAPBOX_STAND_IN_PORT"));
  const token = Deno.env.get("CJH_MAPBOX_STAND_IN_TOKEN");
  if (!Number.isInteger(port) || !token) {
    throw new Error("CJH_MAPBOX_STAND_IN_PORT and CJH_MAPBOX_STAND_IN_TOKEN must be set (scripts/stack.mjs sets them)");
  }
  const standIn = startMapboxStandIn({ tokens: [token], port });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => void standIn.close().finally(() => Deno.exit(0)));
  }
  console.log(`mapbox stand-in ready on ${standIn.origin}`);
}
