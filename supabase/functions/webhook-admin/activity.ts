// What happened: events, deliveries with their attempts, resending one delivery, and the audit
// log. Lists are newest first with a keyset cursor on the id (`id < last id of the page`), so a
// page never repeats or skips a row because new rows arrived at the head meanwhile.
import type { z } from "npm:zod@4.6.7";
import { HttpError } from "../_shared/http.ts";
import type { AuditQuery, DeliveriesQuery, EventsQuery } from "./api.ts";
import { type AdminContext, asAdmin, decodeCursor, pageOf, requireOrgAdmin, type Tx } from "./context.ts";

interface EventRow {
  id: string;
  org_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

interface DeliveryRow {
  id: string;
  org_id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  status: string;
  attempt_count: number;
  next_attempt_at: Date | null;
  first_attempt_at: Date | null;
  last_attempt_at: Date | null;
  last_response_status: number | null;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

interface AttemptRow {
  id: string;
  retry_count: number;
  started_at: Date;
  duration_ms: number;
  response_status: number | null;
  response_excerpt: string | null;
  error: string | null;
  succeeded: boolean;
  payload_sha256: string;
}

interface AuditRow {
  id: string;
  org_id: string;
  occurred_at: Date;
  actor_id: string | null;
  actor_kind: string;
  action: string;
  target_type: string;
  target_id: string;
  details: Record<string, unknown>;
}

const EVENT_ID = /^evt_[0-9a-f]{32}$/;
const BIGINT_ID = /^[1-9][0-9]{0,18}$/;

// bigint columns arrive as strings; ids stay far below 2^53.
const delivery = (row: DeliveryRow) => ({ ...row, id: Number(row.id) });
const attempt = (row: AttemptRow) => ({ ...row, id: Number(row.id) });
const auditEntry = (row: AuditRow) => ({ ...row, id: Number(row.id) });

const deliveryColumns = (tx: Tx) =>
  tx`d.id, d.org_id, d.event_id, ev.event_type, d.endpoint_id, d.status, d.attempt_count,
     case when d.status = 'pending' then d.next_attempt_at end as next_attempt_at,
     d.first_attempt_at, d.last_attempt_at, d.last_response_status, d.last_error, d.created_at, d.completed_at`;

const createdBetween = (tx: Tx, column: string, since?: string, until?: string) =>
  tx`${since === undefined ? tx`` : tx`and ${tx(column)} >= ${since}`}
     ${until === undefined ? tx`` : tx`and ${tx(column)} < ${until}`}`;

export function listEvents(context: AdminContext, query: z.output<typeof EventsQuery>) {
  const after = decodeCursor(query.cursor, EVENT_ID);
  return asAdmin(context, async (tx) => {
    await requireOrgAdmin(tx, query.org_id);
    const rows = await tx<EventRow[]>`
      select ev.id, ev.org_id, ev.event_type, ev.payload, ev.created_at
        from webhooks.events ev
       where ev.org_id = ${query.org_id}
         ${query.event_type === undefined ? tx`` : tx`and ev.event_type = ${query.event_type}`}
         ${createdBetween(tx, "ev.created_at", query.since, query.until)}
         ${after === null ? tx`` : tx`and ev.id < ${after}`}
       order by ev.id desc
       limit ${query.limit + 1}`;
    return pageOf(rows, query.limit, (row) => row);
  });
}

export function getEvent(context: AdminContext, eventId: string) {
  return asAdmin(context, async (tx) => {
    const [event] = await tx<EventRow[]>`
      select e.id, e.org_id, e.event_type, e.payload, e.created_at from webhooks.event_for_admin(${eventId}) e`;
    const deliveries = await tx<DeliveryRow[]>`
      select ${deliveryColumns(tx)}
        from webhooks.deliveries d
        join webhooks.events ev on ev.id = d.event_id
       where d.event_id = ${eventId}
       order by d.id`;
    return { event, deliveries: deliveries.map(delivery) };
  });
}

export function listDeliveries(context: AdminContext, query: z.output<typeof DeliveriesQuery>) {
  const after = decodeCursor(query.cursor, BIGINT_ID);
  return asAdmin(context, async (tx) => {
    await requireOrgAdmin(tx, query.org_id);
    const rows = await tx<DeliveryRow[]>`
      select ${deliveryColumns(tx)}
        from webhooks.deliveries d
        join webhooks.events ev on ev.id = d.event_id
       where d.org_id = ${query.org_id}
         ${query.status === undefined ? tx`` : tx`and d.status = ${query.status}`}
         ${query.endpoint_id === undefined ? tx`` : tx`and d.endpoint_id = ${query.endpoint_id}`}
         ${query.event_type === undefined ? tx`` : tx`and ev.event_type = ${query.event_type}`}
         ${createdBetween(tx, "d.created_at", query.since, query.until)}
         ${after === null ? tx`` : tx`and d.id < ${after}`}
       order by d.id desc
       limit ${query.limit + 1}`;
    return pageOf(rows, query.limit, delivery);
  });
}

async function deliveryDetail(tx: Tx, deliveryId: number) {
  const [row] = await tx<DeliveryRow[]>`
    select ${deliveryColumns(tx)}
      from webhooks.deliveries d
      join webhooks.events ev on ev.id = d.event_id
     where d.id = ${deliveryId}`;
  if (!row) throw new HttpError(404, "not_found", "Webhook delivery not found.");
  return row;
}

export function getDelivery(context: AdminContext, deliveryId: number) {
  return asAdmin(context, async (tx) => {
    // Hidden (another organization, or not an admin) and missing are told apart here.
    await tx`select 1 from webhooks.delivery_for_admin(${deliveryId})`;
    const row = await deliveryDetail(tx, deliveryId);
    const [event] = await tx<EventRow[]>`
      select ev.id, ev.org_id, ev.event_type, ev.payload, ev.created_at
        from webhooks.events ev where ev.id = ${row.event_id}`;
    const attempts = await tx<AttemptRow[]>`
      select a.id, a.retry_count, a.started_at, a.duration_ms, a.response_status, a.response_excerpt, a.error,
             a.succeeded, a.payload_sha256
        from webhooks.attempts a
       where a.delivery_id = ${deliveryId}
       order by a.started_at, a.id`;
    return { delivery: delivery(row), event, attempts: attempts.map(attempt) };
  });
}

export function resendDelivery(context: AdminContext, deliveryId: number) {
  return asAdmin(context, async (tx) => {
    await tx`select 1 from webhooks.resend_delivery(${deliveryId})`;
    return { delivery: delivery(await deliveryDetail(tx, deliveryId)) };
  });
}

export function listAuditEntries(context: AdminContext, query: z.output<typeof AuditQuery>) {
  const after = decodeCursor(query.cursor, BIGINT_ID);
  return asAdmin(context, async (tx) => {
    await requireOrgAdmin(tx, query.org_id);
    const rows = await tx<AuditRow[]>`
      select a.id, a.org_id, a.occurred_at, a.actor_id, a.actor_kind, a.action, a.target_type, a.target_id, a.details
        from audit.entries a
       where a.org_id = ${query.org_id}
         ${query.action === undefined ? tx`` : tx`and a.action = ${query.action}`}
         ${createdBetween(tx, "a.occurred_at", query.since, query.until)}
         ${after === null ? tx`` : tx`and a.id < ${after}`}
       order by a.id desc
       limit ${query.limit + 1}`;
    return pageOf(rows, query.limit, auditEntry);
  });
}
