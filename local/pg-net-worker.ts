// The pg_net stand-in's worker (see local/bootstrap/30-pg-net-stand-in.sql). Like pg_net's background
// worker it takes committed rows from net.http_request_queue, sends them, and records each outcome
// in net._http_response under the request's id: any HTTP status is a response, after following
// redirects as pg_net's libcurl does; a transport failure sets error_msg, and a timeout also sets
// timed_out. Requests queued with null headers go out with none at all, User-Agent included. It is woken by NOTIFY when a transaction that
// queued requests commits, and polls as a fallback. Started by scripts/stack.mjs; local only.
import postgres from "npm:postgres@3.4.9";

const BATCH_SIZE = 200; // pg_net.batch_size's default
const POLL_INTERVAL_MS = 1000;
const TTL_SWEEP_INTERVAL_MS = 60_000;
const USER_AGENT = "pg_net/0.20.4";
const CONTENT_LIMIT_BYTES = 1024 * 1024;

function requiredEnv(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set; start the worker with scripts/stack.mjs`);
  return value;
}

const sql = postgres({
  host: requiredEnv("CJH_PG_SOCKET_DIR"),
  port: Number(requiredEnv("CJH_DB_PORT")),
  user: requiredEnv("CJH_ADMIN_ROLE"),
  database: "postgres",
  max: 4,
  onnotice: () => {},
  connection: { application_name: "pg_net stand-in worker" },
});

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Uint8Array<ArrayBuffer> | null;
  timeout_milliseconds: number;
}

interface RecordedResponse {
  id: string;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean | null;
  error_msg: string | null;
}

function describeTransportError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/connection refused/i.test(message)) return "Couldn't connect to server";
  if (/dns|lookup|name or service not known|failed to lookup/i.test(message)) {
    return "Couldn't resolve host name";
  }
  return message;
}

async function send(request: QueuedRequest): Promise<RecordedResponse> {
  const startedAt = performance.now();
  const headers = new Headers(request.headers === null ? {} : { "User-Agent": USER_AGENT });
  for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name, String(value));
  try {
    const response = await fetch(request.url, {
      method: request.method.toUpperCase(),
      headers,
      body: request.body,
      redirect: "follow",
      signal: AbortSignal.timeout(request.timeout_milliseconds),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return {
      id: request.id,
      status_code: response.status,
      content_type: response.headers.get("content-type"),
      headers: Object.fromEntries(response.headers),
      content: new TextDecoder().decode(bytes.subarray(0, CONTENT_LIMIT_BYTES)),
      timed_out: false,
      error_msg: null,
    };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    const elapsedMs = (performance.now() - startedAt).toFixed(3);
    return {
      id: request.id,
      status_code: null,
      content_type: null,
      headers: null,
      content: null,
      timed_out: timedOut,
      error_msg: timedOut
        ? `Timeout of ${request.timeout_milliseconds} ms reached. Total time: ${elapsedMs} ms`
        : describeTransportError(error),
    };
  }
}

/** Takes up to BATCH_SIZE committed requests, sends them concurrently, records the outcomes. */
async function processBatch(): Promise<number> {
  const requests = await sql<QueuedRequest[]>`
    delete from net.http_request_queue
     where id in (select id from net.http_request_queue order by id limit ${BATCH_SIZE} for update skip locked)
    returning id, method, url, headers, body, timeout_milliseconds`;
  if (requests.length === 0) return 0;
  const responses = await Promise.all(requests.map(send));
  await sql`
    insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
    select id, status_code, content_type, headers, content, timed_out, error_msg
      from jsonb_to_recordset(${sql.json(responses as unknown as postgres.JSONValue)})
        as r(id bigint, status_code int, content_type text, headers jsonb, content text, timed_out bool, error_msg text)`;
  return requests.length;
}

let draining = false;
let wakeAgain = false;

async function drain(): Promise<void> {
  if (draining) {
    wakeAgain = true;
    return;
  }
  draining = true;
  try {
    do {
      wakeAgain = false;
      while ((await processBatch()) === BATCH_SIZE) { /* more may be waiting */ }
    } while (wakeAgain);
  } catch (error) {
    console.error(`pg_net worker: ${error instanceof Error ? error.message : error}`);
  } finally {
    draining = false;
  }
}

async function sweepExpiredResponses(): Promise<void> {
  try {
    await sql`
      delete from net._http_response
       where created < now() - coalesce(nullif(current_setting('pg_net.ttl', true), ''), '6 hours')::interval`;
  } catch (error) {
    console.error(`pg_net worker: ttl sweep failed: ${error instanceof Error ? error.message : error}`);
  }
}

await sql.listen("pg_net_stand_in", () => void drain(), () => void drain());
setInterval(() => void drain(), POLL_INTERVAL_MS);
setInterval(() => void sweepExpiredResponses(), TTL_SWEEP_INTERVAL_MS);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {
    void sql.end({ timeout: 2 }).finally(() => Deno.exit(0));
  });
}
console.log("pg_net worker ready");
