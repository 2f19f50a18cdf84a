// Standard Webhooks signing, sender side (https://www.standardwebhooks.com/): the secret is
// `whsec_` + base64 key bytes; the signature is `v1,` + base64 HMAC-SHA256 of
// `{webhook-id}.{webhook-timestamp}.{body}`; several signatures are space separated. Receivers
// verify with the standardwebhooks or svix libraries unchanged.

import { createHmac } from "node:crypto";

export const ENDPOINT_SECRET_PREFIX = "whsec_";
/** Key bytes in a new secret (the specification asks for at least 24). */
const SECRET_BYTES = 32;
const MIN_SECRET_BYTES = 24;
/** Decoded keys one instance keeps; a dispatcher signs for few endpoints at a time. */
const KEY_CACHE_LIMIT = 1_000;
export const WEBHOOK_USER_AGENT = "CJH-Webhooks/1.0";

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function generateEndpointSecret(): string {
  return ENDPOINT_SECRET_PREFIX + base64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

function secretKeyBytes(secret: string): Uint8Array<ArrayBuffer> {
  if (!secret.startsWith(ENDPOINT_SECRET_PREFIX)) throw new Error("a webhook secret starts with whsec_");
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.from(atob(secret.slice(ENDPOINT_SECRET_PREFIX.length)), (char) => char.charCodeAt(0));
  } catch {
    throw new Error("a webhook secret is whsec_ followed by base64");
  }
  if (bytes.byteLength < MIN_SECRET_BYTES) throw new Error(`a webhook secret holds at least ${MIN_SECRET_BYTES} bytes`);
  return bytes;
}

/**
 * Signs messages, keeping each secret's HMAC key for reuse. Synchronous (node:crypto) on purpose:
 * WebCrypto's sign runs every signature on a blocking-pool thread and resolves a promise, which on
 * the dispatcher's one JS thread cost 12 µs per signature against 5 µs here, and spread its
 * allocations over 32 extra threads.
 */
export class WebhookSigner {
  // Raw key bytes: createHmac exports a KeyObject's bytes again on every call.
  #keys = new Map<string, Uint8Array>();

  #key(secret: string): Uint8Array {
    let key = this.#keys.get(secret);
    if (!key) {
      key = secretKeyBytes(secret);
      this.#keys.set(secret, key);
      if (this.#keys.size > KEY_CACHE_LIMIT) this.#keys.delete(this.#keys.keys().next().value!);
    }
    return key;
  }

  /** `v1,<base64 signature>` of one message with one secret. */
  sign(secret: string, messageId: string, timestampSeconds: number, body: string): string {
    const hmac = createHmac("sha256", this.#key(secret));
    return `v1,${hmac.update(`${messageId}.${timestampSeconds}.${body}`).digest("base64")}`;
  }

  /** The webhook-signature header: one signature per secret, in the given order, space separated. */
  signatureHeader(secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): string {
    return secrets.map((secret) => this.sign(secret, messageId, timestampSeconds, body)).join(" ");
  }
}

/** The headers of one delivery attempt (docs/webhooks.md). */
export function webhookHeaders(
  { messageId, timestampSeconds, signature, retryCount }: {
    messageId: string;
    timestampSeconds: number;
    signature: string;
    retryCount: number;
  },
): Record<string, string> {
  return {
    "webhook-id": messageId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signature,
    "X-Retry-Count": String(retryCount),
    "Content-Type": "application/json",
    "User-Agent": WEBHOOK_USER_AGENT,
  };
}
