// The dispatcher's database side: every call is one round trip to a webhooks.* function
// (supabase/migrations/20261128000700_webhook_dispatch.sql), which does the set-based work.
import type { Sql } from "../_shared/database.ts";

export interface ClaimedDelivery {
  deliveryId: string;
  leaseToken: string;
  /** How long the lease lasts from the claim's start, by the database's clock. */
  leaseSeconds: number;
  /** The database's time as it answered the claim. */
  claimedAt: Date;
  eventId: string;
  endpointId: string;
  url: string;
  retryCount: number;
  payload: string;
  secretsVersion: string;
  /** webhooks.settings.allow_loopback_endpoints when the delivery was claimed. */
  allowLoopback: boolean;
}

export interface AttemptResult {
  delivery_id: string;
  lease_token: string;
  /** false: handed back without a request (its lease was too short to start one). */
  sent: boolean;
  retry_count: number;
  started_at: string;
  duration_ms: number;
  response_status: number | null;
  response_excerpt: string | null;
  error: string | null;
  payload_sha256: string;
  retry_after_seconds: number | null;
}

export interface DeliveryStore {
  /**
   * Records `outcomes` (as recordAttempts would), then claims up to `limit` due deliveries leased
   * for `leaseSeconds` (webhooks.claim_due_deliveries); both or neither. `background`: for a drain
   * the scheduler or a hand-over woke, which claims nothing while dispatch is paused.
   */
  claimDueDeliveries(
    limit: number,
    leaseSeconds: number,
    outcomes?: AttemptResult[],
    background?: boolean,
  ): Promise<ClaimedDelivery[]>;
  signingSecrets(endpointIds: string[]): Promise<Map<string, { version: string; secrets: string[] }>>;
  recordAttempts(results: AttemptResult[]): Promise<void>;
  /** No longer announces a drain (the scheduler wakes a new one when work arrives). */
  stopDraining(): Promise<void>;
  dispatchSecret(): Promise<string | null>;
  /** Asks for another invocation through pg_net (webhooks.request_dispatch), sent at once. */
  requestDispatch(reason: string): Promise<void>;
}

export function postgresDeliveryStore(sql: Sql): DeliveryStore {
  return {
    async claimDueDeliveries(limit, leaseSeconds, outcomes = [], background = false) {
      const rows = await sql<
        {
          delivery_id: string;
          lease_token: string;
          lease_seconds: number;
          claimed_at: Date;
          event_id: string;
          endpoint_id: string;
          url: string;
          retry_count: number;
          payload: string;
          secrets_version: string;
          allow_loopback: boolean;
        }[]
      >`select * from webhooks.claim_due_deliveries(${limit}, ${leaseSeconds}, ${
        outcomesJson(outcomes)
      }::text::jsonb, ${background})`;
      return rows.map((row) => ({
        deliveryId: row.delivery_id,
        leaseToken: row.lease_token,
        leaseSeconds: row.lease_seconds,
        claimedAt: row.claimed_at,
        eventId: row.event_id,
        endpointId: row.endpoint_id,
        url: row.url,
        retryCount: row.retry_count,
        payload: row.payload,
        secretsVersion: row.secrets_version,
        allowLoopback: row.allow_loopback,
      }));
    },
    async signingSecrets(endpointIds) {
      const rows = await sql<{ endpoint_id: string; secrets_version: string; secrets: string[] }[]>`
        select * from webhooks.endpoint_signing_secrets(${endpointIds}::uuid[])`;
      return new Map(rows.map((row) => [row.endpoint_id, { version: row.secrets_version, secrets: row.secrets }]));
    },
    async recordAttempts(results) {
      if (results.length === 0) return;
      await sql`select webhooks.record_attempts(${outcomesJson(results)}::text::jsonb)`;
    },
    async stopDraining() {
      await sql`select webhooks.stop_draining()`;
    },
    async requestDispatch(reason) {
      await sql`select webhooks.request_dispatch(${reason})`;
    },
    async dispatchSecret() {
      const [row] = await sql<{ secret: string }[]>`
        select decrypted_secret as secret from vault.decrypted_secrets where name = 'webhook_dispatch_secret'`;
      return row?.secret ?? null;
    },
  };
}

/**
 * Outcomes as webhooks.record_attempts reads them, null fields left out (a missing key reads as
 * null): a success carries no excerpt, error or Retry-After, so a batch is a quarter smaller.
 */
function outcomesJson(results: AttemptResult[]): string {
  return JSON.stringify(results, (_key, value) => value === null ? undefined : value);
}
