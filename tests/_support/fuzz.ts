// Property-based fuzzing of every function route through the running stack's gateway (fast-check):
// requests built from every route of webhook-admin (and mapbox-geocode, webhook-dispatch) with
// every method, path parameters valid, random or with malformed percent-encoding, queries with
// unknown and repeated keys, bodies of any JSON (strings with NUL, lone surrogates, control and
// bidi characters), huge and deeply nested bodies, raw text that is not JSON, and wrong content
// types, sent mostly with credentials that pass the gateway so the functions themselves answer.
//
// The property: never a 5xx, and every error is JSON naming its code. Used with a fixed seed by
// tests/function_fuzz_test.ts and for long runs by scripts/fuzz.ts.
import fc from "npm:fast-check@4.10.2";
import type postgres from "npm:postgres@3.4.9";
import { ROUTES } from "../../supabase/functions/webhook-admin/api.ts";
import { createAdminFixture } from "./admin.ts";
import { stack } from "./stack.ts";
import { insertJob, registerEndpoint } from "./webhooks.ts";

export const FUZZED_FUNCTIONS = ["webhook-admin", "mapbox-geocode", "webhook-dispatch"] as const;
export type FuzzedFunction = (typeof FUZZED_FUNCTIONS)[number];

export interface FuzzRequest {
  fn: FuzzedFunction;
  method: string;
  /** Below /functions/v1/<fn>, with the query string, exactly as sent (may be malformed). */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface FuzzFigures {
  requests: number;
  byStatus: Record<string, number>;
  /** 4xx answers by their error.code (the gateway's own refusals as "gateway"). */
  byErrorCode: Record<string, number>;
  serverErrors: number;
  /** Requests whose answer broke the property, with why (the first ones). */
  failures: string[];
}

/** Everything the generators refer to: a tenant with resources of each kind, and its tokens. */
export interface FuzzWorld {
  orgId: string;
  endpointId: string;
  eventId: string;
  deliveryId: string;
  serviceAccountId: string;
  propertyId: string;
  ownerToken: string;
  memberToken: string;
  remove(): Promise<void>;
}

export async function createFuzzWorld(sql: postgres.Sql): Promise<FuzzWorld> {
  const fixture = await createAdminFixture(sql, "fuzz");
  const owner = { userId: fixture.owner.userId, orgId: fixture.orgId };
  const { endpointId } = await registerEndpoint(sql, owner, "http://127.0.0.1:9/fuzz");
  await insertJob(sql, owner, "Fuzzed");
  const [delivery] = await sql<{ id: string; event_id: string }[]>`
    select id, event_id from webhooks.deliveries where endpoint_id = ${endpointId}`;
  const [account] = await sql<{ account_id: string }[]>`
    select account_id from authz.create_service_account(${fixture.orgId}, 'fuzz', '{jobs:read}')`;
  const [property] = await sql<{ id: string }[]>`
    insert into public.properties (org_id, address1, city, country)
    values (${fixture.orgId}, '1402 Elm Street', 'Austin', 'US') returning id`;
  // Valid geocoding requests should reach the cache and the upstream, not stop at the rate limit.
  await sql`insert into geocoding.rate_limit_overrides (org_id, burst, per_minute)
            values (${fixture.orgId}, 1000000, 1000000)`;
  return {
    orgId: fixture.orgId,
    endpointId,
    eventId: delivery.event_id,
    deliveryId: delivery.id,
    serviceAccountId: account.account_id,
    propertyId: property.id,
    ownerToken: fixture.owner.token,
    memberToken: fixture.member.token,
    remove: async () => {
      // Service accounts fuzzing created are users of their own.
      await sql`delete from auth.users where id in (select id from authz.service_accounts where org_id = ${fixture.orgId})`;
      await fixture.remove();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** Characters that break naive handling, between runs of ordinary text. */
export const awkwardText = fc.array(
  fc.oneof(
    fc.constantFrom(
      "\u0000",
      "\u0007",
      "\u001b",
      "\u007f",
      "\ud800",
      "\udfff",
      "\u202e", // right-to-left override
      "\u2066", // left-to-right isolate
      "\u200f",
      "\ufeff",
      "\u2028",
      " ",
      "\n\t",
      "%",
      "%00",
      "\\",
      "'",
      '"',
      "é",
      "日本",
      "💥",
    ),
    fc.string({ maxLength: 6 }),
  ),
  { minLength: 1, maxLength: 12 },
).map((parts) => parts.join(""));

const anyString = fc.oneof(
  { arbitrary: awkwardText, weight: 3 },
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", " ", "\u0000", "\ud800", "not-an-id", "0", "-1", "1e400", "true", "null"),
);

/** A JSON value whose strings are awkward, nested a few levels. */
const anyJsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    anyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(anyString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** A value for a field: usually of a plausible kind, sometimes anything. */
function fieldValue(world: FuzzWorld): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(
      world.orgId,
      world.endpointId,
      world.eventId,
      Number(world.deliveryId),
      "http://127.0.0.1:9/fuzzed",
      "https://hooks.example.com/fuzzed",
      "https://169\u3002254\u3002169\u3002254/",
      "https://10.0.0.1\\.hooks.example.com/",
      "job.created",
      ["job.created"],
      ["jobs:read"],
      "2026-01-01T00:00:00Z",
      new Date(Date.now() - 3_600_000).toISOString(),
      "Disabled by the fuzzer",
    ),
    anyJsonValue,
  );
}

/** The fields a route's body or query knows, from its schema, plus one it does not. */
function knownFields(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> })?.shape;
  if (shape) return [...Object.keys(shape), "unexpected"];
  // A refined object keeps its shape one level down.
  const inner = (schema as { def?: { schema?: unknown; in?: unknown } })?.def;
  return inner?.schema || inner?.in ? knownFields(inner.schema ?? inner.in) : ["unexpected"];
}

/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) is written as the three
 * bytes of its code point (%ED%A0%80 for U+D800): not UTF-8, as a careless client would send it.
 */
function percentEncode(text: string): string {
  return [...text].map((part) => {
    if (part.isWellFormed()) return encodeURIComponent(part);
    const unit = part.charCodeAt(0);
    const bytes = [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)];
    return bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`).join("");
  }).join("");
}

/** Percent-encoding, sometimes broken: a truncated escape, an overlong or invalid UTF-8 sequence. */
const segment = (valid: string[]) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...valid).map(percentEncode), weight: 3 },
    anyString.map(percentEncode),
    fc.constantFrom("%", "%E0%A4%A", "%C0%80", "%FF", "%zz", "%00", "%ED%A0%80", "%F4%90%80%80", "..", "%2F", ""),
  );

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const CONTENT_TYPES = [
  "application/json",
  "application/json",
  "application/json",
  "application/json; charset=utf-8",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "application/vnd.api+json",
  "garbage",
];

/** A raw body: JSON of the route's fields, any JSON, huge, deeply nested, or not JSON at all. */
function body(world: FuzzWorld, fields: string[], hugeBytes: number): fc.Arbitrary<string | undefined> {
  const object = fc.dictionary(fc.constantFrom(...fields), fieldValue(world), { maxKeys: fields.length });
  return fc.oneof(
    { arbitrary: object.map((value) => JSON.stringify(value)), weight: 6 },
    { arbitrary: anyJsonValue.map((value) => JSON.stringify(value) ?? "null"), weight: 2 },
    fc.constant(undefined),
    fc.constant(""),
    anyString,
    // Duplicate keys: JSON.parse keeps the last.
    fc.tuple(fc.constantFrom(...fields), anyString, anyString).map(([key, first, second]) =>
      `{${JSON.stringify(key)}:${JSON.stringify(first)},${JSON.stringify(key)}:${JSON.stringify(second)}}`
    ),
    fc.integer({ min: 1_000, max: 200_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
    fc.integer({ min: 1_000, max: 200_000 }).map((depth) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth)),
    fc.tuple(fc.constantFrom(...fields), fc.integer({ min: hugeBytes / 4, max: hugeBytes })).map(([key, size]) =>
      JSON.stringify({ [key]: "x".repeat(size) })
    ),
    fc.integer({ min: hugeBytes / 4, max: hugeBytes }).map((size) => `{"${"k".repeat(size)}": 1}`),
  );
}

function headers(world: FuzzWorld, platform: boolean): fc.Arbitrary<Record<string, string>> {
  // The platform presents the secret key in `apikey`; everyone else the publishable key and a session.
  const apikey = fc.oneof(
    { arbitrary: fc.constant(platform ? stack.secretKey : stack.publishableKey), weight: 8 },
    fc.constantFrom(stack.publishableKey, "sb_secret_not-a-key", ""),
  );
  const token = fc.oneof(
    { arbitrary: fc.constant(platform ? null : world.ownerToken), weight: 8 },
    fc.constantFrom(world.memberToken, stack.publishableKey, "not-a-jwt", "", null),
  );
  const contentType = fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: null, freq: 5 });
  return fc.tuple(apikey, token, contentType).map(([key, bearer, type]) => {
    const result: Record<string, string> = { apikey: key };
    if (bearer !== null) result.authorization = `Bearer ${bearer}`;
    if (type !== null) result["content-type"] = type;
    return result;
  });
}

/** A query string: known keys with plausible or awkward values, unknown keys, repeated keys. */
function query(world: FuzzWorld, fields: string[]): fc.Arbitrary<string> {
  const pair = fc.tuple(
    fc.oneof({ arbitrary: fc.constantFrom(...fields), weight: 4 }, anyString.map(percentEncode)),
    fc.oneof(
      {
        arbitrary: fieldValue(world).map((value) =>
          percentEncode(typeof value === "string" ? value : JSON.stringify(value))
        ),
        weight: 3,
      },
      fc.constantFrom("%", "%E0%A4%A", "%C0%80", "%FF", "%00", "+", ""),
    ),
  ).map(([key, value]) => `${key}=${value}`);
  return fc.oneof(
    fc.constant(""),
    fc.array(pair, { maxLength: 6 }).map((pairs) => [`org_id=${world.orgId}`, ...pairs].join("&")),
    fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join("&")),
  );
}

function adminRequest(world: FuzzWorld, hugeBytes: number): fc.Arbitrary<FuzzRequest> {
  const validIds: Record<string, string[]> = {
    endpoint_id: [world.endpointId],
    event_id: [world.eventId],
    delivery_id: [world.deliveryId],
    service_account_id: [world.serviceAccountId],
  };
  const routes = ROUTES.map((route) => {
    const names = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
    const fields = [
      ...new Set([
        ...knownFields("body" in route ? route.body : undefined),
        ...knownFields(
          "query" in route ? route.query : undefined,
        ),
      ]),
    ];
    return fc.record({
      method: fc.oneof({ arbitrary: fc.constant(route.method as string), weight: 4 }, fc.constantFrom(...METHODS)),
      segments: fc.tuple(...names.map((name) => segment(validIds[name] ?? []))),
      trailing: fc.constantFrom("", "", "", "/", "/extra"),
      search: query(world, fields),
      headers: headers(world, false),
      body: body(world, fields, hugeBytes),
    }).map(({ method, segments, trailing, search, headers, body }) => {
      let index = 0;
      const path = route.path.replace(/\{\w+\}/g, () => segments[index++]) + trailing;
      return { fn: "webhook-admin" as const, method, path: search ? `${path}?${search}` : path, headers, body };
    });
  });
  return fc.oneof(...routes);
}

function singleRouteRequest(
  fn: "mapbox-geocode" | "webhook-dispatch",
  world: FuzzWorld,
  fields: string[],
  hugeBytes: number,
): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.oneof({ arbitrary: fc.constant("POST"), weight: 6 }, fc.constantFrom(...METHODS)),
    path: fc.oneof({ arbitrary: fc.constant(""), weight: 6 }, fc.constantFrom("/", "/x", "/%", "/%C0%80", "?a=1&a=2")),
    headers: headers(world, fn === "webhook-dispatch"),
    body: body(world, fields, hugeBytes),
  }).map((request) => ({ fn, ...request }));
}

/** Requests for one function. */
export function fuzzRequests(fn: FuzzedFunction, world: FuzzWorld, { hugeBytes = 262_144 } = {}) {
  switch (fn) {
    case "webhook-admin":
      return adminRequest(world, hugeBytes);
    case "mapbox-geocode":
      return singleRouteRequest(fn, world, [
        "address",
        "address1",
        "city",
        "region",
        "postal_code",
        "country",
        "proximity",
        "limit",
        "property_id",
        "org_id",
        "unexpected",
      ], hugeBytes);
    case "webhook-dispatch":
      return singleRouteRequest(fn, world, ["reason", "wait", "time_budget_ms", "unexpected"], hugeBytes);
  }
}

// ---------------------------------------------------------------------------------------------
// Sending and judging
// ---------------------------------------------------------------------------------------------

/** Why an answer breaks the property, or null when it keeps it. */
function judge(request: FuzzRequest, status: number, text: string): string | null {
  if (status >= 500) return `a ${status}`;
  if (status < 400) return null;
  let answer: { error?: { code?: unknown; message?: unknown }; msg?: unknown; message?: unknown };
  try {
    answer = JSON.parse(text);
  } catch {
    return `a ${status} whose body is not JSON`;
  }
  if (typeof answer.error?.code === "string" && typeof answer.error?.message === "string") return null;
  // The gateway refuses a missing or bad JWT before any function runs, in the platform's own shape.
  const gatewayRefusal = status === 401 && (typeof answer.msg === "string" || typeof answer.message === "string");
  return gatewayRefusal && !/Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./.test(`Bearer ${request.headers.authorization}`)
    ? null
    : `a ${status} without error.code and error.message`;
}

function errorCodeOf(text: string): string {
  try {
    const code = JSON.parse(text)?.error?.code;
    return typeof code === "string" ? code : "gateway";
  } catch {
    return "not JSON";
  }
}

async function send(request: FuzzRequest): Promise<{ status: number; text: string }> {
  const response = await fetch(`${stack.SUPABASE_URL}/functions/v1/${request.fn}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.method === "GET" ? undefined : request.body,
  });
  return { status: response.status, text: await response.text() };
}

function describe(request: FuzzRequest): string {
  const body = request.body === undefined ? "" : ` body ${JSON.stringify(request.body.slice(0, 300))}` +
    (request.body.length > 300 ? `… (${request.body.length} characters)` : "");
  return `${request.method} /functions/v1/${request.fn}${request.path.slice(0, 300)} ${
    JSON.stringify(request.headers["content-type"] ?? null)
  }${body}`;
}

/**
 * Sends `runs` generated requests to one function (a few at a time) and tallies the answers.
 * Deterministic for a seed: the same requests in the same order.
 */
export async function fuzzFunction(
  fn: FuzzedFunction,
  world: FuzzWorld,
  { runs, seed, concurrency = 4, hugeBytes }: { runs: number; seed: number; concurrency?: number; hugeBytes?: number },
): Promise<FuzzFigures> {
  const requests = fc.sample(fuzzRequests(fn, world, { hugeBytes }), { numRuns: runs, seed });
  const figures: FuzzFigures = { requests: 0, byStatus: {}, byErrorCode: {}, serverErrors: 0, failures: [] };
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++];
      const { status, text } = await send(request);
      figures.requests++;
      figures.byStatus[status] = (figures.byStatus[status] ?? 0) + 1;
      if (status >= 500) figures.serverErrors++;
      if (status >= 400 && status < 500) {
        const code = errorCodeOf(text);
        figures.byErrorCode[code] = (figures.byErrorCode[code] ?? 0) + 1;
      }
      const problem = judge(request, status, text);
      if (problem && figures.failures.length < 20) {
        figures.failures.push(`${problem} for ${describe(request)}: ${text.slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return figures;
}
