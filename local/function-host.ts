// Runs one edge function in its own process for the local gateway (local/gateway.ts), the way the
// edge runtime runs a user worker: the function calls `Deno.serve(handler)` (or exports
// `default { fetch }`) and the host serves that handler on a loopback port chosen by the OS, which
// it reports to the gateway as its first line of output. `EdgeRuntime.waitUntil` is provided, as on
// hosted. An exception in the handler becomes a 500 and the process stays up.
import { pathToFileURL } from "node:url";
import { HOST_READY_PREFIX } from "./function-host-protocol.ts";

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

const entry = Deno.args[0];
if (!entry) throw new Error("usage: function-host.ts <path to the function's index.ts>");

const realServe = Deno.serve;
let serving = false;

function workerError(error: unknown): Response {
  console.error(error);
  return Response.json(
    { code: "WORKER_ERROR", message: "Function exited due to an error (please check logs)" },
    { status: 500 },
  );
}

function serve(handler: Handler): Deno.HttpServer {
  if (serving) throw new Error("Deno.serve was called twice; an edge function serves one handler");
  serving = true;
  return realServe({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`${HOST_READY_PREFIX}${port}`),
    onError: workerError,
  }, handler);
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

// Background work a function hands to EdgeRuntime.waitUntil outlives its response; on SIGTERM the
// host gives it a grace period before exiting, as the runtime does before it retires a worker.
const SHUTDOWN_GRACE_MS = 5_000;
const pending = new Set<Promise<unknown>>();
Object.defineProperty(globalThis, "EdgeRuntime", {
  value: {
    waitUntil(promise: Promise<unknown>) {
      const tracked = Promise.resolve(promise).catch((error) => console.error(error)).finally(() =>
        pending.delete(tracked)
      );
      pending.add(tracked);
    },
  },
  configurable: true,
});

Deno.addSignalListener("SIGTERM", async () => {
  await Promise.race([
    Promise.allSettled(pending),
    new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS)),
  ]);
  Deno.exit(0);
});

globalThis.addEventListener("unhandledrejection", (event) => {
  console.error("unhandled rejection:", event.reason);
  event.preventDefault();
});

// A host outlives nothing: when the gateway that started it goes away, so does the host.
const gatewayPid = Deno.ppid;
setInterval(() => {
  if (Deno.ppid !== gatewayPid) Deno.exit(0);
}, 1000);

const module = await import(pathToFileURL(entry).href);
if (!serving) {
  const fetchHandler = module.default?.fetch;
  if (typeof fetchHandler !== "function") {
    throw new Error(`${entry} neither called Deno.serve nor exported default { fetch }`);
  }
  serve(fetchHandler.bind(module.default));
}
