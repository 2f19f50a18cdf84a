// The local functions gateway: what Kong plus the edge runtime's main worker do for
// `supabase functions serve`. It serves /functions/v1/<name>[/…] for every folder in
// supabase/functions that has an index.ts, checks the JWT where config.toml says verify_jwt
// (local/gateway-auth.ts; OPTIONS passes), serves the project's JWKS as Auth does, and forwards
// to the function running in its own process (local/function-host.ts) with the edge runtime's
// environment. A function that throws or crashes gives a 500 and the gateway stays up; changed
// function files are picked up on the next request. Started by scripts/stack.mjs; local only.
import { parse as parseToml } from "npm:smol-toml@1.9.1";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { HOST_READY_PREFIX } from "./function-host-protocol.ts";
import { JWKS_PATH, loadGatewayAuth } from "./gateway-auth.ts";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const HOST_START_TIMEOUT_MS = 30_000;
// The local edge runtime's limits per worker: 256 MB of heap and 400 s of wall clock per request.
// The runtime creates each user worker's isolate with heap_limits(0, memory_limit), a limit on the
// whole heap from which V8 sizes the young generation too (supabase/edge-runtime,
// crates/base/src/runtime/mod.rs); --max-heap-size is that limit as a flag. --max-old-space-size
// would add a young generation of up to 96 MB on top, which no hosted function gets.
const FUNCTION_MEMORY_MB = 256;
const DEFAULT_WALL_CLOCK_MS = 400_000;
const FORWARDED_ENV = ["PATH", "HOME", "DENO_DIR", "TMPDIR", "NO_COLOR", "TZ"];
// After `npm ci` replaces the deno binary under a running gateway, execPath names the deleted
// file; the new one is at the same path.
const DENO_BINARY = Deno.execPath().replace(/ \(deleted\)$/, "");

function requiredEnv(name: string): string {
  const value = Deno.env.get(name);
  if (value === undefined) throw new Error(`${name} is not set; start the gateway with scripts/stack.mjs`);
  return value;
}

const settings = {
  port: Number(requiredEnv("CJH_API_PORT")),
  supabaseDir: Deno.env.get("CJH_SUPABASE_DIR") ?? join(ROOT, "supabase"),
  wallClockMs: Number(Deno.env.get("CJH_FUNCTION_WALL_CLOCK_MS") ?? DEFAULT_WALL_CLOCK_MS),
  functionEnv: {
    ...Object.fromEntries(
      ["SUPABASE_URL", "SUPABASE_DB_URL", "SUPABASE_PUBLISHABLE_KEYS", "SUPABASE_SECRET_KEYS"]
        .map((name) => [name, requiredEnv(name)]),
    ),
    // The legacy keys only while the project has them.
    ...Object.fromEntries(
      ["SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY"].flatMap((name) => {
        const value = Deno.env.get(name);
        return value === undefined ? [] : [[name, value]];
      }),
    ),
  } as Record<string, string>,
};
const functionsDir = join(settings.supabaseDir, "functions");
const auth = loadGatewayAuth();

function json(body: unknown, status: number): Response {
  return Response.json(body, { status });
}

/** verify_jwt for a function from config.toml; the edge runtime's default is on. */
async function verifyJwtSetting(name: string): Promise<boolean> {
  const text = await Deno.readTextFile(join(settings.supabaseDir, "config.toml"));
  const config = parseToml(text) as { functions?: Record<string, { verify_jwt?: boolean }> };
  return config.functions?.[name]?.verify_jwt ?? true;
}

// ---------------------------------------------------------------------------------------------
// Function hosts: one process per function, started on first request, restarted after a crash or
// when the functions' files change.
// ---------------------------------------------------------------------------------------------

interface FunctionHost {
  process: Deno.ChildProcess;
  port: Promise<number>;
}

const hosts = new Map<string, FunctionHost>();
let stopping = false;

async function pipeLines(stream: ReadableStream<Uint8Array>, name: string, onLine?: (line: string) => boolean) {
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (onLine?.(line)) continue;
      console.log(`[${name}] ${line}`);
    }
  }
  if (buffered) console.log(`[${name}] ${buffered}`);
}

function environmentFor(): Record<string, string> {
  const env: Record<string, string> = { ...settings.functionEnv };
  for (const name of FORWARDED_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function startHost(name: string, entry: string): FunctionHost {
  const envFile = join(functionsDir, ".env");
  const args = [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-sys",
    "--allow-write",
    `--v8-flags=--max-heap-size=${FUNCTION_MEMORY_MB}`,
    "--config",
    join(ROOT, "deno.json"),
    ...(existsSync(envFile) ? [`--env-file=${envFile}`] : []),
    join(ROOT, "local/function-host.ts"),
    entry,
  ];
  const child = new Deno.Command(DENO_BINARY, {
    args,
    cwd: ROOT,
    clearEnv: true,
    env: environmentFor(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let announcePort: (port: number) => void;
  let failStart: (error: Error) => void;
  const port = new Promise<number>((resolvePort, reject) => {
    announcePort = resolvePort;
    failStart = reject;
  });
  const timer = setTimeout(
    () => failStart(new Error(`${name} did not start within ${HOST_START_TIMEOUT_MS} ms`)),
    HOST_START_TIMEOUT_MS,
  );
  void pipeLines(child.stdout, name, (line) => {
    if (!line.startsWith(HOST_READY_PREFIX)) return false;
    clearTimeout(timer);
    announcePort(Number(line.slice(HOST_READY_PREFIX.length)));
    return true;
  });
  void pipeLines(child.stderr, name);
  const host = { process: child, port };
  void child.status.then((status) => {
    clearTimeout(timer);
    failStart(new Error(`${name} exited with code ${status.code} before serving`));
    if (hosts.get(name) === host) hosts.delete(name);
    if (!stopping) console.log(`[gateway] ${name} exited (code ${status.code})`);
  });
  hosts.set(name, host);
  return host;
}

function stopHosts() {
  for (const [name, host] of hosts) {
    hosts.delete(name);
    try {
      host.process.kill("SIGTERM");
    } catch { /* already exited */ }
  }
}

async function forward(
  request: Request,
  headers: Headers,
  name: string,
  entry: string,
  rest: string,
): Promise<Response> {
  const host = hosts.get(name) ?? startHost(name, entry);
  let port: number;
  try {
    port = await host.port;
  } catch (error) {
    console.error(`[gateway] ${name} failed to boot: ${error instanceof Error ? error.message : error}`);
    return json({ code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" }, 503);
  }
  const incoming = new URL(request.url);
  const target = `http://127.0.0.1:${port}/${name}${rest}${incoming.search}`;
  headers.set("x-forwarded-host", incoming.host);
  headers.set("x-forwarded-proto", incoming.protocol.replace(":", ""));
  try {
    return await fetch(target, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.timeout(settings.wallClockMs),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      console.error(`[gateway] ${name}: no response within the ${settings.wallClockMs} ms wall-clock limit`);
      return json({
        code: "WORKER_LIMIT",
        message: "Worker failed to respond due to a resource limit (please check logs)",
      }, 546);
    }
    console.error(`[gateway] ${name}: ${error instanceof Error ? error.message : error}`);
    return json({ code: "WORKER_ERROR", message: "Function exited due to an error (please check logs)" }, 500);
  }
}

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/_cjh/health") return json({ status: "ok" }, 200);
  if (url.pathname === JWKS_PATH) return json(auth.jwks, 200);
  const match = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
  if (!match) return json({ message: "no Route matched with those values" }, 404);
  const [, name, rest = ""] = match;
  const entry = join(functionsDir, name, "index.ts");
  if (!FUNCTION_NAME.test(name) || !existsSync(entry)) {
    return new Response("Function not found", { status: 404, headers: { "Content-Type": "text/plain" } });
  }
  const headers = new Headers(request.headers);
  if (request.method !== "OPTIONS" && await verifyJwtSetting(name)) {
    const rejection = await auth.rejectUnauthorized(headers);
    if (rejection) return rejection;
  }
  return await forward(request, headers, name, entry, rest);
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {
    stopping = true;
    stopHosts();
    Deno.exit(0);
  });
}

// Changed sources take effect on the next request, as with `supabase functions serve`.
void (async () => {
  let debounce: ReturnType<typeof setTimeout> | undefined;
  for await (const _event of Deno.watchFs(functionsDir, { recursive: true })) {
    clearTimeout(debounce);
    debounce = setTimeout(stopHosts, 150);
  }
})();

Deno.serve({
  hostname: "127.0.0.1",
  port: settings.port,
  onListen: ({ port }) => console.log(`gateway ready on http://127.0.0.1:${port}`),
  onError: (error) => {
    console.error("[gateway]", error);
    return json({ msg: "Internal Server Error" }, 500);
  },
}, handle);
