// Runs one edge function as one user worker of the local gateway's worker pool
// (local/worker-pool.ts), the way the edge runtime runs a user worker: the function calls
// `Deno.serve(handler)` (or exports `default { fetch }`) and the host serves that handler on a
// loopback port chosen by the OS, which it reports once the module has loaded. The pool measures
// the worker's CPU time and wall clock and decides when to retire or stop it; the host does what
// the runtime does inside the isolate (supabase/edge-runtime, crates/base/src/runtime/mod.rs and
// ext/runtime/js):
// - `EdgeRuntime.waitUntil(promise)` tracks the promise until it settles, and the host reports how
//   many are pending, since a worker with background work is not dropped early;
// - after each memory check (every MEMORY_CHECK_INTERVAL_MS while a request or a background task is
//   under way, when the event loop has control), heap plus external memory at half the limit is
//   reported, at the beforeunload ratio the host dispatches beforeunload with reason "memory", and
//   at the limit it reports so and is stopped;
// - `beforeunload` and `drain` events the pool sends through stdin are dispatched in the
//   function's global scope when its event loop gets control, as the runtime's interrupts are;
// - an unhandled promise rejection that no `unhandledrejection` listener prevents ends the
//   process, and with it the worker (Deno's own behaviour, which the runtime keeps).
// An exception in the handler becomes a 500 and the worker stays up. The function sees the
// runtime's Deno namespace, not plain Deno's (local/user-worker-deno.ts: no listening socket, no
// subprocess, the runtime's file system blocklist, …), and its Deno.resolveDns asks the stack's DNS
// server (local/dns-stand-in.ts) unless the function names a server itself.
//
// Usage: function-host.ts <index.ts> <memory limit MiB> <beforeunload memory ratio, percent> <DNS port>
import { getHeapStatistics } from "node:v8";
import { pathToFileURL } from "node:url";
import { userWorkerDeno } from "./user-worker-deno.ts";
import {
  type BeforeunloadReason,
  type HostMessage,
  hostMessageLine,
  lines,
  parseControlMessage,
} from "./function-host-protocol.ts";

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

const MEMORY_CHECK_INTERVAL_MS = 25;
// Background work a function hands to EdgeRuntime.waitUntil outlives its response; on SIGTERM the
// host gives it this long before exiting.
const SHUTDOWN_GRACE_MS = 5_000;

const [entry, memoryLimitMb, beforeunloadMemoryPct, dnsPort] = [
  Deno.args[0],
  Number(Deno.args[1]),
  Number(Deno.args[2]),
  Number(Deno.args[3]),
];
if (
  !entry || !(memoryLimitMb > 0) || !(beforeunloadMemoryPct >= 0 && beforeunloadMemoryPct < 100) || !(dnsPort > 0)
) {
  throw new Error(
    "usage: function-host.ts <index.ts> <memory limit MiB> <beforeunload memory ratio, percent> <DNS port>",
  );
}
const memoryLimitBytes = memoryLimitMb * 2 ** 20;

// What the host itself uses of plain Deno, kept before the function's namespace replaces it.
const plainDeno = Deno;
const hostDeno = { stdout: Deno.stdout, stdin: Deno.stdin, exit: Deno.exit, ppid: () => plainDeno.ppid };

const encoder = new TextEncoder();
function report(message: HostMessage) {
  const bytes = encoder.encode(hostMessageLine(message));
  let written = 0;
  while (written < bytes.length) written += hostDeno.stdout.writeSync(bytes.subarray(written));
}

function dispatchBeforeunload(reason: BeforeunloadReason) {
  globalThis.dispatchEvent(new CustomEvent("beforeunload", { cancelable: true, detail: { reason } }));
}

// ---------------------------------------------------------------------------------------------
// Deno.serve: the function's handler, served on a port of the host's choosing
// ---------------------------------------------------------------------------------------------

const realServe = Deno.serve;
let server: Deno.HttpServer | undefined;
let announcePort: (port: number) => void;
const listening = new Promise<number>((resolve) => (announcePort = resolve));

function workerError(error: unknown): Response {
  console.error(error);
  return Response.json(
    { code: "WORKER_ERROR", message: "Function exited due to an error (please check logs)" },
    { status: 500 },
  );
}

let requestsInFlight = 0;

function serve(handler: Handler): Deno.HttpServer {
  if (server) throw new Error("Deno.serve was called twice; an edge function serves one handler");
  server = realServe({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => announcePort(port),
    onError: workerError,
  }, async (request, info) => {
    requestsInFlight += 1;
    checkMemoryWhileBusy();
    try {
      return await handler(request, info);
    } finally {
      requestsInFlight -= 1;
      checkMemoryWhileBusy();
    }
  });
  return server;
}

function handlerFrom(args: unknown[]): Handler {
  const [first, second] = args;
  if (typeof first === "function") return first as Handler;
  if (typeof second === "function") return second as Handler;
  const options = first as { handler?: Handler } | undefined;
  if (typeof options?.handler === "function") return options.handler;
  throw new Error("Deno.serve was called without a handler");
}

// The edge runtime ignores the port and hostname a function asks for; so does the host.
Object.defineProperty(Deno, "serve", {
  value: (...args: unknown[]) => serve(handlerFrom(args)),
  configurable: true,
  writable: true,
});

// ---------------------------------------------------------------------------------------------
// EdgeRuntime.waitUntil, counted as the runtime counts it (ext/runtime/js/async_hook.js): each call
// with a promise is one more pending task, and a tracked promise settling is one fewer. The
// promise is observed through a promise hook rather than a handler of ours, so a rejection nobody
// handles is still an unhandled rejection that ends the worker.
// ---------------------------------------------------------------------------------------------

interface DenoCore {
  setPromiseHooks(
    init: null,
    before: null,
    after: null,
    resolve: (promise: Promise<unknown>) => void,
  ): void;
}
const denoInternals = (Deno as unknown as Record<symbol, { core?: DenoCore }>)[
  (Deno as unknown as { internal: symbol }).internal
];
if (typeof denoInternals?.core?.setPromiseHooks !== "function") {
  throw new Error("this Deno does not expose core.setPromiseHooks, which EdgeRuntime.waitUntil needs");
}

const trackedPromises = new Set<Promise<unknown>>();
let tasksStarted = 0;
let tasksSettled = 0;
let onTasksSettled: (() => void) | undefined;
const pendingTasks = () => tasksStarted - tasksSettled;

denoInternals.core.setPromiseHooks(null, null, null, (promise) => {
  if (!trackedPromises.delete(promise)) return;
  tasksSettled += 1;
  report({ event: "background-tasks", pending: pendingTasks() });
  checkMemoryWhileBusy();
  if (pendingTasks() === 0) onTasksSettled?.();
});

Object.defineProperty(globalThis, "EdgeRuntime", {
  value: {
    waitUntil<T>(maybePromise: T): T {
      if (maybePromise instanceof Promise) {
        tasksStarted += 1;
        trackedPromises.add(maybePromise);
        report({ event: "background-tasks", pending: pendingTasks() });
        checkMemoryWhileBusy();
      }
      return maybePromise;
    },
  },
  configurable: true,
});

// ---------------------------------------------------------------------------------------------
// Memory: used heap plus external memory (array buffers), as the runtime's memory check adds them
// ---------------------------------------------------------------------------------------------

const beforeunloadMemoryBytes = beforeunloadMemoryPct > 0 ? memoryLimitBytes * beforeunloadMemoryPct / 100 : Infinity;
let memoryHalfReached = false;
let memoryBeforeunloadDispatched = false;
let memoryLimitReached = false;

// An idle worker's memory does not change, and checking it would cost CPU time hosted never
// charges: the runtime checks after each turn of the event loop, which an idle worker does not take.
let memoryCheckTimer: ReturnType<typeof setInterval> | undefined;
function checkMemoryWhileBusy() {
  const busy = requestsInFlight > 0 || pendingTasks() > 0;
  if (busy && memoryCheckTimer === undefined) {
    memoryCheckTimer = setInterval(checkMemory, MEMORY_CHECK_INTERVAL_MS);
  } else if (!busy && memoryCheckTimer !== undefined) {
    clearInterval(memoryCheckTimer);
    memoryCheckTimer = undefined;
    checkMemory();
  }
}

function checkMemory() {
  if (memoryLimitReached) return;
  const { used_heap_size, external_memory } = getHeapStatistics();
  const usedBytes = used_heap_size + external_memory;
  if ((usedBytes >= memoryLimitBytes / 2) !== memoryHalfReached) {
    memoryHalfReached = !memoryHalfReached;
    report({ event: "memory-half", reached: memoryHalfReached });
  }
  if (usedBytes >= memoryLimitBytes) {
    memoryLimitReached = true;
    report({ event: "memory-limit", usedBytes });
  } else if (usedBytes >= beforeunloadMemoryBytes && !memoryBeforeunloadDispatched) {
    memoryBeforeunloadDispatched = true;
    dispatchBeforeunload("memory");
  }
}

// ---------------------------------------------------------------------------------------------
// The pool's control messages (stdin)
// ---------------------------------------------------------------------------------------------

async function followControlMessages() {
  for await (const line of lines(hostDeno.stdin.readable)) {
    if (line.trim() === "") continue;
    const message = parseControlMessage(line);
    switch (message.event) {
      case "beforeunload":
        dispatchBeforeunload(message.reason);
        break;
      case "drain":
        globalThis.dispatchEvent(new Event("drain"));
        break;
      case "early-drop":
        dispatchBeforeunload("early_drop");
        report({ event: "early-drop-dispatched" });
        break;
    }
  }
}

let shuttingDown = false;
Deno.addSignalListener("SIGTERM", async () => {
  shuttingDown = true;
  const settled = new Promise<void>((resolve) => {
    onTasksSettled = resolve;
    if (pendingTasks() === 0) resolve();
  });
  await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS))]);
  hostDeno.exit(0);
});

// A host outlives nothing: when the gateway that started it goes away, so does the host.
const gatewayPid = hostDeno.ppid();
setInterval(() => {
  if (hostDeno.ppid() !== gatewayPid && !shuttingDown) hostDeno.exit(0);
}, 1000);

// ---------------------------------------------------------------------------------------------
// The function's Deno namespace: the edge runtime's user worker namespace (local/user-worker-deno.ts)
// ---------------------------------------------------------------------------------------------

const realResolveDns = Deno.resolveDns;
const resolveDnsLocally =
  ((query: string, recordType: Deno.RecordType, options?: Deno.ResolveDnsOptions) =>
    realResolveDns(query, recordType as "A", {
      ...options,
      nameServer: options?.nameServer ?? { ipAddr: "127.0.0.1", port: dnsPort },
    })) as typeof Deno.resolveDns;
let moduleLoading = true;
Object.defineProperty(globalThis, "Deno", {
  value: userWorkerDeno(Deno, {
    serve: (...args: unknown[]) => serve(handlerFrom(args)),
    resolveDns: resolveDnsLocally,
    loading: () => moduleLoading,
  }),
  writable: false,
  enumerable: true,
  configurable: true,
});

const module = await import(pathToFileURL(entry).href);
moduleLoading = false;
if (!server) {
  const fetchHandler = module.default?.fetch;
  if (typeof fetchHandler !== "function") {
    throw new Error(`${entry} neither called Deno.serve nor exported default { fetch }`);
  }
  serve(fetchHandler.bind(module.default));
}
const port = await listening;
checkMemory();
void followControlMessages();
report({ event: "ready", port });
