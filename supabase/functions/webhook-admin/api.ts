// The webhook-admin API as data: every route with the zod schemas of its path parameters, query,
// body and responses. app.ts registers each with @hono/zod-openapi, which validates requests with
// these schemas (a 400 with field errors for anything else) and derives the OpenAPI document
// from the same registrations (scripts/generate-openapi.ts writes it to the developer portal), so
// the two cannot drift apart.
import { z } from "npm:zod@4.6.7";
import { EVENT_TYPES } from "../_shared/events.ts";
import { SERVICE_ACCOUNT_SCOPES } from "../_shared/service-accounts.ts";

export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 200;

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

const Timestamp = z.iso.datetime({ offset: true }).describe("ISO-8601 date and time");
const Uuid = z.guid();
const EventId = z.string().regex(/^evt_[0-9a-f]{32}$/, "must be an event id such as evt_0190…").describe(
  "Event id: evt_ and 32 hex digits, time-ordered",
);
const DeliveryId = z.coerce.number<string>().int().positive().max(Number.MAX_SAFE_INTEGER).describe("Delivery id");
const EventType = z.enum(EVENT_TYPES).describe("An event type from the catalog");
const SubscribableEventType = z.enum(EVENT_TYPES.filter((type) => type !== "webhook.test") as [string, ...string[]])
  .describe("An event type an endpoint can subscribe to");
const DeliveryStatus = z.enum(["pending", "sending", "succeeded", "failed", "exhausted"]);

const EndpointUrl = z.url({ protocol: /^https?$/, normalize: false })
  .max(2048, "must be at most 2048 characters")
  .describe("Where events are POSTed: https to a public address (checked again after DNS at every delivery)");
const Description = z.string().max(500, "must be at most 500 characters");

const Cursor = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, "must be a next_cursor value from a previous page")
  .describe("Opaque: the next_cursor of the previous page");
const Limit = z.coerce.number<string>().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT)
  .describe(`Page size, 1–${PAGE_SIZE_MAX}`);

const page = <Item extends z.ZodType>(item: Item) =>
  z.object({
    data: z.array(item),
    next_cursor: z.string().nullable().describe("Pass as `cursor` for the next (older) page; null on the last"),
  });

export const OrgQuery = z.strictObject({ org_id: Uuid.describe("The organization") });

// ---------------------------------------------------------------------------------------------
// Resources (what responses contain; never a secret unless the name says so)
// ---------------------------------------------------------------------------------------------

export const Endpoint = z.object({
  id: Uuid,
  org_id: Uuid,
  url: z.string(),
  description: z.string(),
  event_types: z.array(z.string()).describe("Subscribed types; empty means every type"),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  disabled_at: Timestamp.nullable(),
  failing_since: Timestamp.nullable().describe("Start of the current run of failed attempts"),
  previous_secret_expires_at: Timestamp.nullable().describe(
    "While set, the secrets replaced by rotations also sign; the last of them until this time",
  ),
  created_by: Uuid.nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
}).meta({ id: "Endpoint" });

export const SigningSecret = z.string().regex(/^whsec_[A-Za-z0-9+/]+=*$/)
  .describe("The endpoint's signing secret (whsec_ + base64). Shown only in this response: store it now.");

export const Event = z.object({
  id: EventId,
  org_id: Uuid,
  event_type: EventType,
  payload: z.record(z.string(), z.unknown()).describe("The exact JSON body receivers get"),
  created_at: Timestamp,
}).meta({ id: "Event" });

export const Delivery = z.object({
  id: z.number().int(),
  org_id: Uuid,
  event_id: EventId,
  event_type: EventType,
  endpoint_id: Uuid,
  status: DeliveryStatus,
  attempt_count: z.number().int(),
  next_attempt_at: Timestamp.nullable().describe("When the next attempt is due (pending only)"),
  first_attempt_at: Timestamp.nullable(),
  last_attempt_at: Timestamp.nullable(),
  last_response_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: Timestamp,
  completed_at: Timestamp.nullable(),
}).meta({ id: "Delivery" });

export const Attempt = z.object({
  id: z.number().int(),
  retry_count: z.number().int().describe("The X-Retry-Count header sent: 0 for the first attempt"),
  started_at: Timestamp,
  duration_ms: z.number().int(),
  response_status: z.number().int().nullable(),
  response_excerpt: z.string().nullable().describe("The first KiB of the response body"),
  error: z.string().nullable(),
  succeeded: z.boolean(),
  payload_sha256: z.string(),
}).meta({ id: "Attempt" });

export const EndpointHealth = z.object({
  endpoint_id: Uuid,
  enabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  failing_since: Timestamp.nullable(),
  attempts_24h: z.number().int(),
  success_rate_24h: z.number().nullable().describe("Share of the last 24 h's attempts that succeeded, 0–1"),
  latency_p50_ms_24h: z.number().nullable(),
  latency_p95_ms_24h: z.number().nullable(),
  latency_p99_ms_24h: z.number().nullable(),
  backlog: z.number().int().describe("Deliveries pending or being sent"),
  backlog_oldest_at: Timestamp.nullable(),
  last_failure_at: Timestamp.nullable(),
  last_error: z.string().nullable(),
  last_attempt_at: Timestamp.nullable(),
  wake_up_problem: z.string().nullable().describe(
    "Why deliveries are not being started at all, for every endpoint of the project (wake-ups not configured or " +
      "not leaving the database, or the dispatcher not draining); null when they are",
  ),
  wake_up_fix: z.string().nullable().describe("What the project's operator must do about wake_up_problem"),
}).meta({ id: "EndpointHealth" });

export const ServiceAccountScope = z.enum(SERVICE_ACCOUNT_SCOPES);

export const ServiceAccount = z.object({
  id: Uuid.describe("Also the user id the account acts as (auth.uid())"),
  org_id: Uuid,
  name: z.string(),
  scopes: z.array(ServiceAccountScope),
  key_prefix: z.string().describe("The first characters of the API key, to recognise it"),
  created_by: Uuid.nullable(),
  created_at: Timestamp,
  last_used_at: Timestamp.nullable().describe("When the key was last exchanged for a token"),
  revoked_at: Timestamp.nullable(),
}).meta({ id: "ServiceAccount" });

export const AuditEntry = z.object({
  id: z.number().int(),
  org_id: Uuid,
  occurred_at: Timestamp,
  actor_id: Uuid.nullable().describe("The user or service account; null for the platform or the system"),
  actor_kind: z.enum(["user", "platform", "system"]),
  action: z.string().describe("e.g. endpoint.created, endpoint.secret_rotated, delivery.resent"),
  target_type: z.string(),
  target_id: z.string(),
  details: z.record(z.string(), z.unknown()),
}).meta({ id: "AuditEntry" });

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe("Stable, machine-readable"),
    message: z.string().describe("For people"),
    details: z.unknown().optional().describe("For invalid_request: { formErrors, fieldErrors }"),
  }),
}).meta({ id: "Error" });

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export const CreateEndpointBody = z.strictObject({
  org_id: Uuid,
  url: EndpointUrl,
  description: Description.default(""),
  event_types: z.array(SubscribableEventType).max(50).default([]).describe(
    "Empty (the default) subscribes to every type",
  ),
});

export const UpdateEndpointBody = z.strictObject({
  url: EndpointUrl.optional(),
  description: Description.optional(),
  event_types: z.array(SubscribableEventType).max(50).optional(),
}).refine((body) => Object.keys(body).length > 0, "give at least one of url, description, event_types");

export const DisableEndpointBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).default("Disabled by an admin."),
});

export const RecoverBody = z.strictObject({
  since: Timestamp.describe("Recover failed and exhausted deliveries created at or after this time"),
  until: Timestamp.optional().describe("… and before this time (default: now)"),
});

const TimeRange = {
  since: Timestamp.optional().describe("Created at or after"),
  until: Timestamp.optional().describe("Created before"),
};

export const EventsQuery = z.strictObject({
  org_id: Uuid,
  event_type: EventType.optional(),
  ...TimeRange,
  cursor: Cursor.optional(),
  limit: Limit,
});

export const DeliveriesQuery = z.strictObject({
  org_id: Uuid,
  status: DeliveryStatus.optional(),
  endpoint_id: Uuid.optional(),
  event_type: EventType.optional(),
  ...TimeRange,
  cursor: Cursor.optional(),
  limit: Limit,
});

export const AuditQuery = z.strictObject({
  org_id: Uuid,
  action: z.string().regex(/^[a-z_]+\.[a-z_]+$/).optional(),
  ...TimeRange,
  cursor: Cursor.optional(),
  limit: Limit,
});

export const CreateServiceAccountBody = z.strictObject({
  org_id: Uuid,
  name: z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters"),
  scopes: z.array(ServiceAccountScope).min(1, "give at least one scope"),
});

export const TokenBody = z.strictObject({
  api_key: z.string().min(1).max(200).describe("The service account's API key (cjh_sk_…)"),
});

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export type Access =
  /** A signed-in owner or admin of the organization the route acts on. */
  | "admin"
  /** Any valid project JWT (the anon key will do): the body carries the credential. */
  | "api_key";

export type ErrorCode =
  | "invalid_json"
  | "invalid_request"
  | "unsupported_media_type"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "invalid_api_key"
  | "service_unavailable";

export interface Route {
  operationId: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** OpenAPI-style path below /functions/v1/webhook-admin, e.g. "/endpoints/{endpoint_id}". */
  path: string;
  tag: "Endpoints" | "Events" | "Deliveries" | "Service accounts" | "Audit log" | "Catalog";
  summary: string;
  description?: string;
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The success response: status, description, body schema (none for 204). */
  success: { status: 200 | 201 | 202 | 204; description: string; schema?: z.ZodType };
  /** Errors this route can answer besides 400/401/415 (every route that has them) and 500. */
  errors: ReadonlyArray<{ status: 401 | 403 | 404 | 409 | 503; code: ErrorCode; when: string }>;
}

const EndpointParams = z.strictObject({ endpoint_id: Uuid });
const EventParams = z.strictObject({ event_id: EventId });
const DeliveryParams = z.strictObject({ delivery_id: DeliveryId });
const ServiceAccountParams = z.strictObject({ service_account_id: Uuid });

const NOT_ADMIN = {
  status: 403,
  code: "forbidden",
  when: "the caller is not an owner or admin of the organization",
} as const;
const NO_ENDPOINT = { status: 404, code: "not_found", when: "no such endpoint" } as const;
const NO_DELIVERY = { status: 404, code: "not_found", when: "no such delivery" } as const;

export const ROUTES = [
  // Catalog -----------------------------------------------------------------------------------
  {
    operationId: "listEventTypes",
    method: "GET",
    path: "/event-types",
    tag: "Catalog",
    summary: "List the event types with their JSON Schemas and samples",
    access: "admin",
    success: {
      status: 200,
      description: "The event catalog",
      schema: z.object({
        data: z.array(z.object({
          type: EventType,
          description: z.string(),
          schema: z.record(z.string(), z.unknown()).describe("JSON Schema (draft 2020-12) of the payload"),
          sample: z.record(z.string(), z.unknown()),
        })),
      }),
    },
    errors: [],
  },
  {
    operationId: "listScopes",
    method: "GET",
    path: "/scopes",
    tag: "Catalog",
    summary: "List the scopes a service account can hold",
    access: "admin",
    success: {
      status: 200,
      description: "The scope catalog",
      schema: z.object({ data: z.array(z.object({ scope: ServiceAccountScope, description: z.string() })) }),
    },
    errors: [],
  },
  // Endpoints ---------------------------------------------------------------------------------
  {
    operationId: "listEndpoints",
    method: "GET",
    path: "/endpoints",
    tag: "Endpoints",
    summary: "List an organization's endpoints",
    access: "admin",
    query: OrgQuery,
    success: { status: 200, description: "The endpoints, newest first", schema: z.object({ data: z.array(Endpoint) }) },
    errors: [NOT_ADMIN],
  },
  {
    operationId: "createEndpoint",
    method: "POST",
    path: "/endpoints",
    tag: "Endpoints",
    summary: "Register an endpoint",
    description: "The answer carries the endpoint's signing secret. It is shown only here.",
    access: "admin",
    body: CreateEndpointBody,
    success: {
      status: 201,
      description: "The endpoint and its signing secret",
      schema: z.object({ endpoint: Endpoint, signing_secret: SigningSecret }),
    },
    errors: [NOT_ADMIN],
  },
  {
    operationId: "getEndpoint",
    method: "GET",
    path: "/endpoints/{endpoint_id}",
    tag: "Endpoints",
    summary: "Get an endpoint",
    access: "admin",
    params: EndpointParams,
    success: { status: 200, description: "The endpoint", schema: z.object({ endpoint: Endpoint }) },
    errors: [NOT_ADMIN, NO_ENDPOINT],
  },
  {
    operationId: "updateEndpoint",
    method: "PATCH",
    path: "/endpoints/{endpoint_id}",
    tag: "Endpoints",
    summary: "Change an endpoint's URL, description or event types",
    access: "admin",
    params: EndpointParams,
    body: UpdateEndpointBody,
    success: { status: 200, description: "The endpoint after the change", schema: z.object({ endpoint: Endpoint }) },
    errors: [NOT_ADMIN, NO_ENDPOINT],
  },
  {
    operationId: "deleteEndpoint",
    method: "DELETE",
    path: "/endpoints/{endpoint_id}",
    tag: "Endpoints",
    summary: "Delete an endpoint, its secrets and its delivery history",
    access: "admin",
    params: EndpointParams,
    success: { status: 204, description: "Deleted" },
    errors: [NOT_ADMIN, NO_ENDPOINT],
  },
  {
    operationId: "enableEndpoint",
    method: "POST",
    path: "/endpoints/{endpoint_id}/enable",
    tag: "Endpoints",
    summary: "Enable an endpoint",
    description: "Clears the disabled reason and the failure streak. Deliveries failed while it was disabled " +
      "stay failed: recover them with the recover route.",
    access: "admin",
    params: EndpointParams,
    success: { status: 200, description: "The endpoint", schema: z.object({ endpoint: Endpoint }) },
    errors: [NOT_ADMIN, NO_ENDPOINT],
  },
  {
    operationId: "disableEndpoint",
    method: "POST",
    path: "/endpoints/{endpoint_id}/disable",
    tag: "Endpoints",
    summary: "Disable an endpoint",
    description: "Its pending deliveries are marked failed; new events are not queued for it until it is enabled.",
    access: "admin",
    params: EndpointParams,
    body: DisableEndpointBody,
    success: { status: 200, description: "The endpoint", schema: z.object({ endpoint: Endpoint }) },
    errors: [NOT_ADMIN, NO_ENDPOINT],
  },
  {
    operationId: "rotateEndpointSecret",
    method: "POST",
    path: "/endpoints/{endpoint_id}/rotate-secret",
    tag: "Endpoints",
    summary: "Rotate an endpoint's signing secret",
    description: "The new secret is shown only here. Every secret it replaces keeps signing alongside it (one " +
      "signature each in webhook-signature) for 24 h after its own replacement, however many rotations happen " +
      "meanwhile; previous_secret_expires_at is when the last of them stops. At most ten secrets sign at once.",
    access: "admin",
    params: EndpointParams,
    success: {
      status: 200,
      description: "The new signing secret",
      schema: z.object({ endpoint: Endpoint, signing_secret: SigningSecret }),
    },
    errors: [NOT_ADMIN, NO_ENDPOINT, {
      status: 409,
      code: "conflict",
      when: "ten secrets sign already: the answer says when the oldest replaced one stops",
    }],
  },
  {
    operationId: "sendTestEvent",
    method: "POST",
    path: "/endpoints/{endpoint_id}/test",
    tag: "Endpoints",
    summary: "Send a webhook.test event to the endpoint",
    access: "admin",
    params: EndpointParams,
    success: {
      status: 202,
      description: "Queued",
      schema: z.object({ event_id: EventId, delivery_id: z.number().int() }),
    },
    errors: [NOT_ADMIN, NO_ENDPOINT, { status: 409, code: "conflict", when: "the endpoint is disabled" }],
  },
  {
    operationId: "getEndpointHealth",
    method: "GET",
    path: "/endpoints/{endpoint_id}/health",
    tag: "Endpoints",
    summary: "Success rate, latency percentiles, backlog and last error of the last 24 h",
    access: "admin",
    params: EndpointParams,
    success: { status: 200, description: "The endpoint's health", schema: z.object({ health: EndpointHealth }) },
    errors: [NOT_ADMIN, NO_ENDPOINT],
  },
  {
    operationId: "recoverEndpointDeliveries",
    method: "POST",
    path: "/endpoints/{endpoint_id}/recover",
    tag: "Deliveries",
    summary: "Queue again every failed or exhausted delivery of the endpoint in a time range",
    description: "Idempotent: a delivery already queued again is not queued twice, so calling this twice " +
      "sends each event once. Receivers get the same webhook-id as before.",
    access: "admin",
    params: EndpointParams,
    body: RecoverBody,
    success: {
      status: 202,
      description: "How many deliveries were queued again",
      schema: z.object({ recovered: z.number().int() }),
    },
    errors: [NOT_ADMIN, NO_ENDPOINT, { status: 409, code: "conflict", when: "the endpoint is disabled" }],
  },
  // Events ------------------------------------------------------------------------------------
  {
    operationId: "listEvents",
    method: "GET",
    path: "/events",
    tag: "Events",
    summary: "List an organization's events, newest first",
    access: "admin",
    query: EventsQuery,
    success: { status: 200, description: "A page of events", schema: page(Event) },
    errors: [NOT_ADMIN],
  },
  {
    operationId: "getEvent",
    method: "GET",
    path: "/events/{event_id}",
    tag: "Events",
    summary: "Get an event with its deliveries",
    access: "admin",
    params: EventParams,
    success: {
      status: 200,
      description: "The event",
      schema: z.object({ event: Event, deliveries: z.array(Delivery) }),
    },
    errors: [NOT_ADMIN, { status: 404, code: "not_found", when: "no such event" }],
  },
  // Deliveries --------------------------------------------------------------------------------
  {
    operationId: "listDeliveries",
    method: "GET",
    path: "/deliveries",
    tag: "Deliveries",
    summary: "List an organization's deliveries, newest first",
    access: "admin",
    query: DeliveriesQuery,
    success: { status: 200, description: "A page of deliveries", schema: page(Delivery) },
    errors: [NOT_ADMIN],
  },
  {
    operationId: "getDelivery",
    method: "GET",
    path: "/deliveries/{delivery_id}",
    tag: "Deliveries",
    summary: "Get a delivery with every attempt",
    access: "admin",
    params: DeliveryParams,
    success: {
      status: 200,
      description: "The delivery, its event and its attempts (oldest first)",
      schema: z.object({ delivery: Delivery, event: Event, attempts: z.array(Attempt) }),
    },
    errors: [NOT_ADMIN, NO_DELIVERY],
  },
  {
    operationId: "resendDelivery",
    method: "POST",
    path: "/deliveries/{delivery_id}/resend",
    tag: "Deliveries",
    summary: "Send a delivery again now",
    description: "Whatever its status; the receiver gets the same webhook-id and body. A delivery already " +
      "pending is moved to now.",
    access: "admin",
    params: DeliveryParams,
    success: { status: 202, description: "Queued", schema: z.object({ delivery: Delivery }) },
    errors: [NOT_ADMIN, NO_DELIVERY, {
      status: 409,
      code: "conflict",
      when: "the delivery is being sent right now, or its endpoint is disabled",
    }],
  },
  // Service accounts --------------------------------------------------------------------------
  {
    operationId: "listServiceAccounts",
    method: "GET",
    path: "/service-accounts",
    tag: "Service accounts",
    summary: "List an organization's service accounts, revoked ones included",
    access: "admin",
    query: OrgQuery,
    success: { status: 200, description: "The accounts", schema: z.object({ data: z.array(ServiceAccount) }) },
    errors: [NOT_ADMIN],
  },
  {
    operationId: "createServiceAccount",
    method: "POST",
    path: "/service-accounts",
    tag: "Service accounts",
    summary: "Create a service account with explicit scopes",
    description: "The answer carries the account's API key. It is shown only here and stored only as a hash.",
    access: "admin",
    body: CreateServiceAccountBody,
    success: {
      status: 201,
      description: "The account and its API key",
      schema: z.object({
        service_account: ServiceAccount,
        api_key: z.string().describe("cjh_sk_…: exchange it for a token at /service-accounts/token"),
      }),
    },
    errors: [NOT_ADMIN],
  },
  {
    operationId: "revokeServiceAccount",
    method: "DELETE",
    path: "/service-accounts/{service_account_id}",
    tag: "Service accounts",
    summary: "Revoke a service account",
    description: "Its key stops working, and so do tokens already issued to it: at once, on every path.",
    access: "admin",
    params: ServiceAccountParams,
    success: { status: 204, description: "Revoked" },
    errors: [NOT_ADMIN, { status: 404, code: "not_found", when: "no such service account" }],
  },
  {
    operationId: "issueServiceAccountToken",
    method: "POST",
    path: "/service-accounts/token",
    tag: "Service accounts",
    summary: "Exchange a service account's API key for a short-lived access token",
    description: "Call with the project's anon key as the bearer token. Use the access token as the " +
      "bearer token for the REST API (PostgREST); row-level security holds the account to its scopes.",
    access: "api_key",
    body: TokenBody,
    success: {
      status: 200,
      description: "An access token",
      schema: z.object({
        access_token: z.string(),
        token_type: z.literal("bearer"),
        expires_in: z.number().int().describe("Seconds"),
        expires_at: Timestamp,
      }),
    },
    errors: [
      { status: 401, code: "invalid_api_key", when: "the key is malformed, unknown or revoked" },
      { status: 503, code: "service_unavailable", when: "the project's JWT secret is not in Vault" },
    ],
  },
  // Audit log ---------------------------------------------------------------------------------
  {
    operationId: "listAuditEntries",
    method: "GET",
    path: "/audit-log",
    tag: "Audit log",
    summary: "List an organization's audit entries, newest first",
    access: "admin",
    query: AuditQuery,
    success: { status: 200, description: "A page of entries", schema: page(AuditEntry) },
    errors: [NOT_ADMIN],
  },
] as const satisfies readonly Route[];

export type OperationId = (typeof ROUTES)[number]["operationId"];
