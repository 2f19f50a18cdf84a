// The https bench's receiver (bench/https_delivery.ts), on its own thread: an https server (the
// certificate it is sent) and a plain http one, both on 127.0.0.1, answering every POST with 204
// and counting distinct webhook-ids. A path ending in `/close` answers with `Connection: close`,
// so every request of that endpoint arrives on a new connection (a new TLS handshake over https).
interface Scope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;

let requests = 0;
let ids = new Set<string>();

async function answer(request: Request): Promise<Response> {
  await request.arrayBuffer();
  requests++;
  ids.add(request.headers.get("webhook-id") ?? "");
  const close = new URL(request.url).pathname.endsWith("/close");
  return new Response(null, { status: 204, headers: close ? { connection: "close" } : {} });
}

let servers: Deno.HttpServer[] = [];

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as
    | { kind: "start"; cert: string; key: string }
    | { kind: "reset" }
    | { kind: "stats" }
    | { kind: "stop" };
  if (message.kind === "start") {
    const options = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
    const https = Deno.serve({ ...options, cert: message.cert, key: message.key }, answer);
    const http = Deno.serve(options, answer);
    servers = [https, http];
    scope.postMessage({ kind: "ready", httpsPort: https.addr.port, httpPort: http.addr.port });
  } else if (message.kind === "reset") {
    requests = 0;
    ids = new Set();
    scope.postMessage({ kind: "ok" });
  } else if (message.kind === "stats") {
    scope.postMessage({ kind: "stats", requests, distinct: ids.size });
  } else {
    void Promise.all(servers.map((server) => server.shutdown())).then(() => scope.postMessage({ kind: "stopped" }));
  }
};
