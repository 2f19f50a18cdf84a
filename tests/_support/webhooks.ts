// Webhook test helpers: register endpoints pointed at local receivers, make deliveries due now
// (tests control time through next_attempt_at and leases instead of sleeping through backoffs),
// and drive the dispatcher the way an operator would.
import type postgres from "npm:postgres@3.4.9";
import { asUser, eventually, stack } from "./stack.ts";

export interface Endpoint {
  endpointId: string;
  secret: string;
}

export async function registerEndpoint(
  sql: postgres.Sql,
  tenant: { userId: string; orgId: string },
  url: string,
  eventTypes: string[] = [],
): Promise<Endpoint> {
  const [row] = await asUser(sql, tenant.userId, (tx) =>
    tx<{ endpoint_id: string; signing_secret: string }[]>`
      select * from webhooks.create_endpoint(${tenant.orgId}, ${url}, 'test receiver', ${eventTypes}::text[])`);
  return { endpointId: row.endpoint_id, secret: row.signing_secret };
}

/**
 * Fans out everything committed so far (webhooks.fan_out_committed), as the dispatcher's next claim
 * would: afterwards the events and deliveries of what the test committed exist.
 */
export async function fanOut(sql: postgres.Sql): Promise<void> {
  await sql`select webhooks.fan_out_committed()`;
}

/** Inserts a job as the tenant's user and fans it out: its event and deliveries exist on return. */
export async function insertJob(sql: postgres.Sql, tenant: { userId: string; orgId: string }, title: string) {
  const [job] = await asUser(sql, tenant.userId, (tx) =>
    tx<{ id: string; job_no: string }[]>`
      insert into public.jobs (org_id, title) values (${tenant.orgId}, ${title}) returning id, job_no`);
  await fanOut(sql);
  return job;
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  status: string;
  attempt_count: number;
  next_attempt_at: Date;
  first_attempt_at: Date | null;
  last_error: string | null;
  last_response_status: number | null;
}

export function deliveriesOf(sql: postgres.Sql, endpointId: string): Promise<DeliveryRow[]> {
  return sql<DeliveryRow[]>`
    select id, event_id, status, attempt_count, next_attempt_at, first_attempt_at, last_error, last_response_status
      from webhooks.deliveries where endpoint_id = ${endpointId} order by id`;
}

export function attemptsOf(sql: postgres.Sql, endpointId: string) {
  return sql<
    {
      retry_count: number;
      response_status: number | null;
      error: string | null;
      response_excerpt: string | null;
      payload_sha256: string;
      duration_ms: number;
      started_at: Date;
    }[]
  >`select retry_count, response_status, error, response_excerpt, payload_sha256, duration_ms, started_at
      from webhooks.attempts where endpoint_id = ${endpointId} order by id`;
}

/** Makes an endpoint's scheduled retries due now, as if their backoff had passed. */
export async function makeRetriesDue(sql: postgres.Sql, endpointId: string): Promise<number> {
  const rows = await sql`update webhooks.deliveries set next_attempt_at = now()
                          where endpoint_id = ${endpointId} and status = 'pending' returning id`;
  return rows.length;
}

/**
 * Runs `work` with the scheduler's wake-ups paused (webhooks.settings.dispatch_paused), so that
 * deliveries wait for the test's own dispatch requests; serial tests only (it pauses everyone's).
 */
export async function withDispatchPaused<T>(sql: postgres.Sql, work: () => Promise<T>): Promise<T> {
  await sql`update webhooks.settings set dispatch_paused = true`;
  try {
    // A drain already running (lingering for more work) would still claim: wait for it to stop.
    await eventually(async () => {
      const [{ draining }] = await sql<{ draining: boolean }[]>`select draining from webhooks.dispatch_due_state()`;
      return draining ? undefined : true;
    }, { what: "running drains to stop" });
    return await work();
  } finally {
    await sql`update webhooks.settings set dispatch_paused = false`;
  }
}

/** Asks webhook-dispatch to drain now, as an operator with the secret API key, and waits for its summary. */
export async function dispatchNow(
  body: Record<string, unknown> = {},
  headers: Record<string, string> = { apikey: stack.secretKey },
): Promise<Response> {
  return await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-dispatch`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify({ reason: "test", ...body }),
  });
}

/** Headers as the plain object the verification libraries take. */
export function headerObject(headers: Headers): Record<string, string> {
  return Object.fromEntries(headers.entries());
}
