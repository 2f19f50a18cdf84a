// The pieces of one attempt that do not need the stack: Retry-After parsing, the 1 KiB response
// excerpt, and what an attempt against a real local server records.
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { DestinationGuard } from "../supabase/functions/_shared/ssrf.ts";
import { PinnedHttpClient } from "../supabase/functions/_shared/pinned-http.ts";
import { generateEndpointSecret, WebhookSigner } from "../supabase/functions/_shared/signing.ts";
import { parseRetryAfter, sendDelivery, truncateUtf8 } from "../supabase/functions/webhook-dispatch/sender.ts";

const NOW = Date.parse("2026-11-28T12:00:00Z");

// A full garbage collection on demand, to see what an attempt leaves alive once it has ended.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

function claimed(url: string, retryCount: number) {
  return {
    deliveryId: "1",
    leaseToken: crypto.randomUUID(),
    leaseSeconds: 60,
    claimedAt: new Date(),
    eventId: "evt_0123456789abcdef0123456789abcdef",
    endpointId: crypto.randomUUID(),
    url,
    retryCount,
    payload: "{}",
    secretsVersion: "v",
    allowLoopback: true,
  };
}

Deno.test("Retry-After in seconds is taken as is", () => {
  assert.equal(parseRetryAfter("120", NOW), 120);
  assert.equal(parseRetryAfter(" 7 ", NOW), 7);
});

Deno.test("Retry-After as an HTTP date becomes the seconds until then", () => {
  assert.equal(parseRetryAfter("Sat, 28 Nov 2026 12:01:30 GMT", NOW), 90);
  assert.equal(parseRetryAfter("Sat, 28 Nov 2026 11:00:00 GMT", NOW), 0);
});

Deno.test("a Retry-After that is neither is ignored", () => {
  assert.equal(parseRetryAfter("soon", NOW), null);
  assert.equal(parseRetryAfter("-5", NOW), null);
  assert.equal(parseRetryAfter(null, NOW), null);
});

Deno.test("an excerpt is cut to 1 KiB of UTF-8 without splitting a character, and without NUL", () => {
  const cut = truncateUtf8("é".repeat(1000), 1024);
  assert.equal(new TextEncoder().encode(cut).byteLength, 1024);
  assert.equal(cut, "é".repeat(512));
  assert.equal(truncateUtf8("a\u0000b", 10), "ab");
});

Deno.test("an attempt records the status, at most 1 KiB of the answer and the body's SHA-256", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    await request.text();
    return new Response("x".repeat(5000), { status: 503, headers: { "Retry-After": "30" } });
  });
  try {
    const result = await sendDelivery(claimed(`http://127.0.0.1:${server.addr.port}/hook`, 2), {
      signer: new WebhookSigner(),
      guard: new DestinationGuard({ allowLoopback: true }),
      secrets: [generateEndpointSecret()],
      post: new PinnedHttpClient().request,
    });
    assert.equal(result.response_status, 503);
    assert.equal(result.retry_after_seconds, 30);
    assert.equal(result.response_excerpt, "x".repeat(1024));
    assert.equal(result.retry_count, 2);
    assert.equal(result.payload_sha256, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    assert.equal(result.sent, true);
  } finally {
    await server.shutdown();
  }
});

Deno.test("an attempt to a refused destination sends nothing and says why", async () => {
  const result = await sendDelivery(claimed("http://127.0.0.1:9/hook", 0), {
    signer: new WebhookSigner(),
    guard: new DestinationGuard({ allowLoopback: false }),
    secrets: [generateEndpointSecret()],
    post: () => Promise.reject(new Error("must not be called")),
  });
  assert.equal(result.response_status, null);
  assert.match(result.error ?? "", /^Refused: .*loopback/);
});

Deno.test("an answered attempt leaves nothing alive behind it (no timeout timer holding its request for 15 s)", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    await request.text();
    return new Response(null, { status: 204 });
  });
  try {
    let signal: WeakRef<AbortSignal> | null = null;
    const client = new PinnedHttpClient();
    const result = await sendDelivery(claimed(`http://127.0.0.1:${server.addr.port}/hook`, 0), {
      signer: new WebhookSigner(),
      guard: new DestinationGuard({ allowLoopback: true }),
      secrets: [generateEndpointSecret()],
      post: (request) => {
        signal = new WeakRef(request.signal);
        return client.request(request);
      },
    });
    assert.equal(result.response_status, 204);
    await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRefs hold their target until the job ends
    collectGarbage();
    assert.equal(signal!.deref(), undefined, "the attempt's abort signal is still referenced");
  } finally {
    await server.shutdown();
  }
});
