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
const InvoiceStatus = z.enum(["draft", "open", "paid", "void"]);
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

const JobField = z.enum(["title", "description", "status", "property_id", "client_id", "assigned_to", "scheduled_at"]);

const Property = z.object({
  id: Id,
  client_id: Id.nullable(),
  ...Address,
  geocoded_at: Timestamp.nullable(),
  geocode_source: z.string().nullable(),
  created_at: Timestamp,
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

const Inspection = z.object({
  id: Id,
  job_id: Id,
  job_no: z.string().regex(/^J-[1-9][0-9]*$/),
  status: z.literal("submitted"),
  submitted_at: Timestamp,
  answers: z.record(z.string(), z.unknown()),
}).strict();

function envelope<Type extends string, Shape extends z.ZodRawShape>(type: Type, shape: Shape) {
  return z.object({
    id: z.string().regex(/^evt_[0-9a-f]{32}$/).describe("The event id; also the webhook-id header"),
    event: z.literal(type),
    api_version: z.literal(API_VERSION),
    timestamp: Timestamp.describe("When the change was committed"),
    org_id: Id.describe("The organization the event belongs to"),
    ...shape,
  }).strict();
}

const ids = {
  org: "00000000-0000-4000-a001-000000001000",
  job: "5d7c2b1e-8f3a-4c6d-9e2b-1a4f6c8d0e21",
  property: "9b1e4d2c-7a5f-4e3b-8c1d-2f6a9e0b3c47",
  client: "3e8a1f6b-2c4d-4a7e-9f1b-6d0c3a5e8b12",
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
const sampleJob = {
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
} as const;
const sampleEnvelope = (type: string, id: string) => ({
  id,
  event: type,
  api_version: API_VERSION,
  timestamp: "2026-01-01T12:30:00.000Z",
  org_id: ids.org,
});

export const EVENT_CATALOG = {
  "job.created": {
    description: "A job was created.",
    schema: envelope("job.created", { job: Job }),
    sample: { ...sampleEnvelope("job.created", "evt_0c1d2e3f405162738495a6b7c8d9e0f1"), job: sampleJob },
  },
  "job.updated": {
    description: "A job's title, description, status, property, client, assignee or schedule changed.",
    schema: envelope("job.updated", {
      job: Job.describe("The job after the change"),
      changed_fields: z.array(JobField).min(1).describe("The meaningful columns that changed"),
      previous: z.partialRecord(JobField, z.unknown()).describe("Each changed field's previous value"),
    }),
    sample: {
      ...sampleEnvelope("job.updated", "evt_1d2e3f405162738495a6b7c8d9e0f1a2"),
      job: sampleJob,
      changed_fields: ["scheduled_at", "status"],
      previous: { scheduled_at: null, status: "new" },
    },
  },
  "property.created": {
    description: "A property was created.",
    schema: envelope("property.created", { property: Property }),
    sample: {
      ...sampleEnvelope("property.created", "evt_2e3f405162738495a6b7c8d9e0f1a2b3"),
      property: {
        ...sampleProperty,
        client_id: ids.client,
        geocoded_at: "2026-01-01T12:00:01.000Z",
        geocode_source: "mapbox",
        created_at: "2026-01-01T12:00:00.000Z",
      },
    },
  },
  "invoice.paid": {
    description: "An invoice became paid.",
    schema: envelope("invoice.paid", {
      invoice: Invoice,
      payment: PaymentSummary.nullable().describe("The payment that settled the invoice; null if a lowered total did"),
    }),
    sample: {
      ...sampleEnvelope("invoice.paid", "evt_3f405162738495a6b7c8d9e0f1a2b3c4"),
      invoice: {
        id: ids.invoice,
        invoice_no: "INV-1042",
        status: "paid",
        total: "450.00",
        amount_paid: "450.00",
        job_id: ids.job,
        estimate_id: null,
        client_id: ids.client,
        issued_at: "2026-01-01T12:00:00.000Z",
        due_at: "2026-01-31T12:00:00.000Z",
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
    schema: envelope("payment.received", { payment: Payment }),
    sample: {
      ...sampleEnvelope("payment.received", "evt_405162738495a6b7c8d9e0f1a2b3c4d5"),
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
  "inspection.submitted": {
    description: "An inspection was submitted.",
    schema: envelope("inspection.submitted", { inspection: Inspection }),
    sample: {
      ...sampleEnvelope("inspection.submitted", "evt_5162738495a6b7c8d9e0f1a2b3c4d5e6"),
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
      ...sampleEnvelope("webhook.test", "evt_62738495a6b7c8d9e0f1a2b3c4d5e6f7"),
      test: { endpoint_id: ids.endpoint, message: "This is a test event from CJH.", sent_by: ids.user },
    },
  },
} as const;

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
