// A webhook receiver for CJH in Node.js: verify the signature on the raw body, ignore duplicates,
// answer fast. Run: CJH_WEBHOOK_SECRET=whsec_… node docs/examples/verify-node.mjs [port]
// It serves https itself when TLS_CERT_FILE and TLS_KEY_FILE name a PEM certificate and key
// (CJH delivers only to https URLs; otherwise put it behind your https proxy).
// Needs `npm install standardwebhooks`.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";

/**
 * Verifies one delivery and returns the event, or throws. `headers` as Node gives them (lower-case
 * names); `rawBody` is the body exactly as received, before any JSON parsing.
 */
export function verifyDelivery(secret, headers, rawBody) {
  return new Webhook(secret).verify(rawBody, {
    "webhook-id": headers["webhook-id"],
    "webhook-timestamp": headers["webhook-timestamp"],
    "webhook-signature": headers["webhook-signature"],
  });
}

/**
 * A server that verifies, deduplicates on webhook-id and hands each event to `onEvent` once; an
 * https server when `tls` (`{ cert, key }`, PEM) is given.
 */
export function createReceiver(secret, onEvent, tls) {
  const seen = new Set(); // use a table with a unique key in production
  const handle = (request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      let event;
      try {
        event = verifyDelivery(secret, request.headers, rawBody);
      } catch {
        response.writeHead(400).end("invalid signature");
        return;
      }
      const id = request.headers["webhook-id"];
      if (!seen.has(id)) {
        seen.add(id);
        onEvent(event, { retryCount: Number(request.headers["x-retry-count"] ?? 0) });
      }
      response.writeHead(204).end();
    });
  };
  return tls ? createHttpsServer(tls, handle) : createServer(handle);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 3000);
  const { TLS_CERT_FILE, TLS_KEY_FILE } = process.env;
  const tls = TLS_CERT_FILE && TLS_KEY_FILE
    ? { cert: readFileSync(TLS_CERT_FILE), key: readFileSync(TLS_KEY_FILE) }
    : undefined;
  createReceiver(process.env.CJH_WEBHOOK_SECRET, (event) => console.log(JSON.stringify(event)), tls)
    .listen(port, "127.0.0.1", () => console.log(`listening on ${port}${tls ? " (https)" : ""}`));
}
