// Endpoint operations: list, create, read, change, delete, enable / disable, rotate the secret,
// send a test event, health, and recovery of failed deliveries. Changes go through the webhooks
// schema's functions (which check the caller's role and write the audit trail); reads run as the
// caller under row-level security.
import type { z } from "npm:zod@4.6.7";
import type { CreateEndpointBody, DisableEndpointBody, RecoverBody, UpdateEndpointBody } from "./api.ts";
import { HttpError } from "../_shared/http.ts";
import { type AdminContext, asAdmin, requireOrgAdmin, type Tx } from "./context.ts";

// Every column a tenant may read; never the Vault ids of the secrets.
export interface EndpointRow {
  id: string;
  org_id: string;
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  previous_secret_expires_at: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const endpointColumns = (tx: Tx) =>
  tx`e.id, e.org_id, e.url, e.description, e.event_types, e.enabled, e.disabled_reason, e.disabled_at,
     e.failing_since, e.previous_secret_expires_at, e.created_by, e.created_at, e.updated_at`;

/** The endpoint as the caller sees it; 404 when it does not exist, 403 when it is not theirs. */
export async function visibleEndpoint(tx: Tx, endpointId: string): Promise<EndpointRow> {
  const select = () =>
    tx<EndpointRow[]>`select ${endpointColumns(tx)} from webhooks.endpoints e where e.id = ${endpointId}`;
  const [row] = await select();
  if (row) return row;
  // Hidden or missing: the admin check raises the right one (403 or 404).
  await tx`select 1 from webhooks.endpoint_for_admin(${endpointId})`;
  const [locked] = await select();
  if (!locked) throw new HttpError(404, "not_found", "Webhook endpoint not found.");
  return locked;
}

export function listEndpoints(context: AdminContext, { org_id }: { org_id: string }) {
  return asAdmin(context, async (tx) => {
    await requireOrgAdmin(tx, org_id);
    const data = await tx<EndpointRow[]>`
      select ${endpointColumns(tx)} from webhooks.endpoints e
       where e.org_id = ${org_id}
       order by e.created_at desc, e.id`;
    return { data };
  });
}

export function createEndpoint(context: AdminContext, body: z.output<typeof CreateEndpointBody>) {
  return asAdmin(context, async (tx) => {
    const [created] = await tx<{ endpoint_id: string; signing_secret: string }[]>`
      select c.endpoint_id, c.signing_secret
        from webhooks.create_endpoint(${body.org_id}, ${body.url}, ${body.description}, ${body.event_types}::text[]) c`;
    return { endpoint: await visibleEndpoint(tx, created.endpoint_id), signing_secret: created.signing_secret };
  });
}

export function getEndpoint(context: AdminContext, endpointId: string) {
  return asAdmin(context, async (tx) => ({ endpoint: await visibleEndpoint(tx, endpointId) }));
}

export function updateEndpoint(context: AdminContext, endpointId: string, body: z.output<typeof UpdateEndpointBody>) {
  return asAdmin(context, async (tx) => {
    await tx`select 1 from webhooks.endpoint_for_admin(${endpointId})`;
    await tx`
      update webhooks.endpoints e
         set url = coalesce(${body.url ?? null}, e.url),
             description = coalesce(${body.description ?? null}, e.description),
             event_types = coalesce(${body.event_types ?? null}::text[], e.event_types)
       where e.id = ${endpointId}`;
    return { endpoint: await visibleEndpoint(tx, endpointId) };
  });
}

export function deleteEndpoint(context: AdminContext, endpointId: string) {
  return asAdmin(context, async (tx) => {
    await tx`select 1 from webhooks.endpoint_for_admin(${endpointId})`;
    await tx`delete from webhooks.endpoints e where e.id = ${endpointId}`;
  });
}

export function setEndpointEnabled(
  context: AdminContext,
  endpointId: string,
  enabled: boolean,
  body?: z.output<typeof DisableEndpointBody>,
) {
  return asAdmin(context, async (tx) => {
    await tx`select webhooks.set_endpoint_enabled(${endpointId}, ${enabled}, ${body?.reason ?? null})`;
    return { endpoint: await visibleEndpoint(tx, endpointId) };
  });
}

export function rotateEndpointSecret(context: AdminContext, endpointId: string) {
  return asAdmin(context, async (tx) => {
    const [{ secret }] = await tx<
      { secret: string }[]
    >`select webhooks.rotate_endpoint_secret(${endpointId}) as secret`;
    return { endpoint: await visibleEndpoint(tx, endpointId), signing_secret: secret };
  });
}

export function sendTestEvent(context: AdminContext, endpointId: string) {
  return asAdmin(context, async (tx) => {
    const [{ event_id }] = await tx<{ event_id: string }[]>`select webhooks.send_test_event(${endpointId}) as event_id`;
    const [{ id }] = await tx<{ id: string }[]>`
      select d.id from webhooks.deliveries d where d.event_id = ${event_id} and d.endpoint_id = ${endpointId}`;
    return { event_id, delivery_id: Number(id) };
  });
}

export function recoverEndpointDeliveries(
  context: AdminContext,
  endpointId: string,
  body: z.output<typeof RecoverBody>,
) {
  return asAdmin(context, async (tx) => {
    const [{ recovered }] = await tx<{ recovered: number }[]>`
      select webhooks.recover_deliveries(${endpointId}, ${body.since}, ${body.until ?? null}) as recovered`;
    return { recovered };
  });
}

export function getEndpointHealth(context: AdminContext, endpointId: string) {
  return asAdmin(context, async (tx) => {
    const endpoint = await visibleEndpoint(tx, endpointId);
    const [stats] = await tx`
      select recent.attempts, recent.succeeded, recent.p50, recent.p95, recent.p99, recent.last_attempt_at,
             backlog.deliveries as backlog, backlog.oldest_created_at,
             last_failure.started_at as last_failure_at, last_failure.error as last_error
        from (
          select count(*)::integer as attempts,
                 count(*) filter (where a.succeeded)::integer as succeeded,
                 percentile_cont(0.5) within group (order by a.duration_ms) as p50,
                 percentile_cont(0.95) within group (order by a.duration_ms) as p95,
                 percentile_cont(0.99) within group (order by a.duration_ms) as p99,
                 max(a.started_at) as last_attempt_at
            from webhooks.attempts a
           where a.endpoint_id = ${endpointId}
             and a.started_at > now() - interval '24 hours'
        ) recent
        cross join (
          select count(*)::integer as deliveries, min(d.created_at) as oldest_created_at
            from webhooks.deliveries d
           where d.endpoint_id = ${endpointId}
             and d.status in ('pending', 'sending')
        ) backlog
        left join lateral (
          select a.started_at, coalesce(a.error, 'HTTP ' || a.response_status) as error
            from webhooks.attempts a
           where a.endpoint_id = ${endpointId}
             and not a.succeeded
           order by a.started_at desc
           limit 1
        ) last_failure on true`;
    // Whether deliveries are being started at all (the same for every endpoint of the project).
    const [wakeUp] = await tx<{ problem: string | null; fix: string | null }[]>`
      select w.problem, w.fix from webhooks.wake_up_problem() w`;
    return {
      health: {
        endpoint_id: endpoint.id,
        enabled: endpoint.enabled,
        disabled_reason: endpoint.disabled_reason,
        failing_since: endpoint.failing_since,
        attempts_24h: stats.attempts,
        success_rate_24h: stats.attempts === 0 ? null : Math.round((stats.succeeded / stats.attempts) * 1e4) / 1e4,
        latency_p50_ms_24h: stats.p50,
        latency_p95_ms_24h: stats.p95,
        latency_p99_ms_24h: stats.p99,
        backlog: stats.backlog,
        backlog_oldest_at: stats.oldest_created_at,
        last_failure_at: stats.last_failure_at,
        last_error: stats.last_error,
        last_attempt_at: stats.last_attempt_at,
        wake_up_problem: wakeUp.problem,
        wake_up_fix: wakeUp.fix,
      },
    };
  });
}
