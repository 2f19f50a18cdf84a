// A webhook receiver for CJH in Deno: verify the signature on the raw body, ignore duplicates,
// answer fast. Run: CJH_WEBHOOK_SECRET=whsec_… deno run --allow-net --allow-env docs/examples/verify-deno.ts [port]
import { Webhook } from "npm:standardwebhooks@1.1.1";

/** Verifies one delivery and returns the event, or throws. `rawBody` is the body as received. */
export function verifyDelivery(secret: string, headers: Headers, rawBody: string): unknown {
  return new Webhook(secret).verify(rawBody, {
    "webhook-id": headers.get("webhook-id") ?? "",
    "webhook-timestamp": headers.get("webhook-timestamp") ?? "",
    "webhook-signature": headers.get("webhook-signature") ?? "",
  });
}

/** A request handler that verifies, deduplicates on webhook-id and hands each event to `onEvent` once. */
export function receiver(secret: string, onEvent: (event: unknown) => void): (request: Request) => Promise<Response> {
  const seen = new Set<string>(); // use a table with a unique key in production
  return async (request) => {
    const rawBody = await request.text();
    let event: unknown;
    try {
      event = verifyDelivery(secret, request.headers, rawBody);
    } catch {
      return new Response("invalid signature", { status: 400 });
    }
    const id = request.headers.get("webhook-id")!;
    if (!seen.has(id)) {
      seen.add(id);
      onEvent(event);
    }
    return new Response(null, { status: 204 });
  };
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 3000);
  Deno.serve(
    { hostname: "127.0.0.1", port },
    receiver(Deno.env.get("CJH_WEBHOOK_SECRET")!, (event) => console.log(JSON.stringify(event))),
  );
}
