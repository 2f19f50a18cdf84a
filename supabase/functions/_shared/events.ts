// The webhook event catalog: for every event type, the zod schema of the JSON envelope receivers
// get. This is the single source of truth: the database triggers are tested against it
// (tests/event_payloads_test.ts), the JSON Schemas and docs/events.md are generated from it
// (scripts/generate-event-docs.ts), and types/events.ts re-exports its inferred types.
import { z } from "npm:zod@4.6.7";

export const API_VERSION = "2026-11-01";

const Timestamp = z.iso.datetime({ precision: 3 }).describe("UTC, ISO-8601 with milliseconds");
const Id = z.uuid();
const Money = z.string().regex(/^\d+\.\d{2}$/).describe('A decimal amount as a string, e.g. "150.00"');
const Latitude = z.number().min(-90).max(90);
const Longitude = z.number().min(-180).max(180);

const JobStatus = z.enum(["new", "scheduled", "in_progress", "completed", "cancelled"]);
const EstimateStatus = z.enum(["draft", "sent", "accepted", "declined"]);
const InvoiceStatus = z.enum(["draft", "open", "paid", "void"]);
const InspectionStatus = z.enum(["draft", "submitted"]);
const PaymentMethod = z.enum(["card", "ach", "cash", "check", "other"]);

const Address = {
  address1: z.string(),
  address2: z.string().nullable(),
  city: z.string().nullable(),
  region: z.string().nullable(),
  postal_code: z.string().nullable(),
  country: z.string().regex(/^[A-Z]{2}$/),
  lat: Latitude.nullable(),
  lng: Longitude.nullable(),
};

const Client = z.object({
  id: Id,
  name: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  notes: z.string().nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
}).strict();

const Job = z.object({
  id: Id,
  job_no: z.string().regex(/^J-[1-9][0-9]*$/),
  title: z.string(),
  description: z.string().nullable(),
  status: JobStatus,
  client_id: Id.nullable(),
  property: z.object({ id: Id, ...Address }).strict().nullable(),
  assigned_to: Id.nullable(),
  scheduled_at: Timestamp.nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
}).strict();

const Property = z.object({
  id: Id,
  client_id: Id.nullable(),
  ...Address,
  geocoded_at: Timestamp.nullable(),
  geocode_source: z.string().nullable(),
  created_at: Timestamp,
}).strict();

const Estimate = z.object({
  id: Id,
  estimate_no: z.string().nullable(),
  job_id: Id.nullable(),
  client_id: Id,
  total: Money,
  status: EstimateStatus,
  created_at: Timestamp,
  updated_at: Timestamp,
}).strict();

const Invoice = z.object({
  id: Id,
  invoice_no: z.string().regex(/^INV-[1-9][0-9]*$/),
  status: InvoiceStatus,
  total: Money,
  amount_paid: Money,
  job_id: Id.nullable(),
  estimate_id: Id.nullable(),
  client_id: Id,
  issued_at: Timestamp.nullable(),
  due_at: Timestamp.nullable(),
  paid_at: Timestamp.nullable(),
}).strict();

const PaymentSummary = z.object({
  id: Id,
  amount: Money,
  method: PaymentMethod,
  received_at: Timestamp,
  reference: z.string().nullable(),
}).strict();

const Payment = PaymentSummary.extend({
  invoice_id: Id,
  invoice_no: z.string().regex(/^INV-[1-9][0-9]*$/),
}).strict();

/** A submitted inspection, as `inspection.submitted` carries it. */
const SubmittedInspection = z.object({
  id: Id,
  job_id: Id,
  job_no: z.string().regex(/^J-[1-9][0-9]*$/),
  status: z.literal("submitted"),
  submitted_at: Timestamp,
  answers: z.record(z.string(), z.unknown()),
}).strict();

/** An inspection in any state, as its lifecycle events carry it. */
const Inspection = SubmittedInspection.extend({
  job_no: z.string().regex(/^J-[1-9][0-9]*$/).nullable()
    .describe("The job's number; null when the job was deleted with the inspection"),
  status: InspectionStatus,
  submitted_at: Timestamp.nullable(),
}).strict();

/**
 * The resources whose lifecycle is published, each with its schema in payloads and the fields a
 * `<resource>.updated` event can list as changed: the columns of its table that a change to is
 * worth an event (webhooks.update_fields in the database has the same lists; tests compare them).
 */
export const RESOURCES = {
  client: { schema: Client, fields: ["name", "email", "phone", "notes"] },
  property: {
    schema: Property,
    fields: [
      "client_id",
      "address1",
      "address2",
      "city",
      "region",
      "postal_code",
      "country",
      "lat",
      "lng",
      "geocoded_at",
      "geocode_source",
    ],
  },
  job: {
    schema: Job,
    fields: ["title", "description", "status", "property_id", "client_id", "assigned_to", "scheduled_at"],
  },
  estimate: { schema: Estimate, fields: ["estimate_no", "job_id", "client_id", "total", "status"] },
  invoice: {
    schema: Invoice,
    fields: [
      "job_id",
      "estimate_id",
      "client_id",
      "total",
      "amount_paid",
      "status",
      "issued_at",
      "due_at",
      "paid_at",
    ],
  },
  inspection: { schema: Inspection, fields: ["job_id", "status", "submitted_at", "answers"] },
} as const;
export type ResourceType = keyof typeof RESOURCES | "payment";

/** Where an event stands in the life of the resource it is about. */
function resourcePosition<Type extends ResourceType>(type: Type) {
  return z.object({
    type: z.literal(type),
    id: Id.describe("The resource's id"),
    sequence: z.int().min(1).describe(
      "1, 2, 3 … per resource, in commit order, without gaps across all of the resource's event types: " +
        "drop an event whose sequence is not above the last one applied; a jump means events were missed",
    ),
  }).strict().describe("The resource this event is about and its sequence number");
}

function envelope<Type extends string, Shape extends z.ZodRawShape>(type: Type, shape: Shape) {
  return z.object({
    id: z.string().regex(/^evt_[0-9a-f]{32}$/).describe("The event id; also the webhook-id header"),
    event: z.literal(type),
    api_version: z.literal(API_VERSION),
    timestamp: Timestamp.describe(
      "The time of the writing transaction (order events by resource.sequence, not by this)",
    ),
    org_id: Id.describe("The organization the event belongs to"),
    ...shape,
  }).strict();
}

/** The envelope of an event about a resource: `resource` says which one and its sequence number. */
function resourceEnvelope<Type extends string, Shape extends z.ZodRawShape>(
  type: Type,
  resource: ResourceType,
  shape: Shape,
) {
  return envelope(type, { resource: resourcePosition(resource), ...shape });
}

const ids = {
  org: "00000000-0000-4000-a001-000000001000",
  job: "5d7c2b1e-8f3a-4c6d-9e2b-1a4f6c8d0e21",
  property: "9b1e4d2c-7a5f-4e3b-8c1d-2f6a9e0b3c47",
  client: "3e8a1f6b-2c4d-4a7e-9f1b-6d0c3a5e8b12",
  estimate: "b8d0f2a4-6c1e-4b3d-9f5a-7e2c4a6b8d13",
  user: "00000000-0000-4000-a000-000000001003",
  invoice: "c4f2a7e9-1b3d-4e6a-8c5f-7a9e2d4b6c81",
  payment: "e7b3d9a1-5c2f-4b8e-a6d4-3f1c8e0a2b95",
  inspection: "a2c6e8f0-4b1d-4f3a-9e7c-5d8b1a3f6e24",
  endpoint: "f1d3b5a7-9c2e-4a6f-8b0d-2e4c6a8f1b37",
};
const sampleProperty = {
  id: ids.property,
  address1: "123 Main St",
  address2: null,
  city: "Springfield",
  region: "NJ",
  postal_code: "07081",
  country: "US",
  lat: 40.123,
  lng: -74.123,
};
const samples = {
  client: {
    id: ids.client,
    name: "Riverside Cafe",
    email: "owner@riverside.example",
    phone: "+1 555 0100",
    notes: null,
    created_at: "2026-01-01T11:00:00.000Z",
    updated_at: "2026-01-01T12:30:00.000Z",
  },
  property: {
    ...sampleProperty,
    client_id: ids.client,
    geocoded_at: "2026-01-01T12:00:01.000Z",
    geocode_source: "mapbox",
    created_at: "2026-01-01T12:00:00.000Z",
  },
  job: {
    id: ids.job,
    job_no: "J-123",
    title: "Replace sink",
    description: "Kitchen sink leaks under the basin.",
    status: "scheduled",
    client_id: ids.client,
    property: sampleProperty,
    assigned_to: ids.user,
    scheduled_at: "2026-01-02T14:00:00.000Z",
    created_at: "2026-01-01T12:00:00.000Z",
    updated_at: "2026-01-01T12:30:00.000Z",
  },
  estimate: {
    id: ids.estimate,
    estimate_no: "E-77",
    job_id: ids.job,
    client_id: ids.client,
    total: "450.00",
    status: "sent",
    created_at: "2026-01-01T12:00:00.000Z",
    updated_at: "2026-01-01T12:30:00.000Z",
  },
  invoice: {
    id: ids.invoice,
    invoice_no: "INV-1042",
    status: "open",
    total: "450.00",
    amount_paid: "0.00",
    job_id: ids.job,
    estimate_id: ids.estimate,
    client_id: ids.client,
    issued_at: "2026-01-01T12:00:00.000Z",
    due_at: "2026-01-31T12:00:00.000Z",
    paid_at: null,
  },
  inspection: {
    id: ids.inspection,
    job_id: ids.job,
    job_no: "J-123",
    status: "draft",
    submitted_at: null,
    answers: { water_pressure_ok: true },
  },
} as const;

/** Sample event ids: evt_ and 32 hex digits, one per catalog entry. */
let sampleCount = 0;
function sampleHead(type: string) {
  sampleCount += 1;
  return {
    id: `evt_0000019b7a3c${sampleCount.toString(16).padStart(4, "0")}5162738495a6b7c8`,
    event: type,
    api_version: API_VERSION,
    timestamp: "2026-01-01T12:30:00.000Z",
    org_id: ids.org,
  };
}
function sampleResourceHead(type: string, resource: ResourceType, id: string, sequence: number) {
  return { ...sampleHead(type), resource: { type: resource, id, sequence } };
}

interface CatalogEntry {
  description: string;
  schema: z.ZodObject;
  sample: Record<string, unknown>;
}

/** `<resource>.created`, `<resource>.updated` and `<resource>.deleted` of one resource. */
function lifecycle<Resource extends keyof typeof RESOURCES>(
  resource: Resource,
  noun: string,
  updated: { previous: Record<string, unknown>; description?: string },
) {
  const { schema, fields } = RESOURCES[resource];
  const sample = samples[resource];
  const Field = z.enum(fields as unknown as [string, ...string[]]);
  return {
    [`${resource}.created`]: {
      description: `${noun} was created.`,
      schema: resourceEnvelope(`${resource}.created`, resource, { [resource]: schema }),
      sample: { ...sampleResourceHead(`${resource}.created`, resource, sample.id, 1), [resource]: sample },
    },
    [`${resource}.updated`]: {
      description: updated.description ??
        `${noun} changed (${fields.join(", ")}); never sent for a change that leaves them all as they were.`,
      schema: resourceEnvelope(`${resource}.updated`, resource, {
        [resource]: schema.describe(`The ${resource} after the change`),
        changed_fields: z.array(Field).min(1).describe("The fields that changed, in alphabetical order"),
        previous: z.partialRecord(Field, z.unknown()).describe("Each changed field's previous value"),
      }),
      sample: {
        ...sampleResourceHead(`${resource}.updated`, resource, sample.id, 2),
        [resource]: sample,
        changed_fields: Object.keys(updated.previous).sort(),
        previous: updated.previous,
      },
    },
    [`${resource}.deleted`]: {
      description: `${noun} was deleted; the payload is its last state.`,
      schema: resourceEnvelope(`${resource}.deleted`, resource, {
        [resource]: schema.describe(`The ${resource} as it was when it was deleted`),
      }),
      sample: { ...sampleResourceHead(`${resource}.deleted`, resource, sample.id, 3), [resource]: sample },
    },
  } as unknown as Record<`${Resource}.${"created" | "updated" | "deleted"}`, CatalogEntry>;
}

/** A status change receivers act on, sent besides the `<resource>.updated` of the same change. */
function transition<Resource extends "job" | "estimate" | "invoice">(
  type: `${Resource}.${string}`,
  resource: Resource,
  description: string,
  status: Record<string, unknown>,
  previousStatus: string,
): CatalogEntry {
  const { schema } = RESOURCES[resource];
  const statuses = schema.shape.status;
  return {
    description: `${description} Sent after the ${resource}.updated of the same change.`,
    schema: resourceEnvelope(type, resource, {
      [resource]: schema,
      previous_status: statuses.describe("The status before the change"),
    }),
    sample: {
      ...sampleResourceHead(type, resource, samples[resource].id, 3),
      [resource]: { ...samples[resource], ...status },
      previous_status: previousStatus,
    },
  };
}

export const EVENT_CATALOG = {
  ...lifecycle("client", "A client", { previous: { phone: null } }),
  ...lifecycle("property", "A property", { previous: { lat: null, lng: null, geocoded_at: null } }),
  ...lifecycle("job", "A job", {
    previous: { scheduled_at: null, status: "new" },
    description: "A job's title, description, status, property, client, assignee or schedule changed; never sent " +
      "for a change that leaves them all as they were.",
  }),
  "job.completed": transition(
    "job.completed",
    "job",
    "A job's status became completed.",
    { status: "completed" },
    "in_progress",
  ),
  "job.cancelled": transition(
    "job.cancelled",
    "job",
    "A job's status became cancelled.",
    { status: "cancelled" },
    "scheduled",
  ),
  ...lifecycle("estimate", "An estimate", { previous: { status: "draft" } }),
  "estimate.sent": transition(
    "estimate.sent",
    "estimate",
    "An estimate's status became sent.",
    { status: "sent" },
    "draft",
  ),
  "estimate.accepted": transition("estimate.accepted", "estimate", "An estimate's status became accepted.", {
    status: "accepted",
  }, "sent"),
  "estimate.declined": transition("estimate.declined", "estimate", "An estimate's status became declined.", {
    status: "declined",
  }, "sent"),
  ...lifecycle("invoice", "An invoice", { previous: { status: "draft", issued_at: null } }),
  "invoice.issued": transition(
    "invoice.issued",
    "invoice",
    "An invoice went from draft to open.",
    { status: "open" },
    "draft",
  ),
  "invoice.voided": transition(
    "invoice.voided",
    "invoice",
    "An invoice's status became void.",
    { status: "void" },
    "open",
  ),
  "invoice.paid": {
    description: "An invoice became paid. Sent after the invoice.updated of the same change.",
    schema: resourceEnvelope("invoice.paid", "invoice", {
      invoice: Invoice,
      payment: PaymentSummary.nullable().describe("The payment that settled the invoice; null if a lowered total did"),
    }),
    sample: {
      ...sampleResourceHead("invoice.paid", "invoice", ids.invoice, 3),
      invoice: {
        ...samples.invoice,
        status: "paid",
        amount_paid: "450.00",
        paid_at: "2026-01-05T09:15:00.000Z",
      },
      payment: {
        id: ids.payment,
        amount: "450.00",
        method: "card",
        received_at: "2026-01-05T09:15:00.000Z",
        reference: "ch_3Nf2",
      },
    },
  },
  "payment.received": {
    description: "A payment was recorded against an invoice.",
    schema: resourceEnvelope("payment.received", "payment", { payment: Payment }),
    sample: {
      ...sampleResourceHead("payment.received", "payment", ids.payment, 1),
      payment: {
        id: ids.payment,
        invoice_id: ids.invoice,
        invoice_no: "INV-1042",
        amount: "450.00",
        method: "card",
        received_at: "2026-01-05T09:15:00.000Z",
        reference: "ch_3Nf2",
      },
    },
  },
  ...lifecycle("inspection", "An inspection", { previous: { answers: {} } }),
  "inspection.submitted": {
    description: "An inspection was submitted.",
    schema: resourceEnvelope("inspection.submitted", "inspection", { inspection: SubmittedInspection }),
    sample: {
      ...sampleResourceHead("inspection.submitted", "inspection", ids.inspection, 2),
      inspection: {
        id: ids.inspection,
        job_id: ids.job,
        job_no: "J-123",
        status: "submitted",
        submitted_at: "2026-01-02T16:45:00.000Z",
        answers: { water_pressure_ok: true, notes: "Replaced the trap as well." },
      },
    },
  },
  "endpoint.disabled": {
    description: "One of the organization's webhook endpoints was disabled (sent to its other endpoints).",
    schema: envelope("endpoint.disabled", {
      endpoint: z.object({
        id: Id,
        url: z.string(),
        description: z.string(),
        event_types: z.array(z.string()).describe("Its subscriptions; empty means every type"),
        disabled_at: Timestamp,
        disabled_reason: z.string().describe("The reason an admin sees"),
      }).strict(),
      reason: z.enum(["gone", "failing", "admin"]).describe(
        "gone: it answered 410 Gone; failing: every attempt failed for the configured period; admin: an admin disabled it",
      ),
      disabled_by: Id.nullable().describe("The admin who disabled it; null when the platform or the system did"),
    }),
    sample: {
      ...sampleHead("endpoint.disabled"),
      endpoint: {
        id: ids.endpoint,
        url: "https://erp.example.com/webhooks/cjh",
        description: "ERP sync",
        event_types: [],
        disabled_at: "2026-01-04T03:00:00.000Z",
        disabled_reason: "Every delivery attempt has failed since 2026-01-01T03:00:00.000Z (more than 72:00:00).",
      },
      reason: "failing",
      disabled_by: null,
    },
  },
  "delivery.exhausted": {
    description: "A delivery to one of the organization's endpoints stopped being retried: its delivery window ended " +
      "without a success (sent to its other endpoints).",
    schema: envelope("delivery.exhausted", {
      delivery: z.object({
        id: z.int().positive().describe("The delivery id (webhook-admin's /deliveries/{delivery_id})"),
        event_id: z.string().regex(/^evt_[0-9a-f]{32}$/),
        event_type: z.string(),
        endpoint_id: Id,
        endpoint_url: z.string(),
        attempt_count: z.int().min(0),
        first_attempt_at: Timestamp.nullable(),
        last_attempt_at: Timestamp.nullable(),
        last_response_status: z.int().nullable(),
        last_error: z.string().nullable(),
      }).strict(),
    }),
    sample: {
      ...sampleHead("delivery.exhausted"),
      delivery: {
        id: 48213,
        event_id: "evt_0000019b7a3c00015162738495a6b7c8",
        event_type: "invoice.paid",
        endpoint_id: ids.endpoint,
        endpoint_url: "https://erp.example.com/webhooks/cjh",
        attempt_count: 14,
        first_attempt_at: "2026-01-05T09:15:01.000Z",
        last_attempt_at: "2026-01-06T09:10:12.000Z",
        last_response_status: 503,
        last_error: "HTTP 503",
      },
    },
  },
  "webhook.test": {
    description: "A test event an admin sent to one endpoint.",
    schema: envelope("webhook.test", {
      test: z.object({
        endpoint_id: Id,
        message: z.string(),
        sent_by: Id.nullable().describe("The admin who sent it; null when the platform did"),
      }).strict(),
    }),
    sample: {
      ...sampleHead("webhook.test"),
      test: { endpoint_id: ids.endpoint, message: "This is a test event from CJH.", sent_by: ids.user },
    },
  },
} as const;

/**
 * Operational events: about the organization's integration itself, not its data. They go to the
 * organization's other endpoints (never to the one they are about) and are never themselves the
 * subject of a `delivery.exhausted`.
 */
export const OPERATIONAL_EVENT_TYPES = ["endpoint.disabled", "delivery.exhausted"] as const;

export type EventType = keyof typeof EVENT_CATALOG;
export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

/** Any event a receiver can get, discriminated by `event`. */
export const WebhookEvent = z.discriminatedUnion(
  "event",
  EVENT_TYPES.map((type) => EVENT_CATALOG[type].schema) as unknown as [
    (typeof EVENT_CATALOG)[EventType]["schema"],
    ...(typeof EVENT_CATALOG)[EventType]["schema"][],
  ],
);
export type WebhookEvent = z.infer<typeof WebhookEvent>;
export type EventPayload<Type extends EventType> = z.infer<(typeof EVENT_CATALOG)[Type]["schema"]>;

/** The JSON Schema (draft 2020-12) of one event type, with its sample as the example. */
export function eventJsonSchema(type: EventType): Record<string, unknown> {
  const { schema, description, sample } = EVENT_CATALOG[type];
  return {
    ...z.toJSONSchema(schema, { target: "draft-2020-12" }),
    title: type,
    description,
    examples: [sample],
  };
}
