// Writes docs/openapi.json, the developer portal's OpenAPI 3.1 document, from the zod schemas the
// code validates with: every webhook-admin route as @hono/zod-openapi describes the function's own
// app (supabase/functions/webhook-admin/app.ts, from api.ts's ROUTES), mapbox-geocode's request
// and response schemas, webhook-dispatch's request, and one `webhooks` entry per event type of the
// catalog (supabase/functions/_shared/events.ts). Nothing is copied by hand: add a route or an
// event type and the document follows. `--check` exits non-zero when the committed file is stale
// (run by tests/developer_portal_test.ts). `npm run docs` renders it with Redocly.
import { z } from "npm:zod@4.6.7";
import { API_VERSION, EVENT_CATALOG, EVENT_TYPES, type EventType } from "../supabase/functions/_shared/events.ts";
import { OpenAPIHono } from "npm:@hono/zod-openapi@1.6.3";
import {
  type ErrorCase,
  errorResponses,
  GATEWAY_401,
  INTERNAL_ERROR,
  invalidInputsOf,
  invalidRequestExample,
} from "../supabase/functions/_shared/openapi.ts";
import { WEBHOOK_USER_AGENT } from "../supabase/functions/_shared/signing.ts";
import { ROUTES } from "../supabase/functions/webhook-admin/api.ts";
import { createAdminApp } from "../supabase/functions/webhook-admin/app.ts";
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

/**
 * The paths @hono/zod-openapi describes for an app's registered routes (prefixed), with the named
 * schemas they use added to the document's components.
 */
function describedPaths(
  components: Components,
  app: OpenAPIHono,
  prefix: string,
): Record<string, Record<string, Json>> {
  const document = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "CJH", version: API_VERSION } });
  for (const [id, schema] of Object.entries(document.components?.schemas ?? {})) components.add(id, schema as Json);
  return Object.fromEntries(
    Object.entries(document.paths ?? {}).map(([path, item]) => [`${prefix}${path}`, item as Record<string, Json>]),
  );
}

// ---------------------------------------------------------------------------------------------
// webhook-admin: its app's own description
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

/** The paths and named schemas @hono/zod-openapi derives from webhook-admin's routes. */
function adminOperations(components: Components): Record<string, Record<string, Json>> {
  const app = createAdminApp(() => Promise.reject(new Error("the document is generated without serving")));
  return describedPaths(components, app, "/webhook-admin");
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

/** mapbox-geocode's and webhook-dispatch's operations, described by the same converter as webhook-admin's. */
function functionOperations(components: Components): Record<string, Record<string, Json>> {
  const functions = new OpenAPIHono();
  functions.openAPIRegistry.registerPath({
    method: "post",
    path: "/mapbox-geocode",
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
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: MemberRequest,
            example: { address: "1402 Elm Street, Austin, TX 78702", country: "US" },
          },
        },
      },
    },
    responses: {
      200: {
        description: "The best match, every candidate, and the updated property when `property_id` was given",
        content: { "application/json": { schema: GeocodeResponse } },
      },
      ...errorResponses(GEOCODE_ERRORS, invalidRequestExample(invalidInputsOf({ body: MemberRequest }))),
    },
  });
  functions.openAPIRegistry.registerPath({
    method: "post",
    path: "/webhook-dispatch",
    operationId: "dispatchDeliveries",
    tags: ["Platform"],
    summary: "Deliver due webhook deliveries (platform only)",
    description: "**Platform only: not for integrators or tenants.** The database calls it after each " +
      "committing transaction that queued a delivery (pg_net) and every minute (pg_cron); an operator may " +
      "call it to drain and wait for the summary. The bearer token must be the project's service role key " +
      "(or secret key, or the dispatch secret from Vault); anything else is a 401. Listed here so the whole " +
      "surface of the project is documented.",
    security: [{ bearerAuth: [] }],
    request: { body: { required: false, content: { "application/json": { schema: DispatchRequest } } } },
    responses: {
      200: {
        description: "`wait: true` (the default): the drain's summary",
        content: { "application/json": { schema: DispatchSummary } },
      },
      202: {
        description: "`wait: false`: a drain runs in the background",
        content: { "application/json": { schema: DispatchAccepted } },
      },
      ...errorResponses([
        { status: 400, code: "invalid_json", when: "the body is not JSON" },
        {
          status: 400,
          code: "invalid_request",
          when: "the body is not valid, or holds text that cannot be stored (a NUL character, a lone surrogate)",
        },
        { status: 401, code: "unauthorized", when: "the bearer token is not a platform key" },
        INTERNAL_ERROR,
      ], invalidRequestExample(invalidInputsOf({ body: DispatchRequest }))),
    },
  });
  return describedPaths(components, functions, "");
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
        "- [Keeping a copy in sync](../sync.md): sequence numbers, per-resource order, the catch-up feed",
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
