// The benchmarks' webhook receiver, on its own thread (a Web Worker) so that receiving never competes
// with the senders measured in bench/run.ts for one event loop. It answers every POST with 204 and
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

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
  const at = performance.timeOrigin + performance.now();
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
  return new Response(null, { status: 204 });
});

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as { kind: "reset"; trackTitles: boolean } | { kind: "stats" } | { kind: "stop" };
  if (message.kind === "reset") {
    requests = 0;
    ids = new Set();
    arrivals = new Map();
    trackTitles = message.trackTitles;
    scope.postMessage({ kind: "ok" });
  } else if (message.kind === "stats") {
    scope.postMessage({ kind: "stats", requests, distinct: ids.size, arrivals: [...arrivals] });
  } else {
    void server.shutdown().then(() => scope.postMessage({ kind: "stopped" }));
  }
};
scope.postMessage({ kind: "ready", port: server.addr.port });
