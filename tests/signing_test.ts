// The sender's Standard Webhooks signatures, checked by the receivers' libraries unchanged:
// standardwebhooks and svix accept them, with one secret or a rotation pair, and reject tampering,
// the wrong secret and stale timestamps. One test per failure mode.
import assert from "node:assert/strict";
import { Webhook as StandardWebhook } from "npm:standardwebhooks@1.1.1";
import { Webhook as SvixWebhook } from "npm:svix@2.5.0";
import {
  ENDPOINT_SECRET_PREFIX,
  generateEndpointSecret,
  WEBHOOK_USER_AGENT,
  webhookHeaders,
  WebhookSigner,
} from "../supabase/functions/_shared/signing.ts";

const signer = new WebhookSigner();
const body = JSON.stringify({
  id: "evt_0123456789abcdef0123456789abcdef",
  event: "job.created",
  job: { title: "Sink" },
});
const messageId = "evt_0123456789abcdef0123456789abcdef";

function signed(secrets: string[], timestampSeconds = Math.floor(Date.now() / 1000), retryCount = 0) {
  const signature = signer.signatureHeader(secrets, messageId, timestampSeconds, body);
  return webhookHeaders({ messageId, timestampSeconds, signature, retryCount });
}

/** The libraries want lower-case header names, as a Node or Deno server hands them over. */
function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

Deno.test("a new secret is whsec_ and the base64 of 32 random bytes", () => {
  const secret = generateEndpointSecret();
  assert.ok(secret.startsWith(ENDPOINT_SECRET_PREFIX));
  const bytes = atob(secret.slice(ENDPOINT_SECRET_PREFIX.length));
  assert.equal(bytes.length, 32);
  assert.notEqual(generateEndpointSecret(), secret);
});

Deno.test("a signed delivery verifies with standardwebhooks, unchanged", () => {
  const secret = generateEndpointSecret();
  const headers = lowerCased(signed([secret]));
  assert.deepEqual(new StandardWebhook(secret).verify(body, headers), JSON.parse(body));
});

Deno.test("a signed delivery verifies with svix, unchanged (it reads the webhook-* headers)", () => {
  const secret = generateEndpointSecret();
  const headers = lowerCased(signed([secret]));
  assert.doesNotThrow(() => new SvixWebhook(secret).verify(body, headers));
});

Deno.test("during a rotation either secret alone verifies the two-signature header", () => {
  const [newSecret, oldSecret] = [generateEndpointSecret(), generateEndpointSecret()];
  const headers = lowerCased(signed([newSecret, oldSecret]));
  assert.equal(headers["webhook-signature"].split(" ").length, 2);
  for (const secret of [newSecret, oldSecret]) {
    assert.deepEqual(new StandardWebhook(secret).verify(body, headers), JSON.parse(body));
    assert.doesNotThrow(() => new SvixWebhook(secret).verify(body, headers));
  }
});

Deno.test("a tampered body fails verification", () => {
  const secret = generateEndpointSecret();
  const headers = lowerCased(signed([secret]));
  assert.throws(() => new StandardWebhook(secret).verify(body.replace("Sink", "Tub"), headers));
  assert.throws(() => new SvixWebhook(secret).verify(body.replace("Sink", "Tub"), headers));
});

Deno.test("another endpoint's secret fails verification", () => {
  const headers = lowerCased(signed([generateEndpointSecret()]));
  assert.throws(() => new StandardWebhook(generateEndpointSecret()).verify(body, headers));
});

Deno.test("a timestamp older than the libraries' 5-minute tolerance fails verification", () => {
  const secret = generateEndpointSecret();
  const headers = lowerCased(signed([secret], Math.floor(Date.now() / 1000) - 6 * 60));
  assert.throws(() => new StandardWebhook(secret).verify(body, headers), /timestamp/i);
});

Deno.test("signing is deterministic for the same message, and cached keys change nothing", () => {
  const secret = generateEndpointSecret();
  const first = new WebhookSigner().sign(secret, messageId, 1_700_000_000, body);
  const again = signer.sign(secret, messageId, 1_700_000_000, body);
  const cached = signer.sign(secret, messageId, 1_700_000_000, body);
  assert.equal(first, again);
  assert.equal(again, cached);
  assert.match(first, /^v1,[A-Za-z0-9+/]{43}=$/);
});

Deno.test("a malformed or short secret is refused rather than used", () => {
  assert.throws(() => signer.sign("not-a-secret", messageId, 1, body), /whsec_/);
  assert.throws(() => signer.sign(`${ENDPOINT_SECRET_PREFIX}${btoa("too short")}`, messageId, 1, body), /24 bytes/);
  assert.throws(() => signer.sign(`${ENDPOINT_SECRET_PREFIX}!!!`, messageId, 1, body), /base64/);
});

Deno.test("the signature is computed on the spot, byte for byte the specification's example", () => {
  // spec/standard-webhooks.md, "Signature scheme": the same secret, id, timestamp and body.
  const signature = signer.sign(
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_p5jXN8AQM9LWM0D4loKWxJek",
    1614265330,
    '{"test": 2432232314}',
  );
  assert.equal(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
});

Deno.test("each attempt carries webhook-id, webhook-timestamp, webhook-signature, X-Retry-Count, JSON and our User-Agent", () => {
  assert.deepEqual(webhookHeaders({ messageId, timestampSeconds: 1_700_000_000, signature: "v1,abc", retryCount: 3 }), {
    "webhook-id": messageId,
    "webhook-timestamp": "1700000000",
    "webhook-signature": "v1,abc",
    "X-Retry-Count": "3",
    "Content-Type": "application/json",
    "User-Agent": WEBHOOK_USER_AGENT,
  });
});
