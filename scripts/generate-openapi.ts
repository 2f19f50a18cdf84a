// Writes docs/openapi.json, the developer portal's OpenAPI 3.1 document, from the zod schemas the
// code validates with: every webhook-admin route of supabase/functions/webhook-admin/api.ts (ROUTES),
// mapbox-geocode's request and response schemas, webhook-dispatch's request, and one `webhooks` entry
// per event type of the catalog (supabase/functions/_shared/events.ts). Nothing is copied by hand:
// add a route or an event type and the document follows. `--check` exits non-zero when the committed
// file is stale (run by tests/developer_portal_test.ts). `npm run docs` renders it with Redocly.
import { z } from "npm:zod@4.6.7";
import { API_VERSION, EVENT_CATALOG, EVENT_TYPES, type EventType } from "../supabase/functions/_shared/events.ts";
import { WEBHOOK_USER_AGENT } from "../supabase/functions/_shared/signing.ts";
import { ErrorBody, ROUTES } from "../supabase/functions/webhook-admin/api.ts";
import { MemberRequest } from "../supabase/functions/mapbox-geocode/request.ts";
import { GeocodeResponse } from "../supabase/functions/mapbox-geocode/response.ts";
import { DispatchAccepted, DispatchRequest, DispatchSummary } from "../supabase/functions/webhook-dispatch/handler.ts";
import { REQUEST_TIMEOUT_MS } from "../supabase/functions/webhook-dispatch/sender.ts";

const ROOT = new URL("..", import.meta.url).pathname;
export const OPENAPI_PATH = "docs/openapi.json";

type Json = Record<string, unknown>;
type Io = "input" | "output";

// ---------------------------------------------------------------------------------------------
// zod → JSON Schema, with `.meta({ id })` schemas moved to components.schemas
// ---------------------------------------------------------------------------------------------

/** Collects the named schemas met while converting; one id always stands for one JSON Schema. */
class Components {
  readonly schemas: Record<string, Json> = {};

  add(id: string, schema: Json): void {
    const existing = this.schemas[id];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(schema)) {
      throw new Error(`schema id ${id} converts to two different JSON Schemas (input and output differ?)`);
    }
    this.schemas[id] = schema;
  }

  /**
   * The JSON Schema of a zod schema: requests with io "input" (defaults optional), responses with "output".
   * A schema with an id (also the root) becomes a $ref to components.schemas.
   */
  convert(schema: z.ZodType, io: Io): Json {
    const { $schema: _dialect, $defs, ...json } = z.toJSONSchema(schema, {
      io,
      target: "draft-2020-12",
      unrepresentable: "throw",
    }) as Json & { $defs?: Record<string, Json> };
    for (const [id, definition] of Object.entries($defs ?? {})) this.add(id, relocateRefs(definition) as Json);
    return relocateRefs(json) as Json;
  }
}

function relocateRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relocateRefs);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === "$ref" && typeof inner === "string"
        ? inner.replace(/^#\/\$defs\//, "#/components/schemas/")
        : relocateRefs(inner),
    ]),
  );
}

/** Each property of an object schema as an OpenAPI parameter, its description lifted to the parameter. */
function parametersOf(components: Components, schema: z.ZodType, location: "path" | "query" | "header"): Json[] {
  const json = components.convert(schema, "input");
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      required: location === "path" || required.has(name),
      ...(description !== undefined ? { description } : {}),
      schema: propertySchema,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

interface ErrorCase {
  status: number;
  code: string;
  when: string;
}

const GatewayError = z.object({ msg: z.string().describe("e.g. Invalid JWT") }).meta({ id: "GatewayError" });

const GATEWAY_401: ErrorCase = {
  status: 401,
  code: "",
  when: "the JWT is missing, expired or not signed by the project: the API gateway answers before the function " +
    'runs, with `{ "msg": … }` (GatewayError)',
};

/**
 * The `details` of an invalid_request answer: zod's flattened error (`z.flattenError`), which the
 * webhook-admin router, mapbox-geocode and webhook-dispatch all send.
 */
const ValidationErrorDetails = z.object({
  formErrors: z.array(z.string()).describe("Problems with the object as a whole, e.g. an unknown field"),
  fieldErrors: z.record(z.string(), z.array(z.string())).describe("Problems per field: its name → messages"),
}).meta({ id: "ValidationErrorDetails" });

/** A request the schemas refuse, to show a real invalid_request answer. */
interface InvalidInput {
  part: "path" | "query string" | "request body";
  schema: z.ZodType;
  value: unknown;
}

/** The first of the candidate inputs that its schema refuses, as the answer the function gives. */
function invalidRequestExample(candidates: InvalidInput[]): Json | undefined {
  for (const { part, schema, value } of candidates) {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      return {
        error: { code: "invalid_request", message: `The ${part} is not valid.`, details: z.flattenError(parsed.error) },
      };
    }
  }
  return undefined;
}

/**
 * Inputs likely to be refused, in the order the webhook-admin router parses a request (path, query,
 * body): ids that are not ids, an empty query, an empty body, a body with an unknown field.
 * tests/developer_portal_test.ts sends the same requests to the router and compares the answers.
 */
function invalidInputsOf(schemas: { params?: z.ZodObject; query?: z.ZodType; body?: z.ZodType }): InvalidInput[] {
  const { params, query, body } = schemas;
  return [
    ...(params
      ? [{
        part: "path" as const,
        schema: params,
        value: Object.fromEntries(Object.keys(params.shape).map((name) => [name, NOT_AN_ID])),
      }]
      : []),
    ...(query ? [{ part: "query string" as const, schema: query, value: {} }] : []),
    ...(body ? [{ part: "request body" as const, schema: body, value: {} }] : []),
    ...(body ? [{ part: "request body" as const, schema: body, value: { unknown_field: true } }] : []),
  ];
}

export const NOT_AN_ID = "not-an-id";

/**
 * Responses for a list of error cases, grouped by status; each lists its codes and restricts
 * `error.code`. A 400 with invalid_request says what `details` holds, with a real example when given.
 */
function errorResponses(
  components: Components,
  cases: readonly ErrorCase[],
  invalidExample?: Json,
): Record<string, Json> {
  const errorRef = components.convert(ErrorBody, "output");
  const byStatus = new Map<number, ErrorCase[]>();
  for (const item of cases) byStatus.set(item.status, [...(byStatus.get(item.status) ?? []), item]);
  const responses: Record<string, Json> = {};
  for (const [status, items] of [...byStatus].sort(([a], [b]) => a - b)) {
    const codes = [...new Set(items.map((item) => item.code).filter((code) => code !== ""))];
    const gateway = items.some((item) => item.code === "");
    const validation = codes.includes("invalid_request");
    const restricted = {
      allOf: [errorRef, {
        type: "object",
        properties: {
          error: {
            type: "object",
            // `message` is repeated because Redocly merges allOf branches property by property when
            // it checks examples, and would otherwise find it unevaluated.
            properties: {
              code: { enum: codes },
              message: { type: "string" },
              ...(validation ? { details: components.convert(ValidationErrorDetails, "output") } : {}),
            },
          },
        },
      }],
    };
    const schema = gateway ? { oneOf: [restricted, components.convert(GatewayError, "output")] } : restricted;
    const retryAfter = status === 429 || items.some((item) => item.code.endsWith("rate_limited"));
    const examples = validation && invalidExample
      ? {
        examples: {
          invalid_request: { summary: "A request the schemas refuse", value: invalidExample },
          ...(codes.includes("invalid_json")
            ? {
              invalid_json: {
                summary: "A body that is not JSON",
                value: { error: { code: "invalid_json", message: "The request body is not valid JSON." } },
              },
            }
            : {}),
        },
      }
      : {};
    responses[String(status)] = {
      description: items.map((item) => (item.code ? `\`${item.code}\`: ${item.when}` : item.when)).join("; "),
      ...(retryAfter ? { headers: { "Retry-After": RETRY_AFTER_HEADER } } : {}),
      content: { "application/json": { schema, ...examples } },
    };
  }
  return responses;
}

const RETRY_AFTER_HEADER = {
  description: "Seconds to wait before trying again",
  schema: { type: "integer", minimum: 1 },
};

const INTERNAL_ERROR: ErrorCase = {
  status: 500,
  code: "internal_error",
  when: "an unexpected failure (logged; the answer carries no internals)",
};

// ---------------------------------------------------------------------------------------------
// webhook-admin
// ---------------------------------------------------------------------------------------------

const TAG_DESCRIPTIONS: Record<(typeof ROUTES)[number]["tag"], string> = {
  "Endpoints": "Register, change, enable, disable and test the HTTPS endpoints an organization's events are sent " +
    "to, rotate their signing secrets and watch their health.",
  "Events": "The events an organization produced, with the exact payload receivers got.",
  "Deliveries": "One delivery per event and subscribed endpoint, with every attempt; resend one, or recover every " +
    "failed delivery of an endpoint in a time range.",
  "Service accounts": "API keys for integrations, with explicit scopes, exchanged for short-lived tokens.",
  "Audit log": "Who changed what, when: read-only.",
  "Catalog": "The event types and the service account scopes.",
};

const ADMIN_SECURITY = [{ bearerAuth: [], apikey: [] }];

function adminOperations(components: Components): Record<string, Record<string, Json>> {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    const r = route as (typeof ROUTES)[number] & {
      params?: z.ZodObject;
      query?: z.ZodType;
      body?: z.ZodType;
      description?: string;
    };
    const parameters = [
      ...(r.params ? parametersOf(components, r.params, "path") : []),
      ...(r.query ? parametersOf(components, r.query, "query") : []),
    ];
    const who = r.access === "admin"
      ? "**Access**: a signed-in owner or admin of the organization (their JWT as the bearer token)."
      : "**Access**: any project JWT as the bearer token (the anon key will do); the body carries the credential.";
    // A route without parameters, query or body has nothing to refuse (unknown query keys are ignored).
    const validated = r.params !== undefined || r.query !== undefined || r.body !== undefined;
    const errors: ErrorCase[] = [
      ...(validated
        ? [{
          status: 400,
          code: "invalid_request",
          when: "a path parameter, query parameter or body field is not valid (`details` names each)",
        }]
        : []),
      ...(r.body ? [{ status: 400, code: "invalid_json", when: "the body is not JSON" }] : []),
      GATEWAY_401,
      ...(r.access === "admin"
        ? [{
          status: 401,
          code: "unauthorized",
          when: "the bearer token is not a signed-in user's (e.g. the anon key)",
        }]
        : []),
      ...r.errors,
      INTERNAL_ERROR,
    ];
    const success: Json = { description: r.success.description };
    if ("schema" in r.success && r.success.schema) {
      success.content = { "application/json": { schema: components.convert(r.success.schema, "output") } };
    }
    const operation: Json = {
      operationId: r.operationId,
      tags: [r.tag],
      summary: r.summary,
      description: [r.description, who].filter(Boolean).join("\n\n"),
      security: ADMIN_SECURITY,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body
        ? {
          requestBody: {
            required: !r.body.safeParse({}).success,
            content: { "application/json": { schema: components.convert(r.body, "input") } },
          },
        }
        : {}),
      responses: {
        [String(r.success.status)]: success,
        ...errorResponses(components, errors, invalidRequestExample(invalidInputsOf(r))),
      },
    };
    const path = `/webhook-admin${r.path}`;
    paths[path] = { ...paths[path], [r.method.toLowerCase()]: operation };
  }
  return paths;
}

// ---------------------------------------------------------------------------------------------
// mapbox-geocode and webhook-dispatch
// ---------------------------------------------------------------------------------------------

// The errors of docs/geocoding.md ("Errors"), which tests/geocode_*_test.ts exercise.
const GEOCODE_ERRORS: ErrorCase[] = [
  { status: 400, code: "invalid_json", when: "the body is empty or not JSON" },
  { status: 400, code: "invalid_request", when: "the body breaks the rules (`details.fieldErrors` names each field)" },
  GATEWAY_401,
  { status: 401, code: "unauthorized", when: "no signed-in user (e.g. the anon key)" },
  { status: 403, code: "not_a_member", when: "the caller is in no organization, or not in the `org_id` given" },
  { status: 403, code: "forbidden", when: "the caller may read the property but not change it" },
  { status: 404, code: "property_not_found", when: "no property with that id is visible to the caller" },
  { status: 404, code: "no_match", when: "Mapbox found nothing for the address" },
  {
    status: 429,
    code: "rate_limited",
    when: "the organization's rate limit is spent; `Retry-After` (also `details.retry_after_seconds`) says when to " +
      "try again",
  },
  {
    status: 502,
    code: "geocoding_unavailable",
    when: "Mapbox rejected the token, failed, was unreachable, timed out or answered nonsense (`details.reason`)",
  },
  {
    status: 503,
    code: "geocoding_rate_limited",
    when: "Mapbox itself is rate limiting the project; `Retry-After` is when its window resets",
  },
  { status: 503, code: "geocoding_not_configured", when: "the Vault secret with the Mapbox token is missing" },
  INTERNAL_ERROR,
];

function functionOperations(components: Components): Record<string, Record<string, Json>> {
  return {
    "/mapbox-geocode": {
      post: {
        operationId: "geocodeAddress",
        tags: ["Geocoding"],
        summary: "Geocode an address, optionally storing the result on a property",
        description: "Forward geocoding with Mapbox for a signed-in member; the Mapbox token never leaves the " +
          "server. Give `address`, or the structured fields, or a `property_id` (its own address is geocoded). " +
          "With `property_id` the result is stored on the property **as the caller** (row-level security " +
          "decides). Results are cached per organization; each organization has a rate limit. Details: " +
          "[geocoding.md](../geocoding.md), limits: [rate-limits.md](../rate-limits.md).\n\n" +
          "**Access**: a signed-in member's JWT as the bearer token (the anon key alone is refused).",
        security: ADMIN_SECURITY,
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: components.convert(MemberRequest, "input"),
              example: { address: "1402 Elm Street, Austin, TX 78702", country: "US" },
            },
          },
        },
        responses: {
          "200": {
            description: "The best match, every candidate, and the updated property when `property_id` was given",
            content: { "application/json": { schema: components.convert(GeocodeResponse, "output") } },
          },
          ...errorResponses(
            components,
            GEOCODE_ERRORS,
            invalidRequestExample(invalidInputsOf({ body: MemberRequest })),
          ),
        },
      },
    },
    "/webhook-dispatch": {
      post: {
        operationId: "dispatchDeliveries",
        tags: ["Platform"],
        summary: "Deliver due webhook deliveries (platform only)",
        description: "**Platform only: not for integrators or tenants.** The database calls it after each " +
          "committing transaction that queued a delivery (pg_net) and every minute (pg_cron); an operator may " +
          "call it to drain and wait for the summary. The bearer token must be the project's service role key " +
          "(or secret key, or the dispatch secret from Vault); anything else is a 401. Listed here so the whole " +
          "surface of the project is documented.",
        security: [{ bearerAuth: [] }],
        requestBody: {
          required: false,
          content: { "application/json": { schema: components.convert(DispatchRequest, "input") } },
        },
        responses: {
          "200": {
            description: "`wait: true` (the default): the drain's summary",
            content: { "application/json": { schema: components.convert(DispatchSummary, "output") } },
          },
          "202": {
            description: "`wait: false`: a drain runs in the background",
            content: { "application/json": { schema: components.convert(DispatchAccepted, "output") } },
          },
          ...errorResponses(components, [
            { status: 400, code: "invalid_json", when: "the body is not JSON" },
            { status: 400, code: "invalid_request", when: "the body is not valid" },
            { status: 401, code: "unauthorized", when: "the bearer token is not a platform key" },
            INTERNAL_ERROR,
          ], invalidRequestExample(invalidInputsOf({ body: DispatchRequest }))),
        },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Outgoing webhooks (OpenAPI 3.1 `webhooks`)
// ---------------------------------------------------------------------------------------------

const DeliveryHeaders = z.object({
  "webhook-id": z.string().regex(/^evt_[0-9a-f]{32}$/).describe(
    "The event id (also the body's `id`); identical on every retry: your idempotency key",
  ),
  "webhook-timestamp": z.int().min(0).describe(
    "Unix seconds when this attempt was signed; reject values more than 5 minutes from your clock",
  ),
  "webhook-signature": z.string().regex(/^v1,[A-Za-z0-9+/]+=*( v1,[A-Za-z0-9+/]+=*)*$/).describe(
    "`v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` with the endpoint's secret; two, " +
      "space separated, for 24 h after a rotation. See security.md.",
  ),
  "X-Retry-Count": z.int().min(0).describe("0 on the first attempt, then 1, 2, … on retries"),
  "User-Agent": z.literal(WEBHOOK_USER_AGENT),
});

function pascal(type: string): string {
  return type.split(/[._]/).map((part) => part[0].toUpperCase() + part.slice(1)).join("");
}

function webhookOperations(components: Components): Record<string, Json> {
  const webhooks: Record<string, Json> = {};
  for (const type of EVENT_TYPES as EventType[]) {
    const { schema, description, sample } = EVENT_CATALOG[type];
    const id = `${pascal(type)}Event`;
    components.add(id, { ...relocateRefs(components.convert(schema, "output")) as Json, title: type, description });
    webhooks[type] = {
      post: {
        operationId: `on${pascal(type)}`,
        tags: ["Webhook events"],
        summary: `${type}: ${description}`,
        description: `CJH POSTs this to every enabled endpoint of the organization subscribed to \`${type}\` ` +
          "(or to every type). Verify the signature over the raw body before parsing it ([security.md](../security.md)); " +
          "answer 2xx within 15 s, then process. Fields: [events.md](../events.md#" + type.replace(".", "") + ").",
        security: [],
        parameters: parametersOf(components, DeliveryHeaders, "header"),
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: `#/components/schemas/${id}` }, example: sample } },
        },
        responses: {
          "2XX": {
            description: `Delivered: any 2xx within ${REQUEST_TIMEOUT_MS / 1000} s. The body is ignored ` +
              "(its first KiB is kept in the attempt log).",
          },
          "410": {
            description: "Gone: the endpoint is disabled at once and its queued deliveries are marked failed; an " +
              "admin re-enables it.",
          },
          "429": {
            description: "Too many requests: retried after `Retry-After` (seconds or an HTTP date; at least 1 s, at " +
              "most 1 h), otherwise on the usual schedule.",
            headers: { "Retry-After": { description: "Seconds or an HTTP date", schema: { type: "string" } } },
          },
          "503": {
            description: "Unavailable: retried after `Retry-After` (seconds or an HTTP date; at least 1 s, at most " +
              "1 h), otherwise on the usual schedule.",
            headers: { "Retry-After": { description: "Seconds or an HTTP date", schema: { type: "string" } } },
          },
          "default": {
            description: "Anything else (another status, a 3xx, a timeout, a refused connection) is a failed " +
              "attempt, retried with backoff until 24 h after the first attempt ([retries.md](../retries.md)).",
          },
        },
      },
    };
  }
  return webhooks;
}

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

export function buildOpenApi(): Json {
  const components = new Components();
  const paths = { ...adminOperations(components), ...functionOperations(components) };
  const webhooks = webhookOperations(components);
  const tags = [
    ...Object.entries(TAG_DESCRIPTIONS).map(([name, description]) => ({ name, description })),
    { name: "Geocoding", description: "Server-side forward geocoding (`mapbox-geocode`)." },
    {
      name: "Platform",
      description: "Functions only the platform calls (the database, pg_cron, operators); listed for completeness.",
    },
    {
      name: "Webhook events",
      description: "What CJH sends to your endpoints: one request per event and endpoint, signed. " +
        "Receiver contract: [webhooks.md](../webhooks.md).",
    },
  ];
  return {
    openapi: "3.1.0",
    info: {
      title: "CJH Integrations API",
      version: API_VERSION,
      description: [
        "The HTTP surface of CJH Integrations: the `webhook-admin` API (endpoints, events, deliveries, service " +
        "accounts, audit log), `mapbox-geocode`, and the signed webhooks CJH sends to your endpoints " +
        `(the \`webhooks\` section). \`info.version\` is the event payloads' \`api_version\` (${API_VERSION}).`,
        "",
        'Every function answers errors as `{ "error": { "code", "message", "details"? } }` and answers CORS ' +
        "preflight. Generated by `scripts/generate-openapi.ts` from the zod schemas the code validates with.",
        "",
        "Guides (links relative to `docs/site/index.html`):",
        "",
        "- [Portal home](../README.md): what is where",
        "- [Receiving webhooks](../webhooks.md): the receiver contract",
        "- [Event catalog](../events.md): every event type and its fields",
        "- [Security](../security.md): signatures, secrets, endpoint URL rules, admin and service account auth",
        "- [Retries](../retries.md): schedule, Retry-After, exhaustion, idempotency, resend and recover",
        "- [Rate limits](../rate-limits.md): every limit that exists and where it is set",
        "- [Geocoding](../geocoding.md)",
      ].join("\n"),
      license: { name: "Proprietary", identifier: "LicenseRef-CJH-Proprietary" },
    },
    servers: [
      { url: "http://127.0.0.1:54321/functions/v1", description: "The local stack (`npm start`)" },
      {
        url: "https://{project_ref}.supabase.co/functions/v1",
        description: "A hosted Supabase project",
        variables: { project_ref: { default: "your-project-ref", description: "The project's reference id" } },
      },
    ],
    tags,
    paths,
    webhooks,
    components: {
      schemas: Object.fromEntries(Object.entries(components.schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "`Authorization: Bearer <token>`. The admin API and mapbox-geocode: a signed-in user's " +
            "access token. The token exchange (`/webhook-admin/service-accounts/token`): the project's anon key. " +
            "webhook-dispatch: the service role key. The API gateway checks the JWT before the function runs.",
        },
        apikey: {
          type: "apiKey",
          in: "header",
          name: "apikey",
          description: "The project's anon (or publishable) key. supabase-js sends it with every request; with an " +
            "opaque `sb_publishable_…` key and no Authorization header the gateway derives the bearer token from it.",
        },
      },
    },
  };
}

export function renderOpenApi(): string {
  return JSON.stringify(buildOpenApi(), null, 2) + "\n";
}

if (import.meta.main) {
  const content = renderOpenApi();
  const file = `${ROOT}${OPENAPI_PATH}`;
  let current: string | null = null;
  try {
    current = await Deno.readTextFile(file);
  } catch { /* missing */ }
  if (Deno.args.includes("--check")) {
    if (current !== content) {
      console.error(`stale: ${OPENAPI_PATH}; run \`npm run docs\``);
      Deno.exit(1);
    }
  } else if (current !== content) {
    await Deno.writeTextFile(file, content);
  }
}
