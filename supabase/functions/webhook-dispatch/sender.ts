// One HTTP attempt: check the destination, sign, POST, and describe what came back. Never throws;
// every outcome becomes an AttemptResult for webhooks.record_attempts.
import { createHash } from "node:crypto";
import { type DestinationGuard } from "../_shared/ssrf.ts";
import type { PinnedPost } from "../_shared/pinned-http.ts";
import { webhookHeaders, type WebhookSigner } from "../_shared/signing.ts";
import type { AttemptResult, ClaimedDelivery } from "./store.ts";

/** Success is a 2xx within 15 s (docs/retries.md). */
export const REQUEST_TIMEOUT_MS = 15_000;
/** What an attempt keeps of the response body: at most 1 KiB (docs/webhooks.md). */
export const RESPONSE_EXCERPT_BYTES = 1024;

const encoder = new TextEncoder();

export interface SendContext {
  signer: WebhookSigner;
  guard: DestinationGuard;
  secrets: readonly string[];
  /** Sends over a connection to one of the checked addresses (the worker's PinnedHttpClient). */
  post: PinnedPost;
  now?: () => number;
}

export async function sendDelivery(delivery: ClaimedDelivery, context: SendContext): Promise<AttemptResult> {
  const now = context.now ?? Date.now;
  const startedAt = now();
  const result: AttemptResult = {
    delivery_id: delivery.deliveryId,
    lease_token: delivery.leaseToken,
    sent: true,
    retry_count: delivery.retryCount,
    started_at: new Date(startedAt).toISOString(),
    duration_ms: 0,
    response_status: null,
    response_excerpt: null,
    error: null,
    payload_sha256: createHash("sha256").update(delivery.payload).digest("hex"),
    retry_after_seconds: null,
  };
  const finish = () => ({ ...result, duration_ms: Math.max(0, Math.round(now() - startedAt)) });

  const destination = await context.guard.check(delivery.url);
  if (!destination.ok) return { ...finish(), error: `Refused: ${destination.reason}` };
  if (context.secrets.length === 0) return { ...finish(), error: "The endpoint has no signing secret." };

  const timestampSeconds = Math.floor(startedAt / 1000);
  const signature = context.signer.signatureHeader(
    context.secrets,
    delivery.eventId,
    timestampSeconds,
    delivery.payload,
  );
  const headers = webhookHeaders({
    messageId: delivery.eventId,
    timestampSeconds,
    signature,
    retryCount: delivery.retryCount,
  });

  // A timer of our own, cleared as soon as the attempt ends: AbortSignal.timeout's timer (and the
  // signal with everything it references) would stay alive for the full 15 s after the answer,
  // about 100,000 of them at a time in a backlog drained at 7,000 per second.
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new DOMException("timed out", "TimeoutError")), REQUEST_TIMEOUT_MS);
  try {
    // Connects only to the addresses just checked, with TLS for the URL's own name; redirects are
    // never followed (the client has no notion of them).
    const response = await context.post({
      url: new URL(delivery.url),
      addresses: destination.addresses,
      method: "POST",
      headers,
      body: encoder.encode(delivery.payload),
      signal: timeout.signal,
      maxBodyBytes: RESPONSE_EXCERPT_BYTES,
    });
    result.response_status = response.status;
    result.retry_after_seconds = parseRetryAfter(response.headers.get("retry-after"), now());
    result.response_excerpt = response.body.byteLength === 0
      ? null
      : truncateUtf8(new TextDecoder().decode(response.body), RESPONSE_EXCERPT_BYTES);
    if (response.status >= 300 && response.status < 400) {
      result.error = `Redirect (${response.status}) not followed${
        response.headers.has("location") ? ` to ${response.headers.get("location")?.slice(0, 200)}` : ""
      }`;
    }
  } catch (error) {
    result.error = describeFailure(error);
  } finally {
    clearTimeout(timer);
  }
  return finish();
}

/** Cuts text to at most maxBytes of UTF-8 (a decoded excerpt may have grown by replacement characters). */
export function truncateUtf8(text: string, maxBytes: number): string {
  // Postgres text cannot hold NUL.
  let value = text.replaceAll("\u0000", "");
  while (encoder.encode(value).byteLength > maxBytes) value = value.slice(0, -1);
  return value;
}

/** Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(Number(value), 2_147_483_647);
  if (!/^[A-Za-z]{3}, /.test(value)) return null;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

function describeFailure(error: unknown): string {
  if (error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `Timed out after ${REQUEST_TIMEOUT_MS} ms`;
  }
  // Deno's errors carry the transport's own words, sometimes in a cause.
  const message = [error, (error as { cause?: unknown })?.cause]
    .map((part) => (part instanceof Error ? part.message : part === undefined ? "" : String(part)))
    .join(" ");
  if (/connection refused/i.test(message)) return "Connection refused";
  if (/certificate|tls|ssl/i.test(message)) return `TLS error: ${message.slice(0, 300)}`;
  if (/connection (reset|closed)|broken pipe|unexpected eof/i.test(message)) return "The connection was closed";
  return `Request failed: ${message.slice(0, 300)}`;
}
