// The benchmarks' webhook receiver, on its own thread (a Web Worker; bench/receiver.ts drives it) so
// that receiving never competes with the senders measured for one event loop. It serves plain http
// on 127.0.0.1, and https too when started with a certificate, answers every POST with 204 and
// reports, on request, how many requests arrived, how many distinct webhook-ids (duplicates are
// the difference) and, for requests carrying a job title, the absolute arrival time of the first
// byte (performance.timeOrigin + now(), comparable across threads).
interface Scope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;

let requests = 0;
let ids = new Set<string>();
let arrivals = new Map<string, number>();
let trackTitles = false;

/**
 * What a path asks of the receiver besides 204 at once: a path ending in `/close` is answered with
 * `Connection: close` (every request a new connection, so a new TLS handshake over https), `/slow/<ms>` answers after that long (an
 * endpoint that is slow), `/fail-once/<kind>` fails a delivery's first attempt (X-Retry-Count 0) with
 * `429` and `Retry-After: 2`, `503` and a Retry-After date 3 s ahead, or `500` (the backoff), and
 * accepts its retry.
 */
async function special(path: string, retryCount: string | null): Promise<Response | null> {
  const slow = path.match(/^\/slow\/(\d+)$/);
  if (slow) {
    await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
    return null;
  }
  const failOnce = path.match(/^\/fail-once\/(429|503|500)$/);
  if (failOnce && retryCount === "0") {
    const headers: Record<string, string> = failOnce[1] === "429"
      ? { "Retry-After": "2" }
      : failOnce[1] === "503"
      ? { "Retry-After": new Date(Date.now() + 3_000).toUTCString() }
      : {};
    return new Response("not yet", { status: Number(failOnce[1]), headers });
  }
  return null;
}

async function receive(request: Request): Promise<Response> {
  const at = performance.timeOrigin + performance.now();
  const path = new URL(request.url).pathname;
  const answer = await special(path, request.headers.get("x-retry-count"));
  if (answer) {
    await request.arrayBuffer();
    return answer;
  }
  const id = request.headers.get("webhook-id") ?? "";
  requests++;
  ids.add(id);
  if (trackTitles) {
    const body = await request.json();
    const title = body?.data?.job?.title ?? body?.job?.title;
    if (typeof title === "string" && !arrivals.has(title)) arrivals.set(title, at);
  } else {
    await request.arrayBuffer();
  }
  return new Response(null, { status: 204, headers: path.endsWith("/close") ? { connection: "close" } : {} });
}

let servers: Deno.HttpServer[] = [];

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as
    | { kind: "start"; cert?: string; key?: string }
    | { kind: "reset"; trackTitles: boolean }
    | { kind: "stats" }
    | { kind: "stop" };
  if (message.kind === "start") {
    const options = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
    const http = Deno.serve(options, receive);
    const https = message.cert && message.key
      ? Deno.serve({ ...options, cert: message.cert, key: message.key }, receive)
      : undefined;
    servers = https ? [http, https] : [http];
    scope.postMessage({ kind: "ready", port: http.addr.port, httpsPort: https?.addr.port });
  } else if (message.kind === "reset") {
    requests = 0;
    ids = new Set();
    arrivals = new Map();
    trackTitles = message.trackTitles;
    scope.postMessage({ kind: "ok" });
  } else if (message.kind === "stats") {
    scope.postMessage({ kind: "stats", requests, distinct: ids.size, arrivals: [...arrivals] });
  } else {
    void Promise.all(servers.map((server) => server.shutdown())).then(() => scope.postMessage({ kind: "stopped" }));
  }
};
