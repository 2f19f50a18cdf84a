// The local functions gateway: what Kong plus the edge runtime's main worker do for
// `supabase functions serve`. It serves /functions/v1/<name>[/…] for every folder in
// supabase/functions that has an index.ts, checks the JWT where config.toml says verify_jwt
// (local/gateway-auth.ts; OPTIONS passes), serves the project's JWKS as Auth does, and forwards to
// the function's user workers
// (local/worker-pool.ts: function host processes with the edge runtime's environment and limits).
// A function that throws or crashes gives a 500 and the gateway stays up; changed function files
// are picked up on the next request. Started by scripts/stack.mjs; local only.
import { parse as parseToml } from "npm:smol-toml@1.9.1";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { JWKS_PATH, loadGatewayAuth } from "./gateway-auth.ts";
import { runtimeLimitsFrom, WorkerPool } from "./worker-pool.ts";
import { startDnsStandIn } from "./dns-stand-in.ts";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
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
  // The edge runtime's limits, each overridable by a CJH_FUNCTION_* variable (tests use small ones).
  limits: runtimeLimitsFrom(Deno.env.toObject()),
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
// The functions' resolver and the CA their TLS trusts besides the usual roots: what makes
// `https://<name>.loopback.cjh.test` receivers reachable the way hosted reaches a receiver.
const dns = await startDnsStandIn(Number(Deno.env.get("CJH_DNS_PORT") ?? 0));
const localCaFile = Deno.env.get("CJH_LOCAL_CA_FILE");

function json(body: unknown, status: number): Response {
  return Response.json(body, { status });
}

/** verify_jwt for a function from config.toml; the edge runtime's default is on. */
async function verifyJwtSetting(name: string): Promise<boolean> {
  const text = await Deno.readTextFile(join(settings.supabaseDir, "config.toml"));
  const config = parseToml(text) as { functions?: Record<string, { verify_jwt?: boolean }> };
  return config.functions?.[name]?.verify_jwt ?? true;
}

// The functions' user workers, each started with the edge runtime's environment: the project's
// variables and supabase/functions/.env, nothing else of the gateway's.
const pool = new WorkerPool(settings.limits, {
  denoBinary: DENO_BINARY,
  hostScript: join(ROOT, "local/function-host.ts"),
  denoConfig: join(ROOT, "deno.json"),
  cwd: ROOT,
  env: () => {
    const env: Record<string, string> = { ...settings.functionEnv };
    for (const name of FORWARDED_ENV) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    return env;
  },
  envFile: () => {
    const envFile = join(functionsDir, ".env");
    return existsSync(envFile) ? envFile : undefined;
  },
  caFile: localCaFile,
  dnsPort: dns.port,
});

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
  return await pool.forward(name, entry, request, headers, rest);
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {
    pool.stop();
    Deno.exit(0);
  });
}

// Changed sources take effect on the next request, as with `supabase functions serve`.
void (async () => {
  let debounce: ReturnType<typeof setTimeout> | undefined;
  for await (const _event of Deno.watchFs(functionsDir, { recursive: true })) {
    clearTimeout(debounce);
    debounce = setTimeout(() => pool.retireAll(), 150);
  }
})();

Deno.serve({
  hostname: "127.0.0.1",
  port: settings.port,
  onListen: ({ port }) => console.log(`gateway ready on http://127.0.0.1:${port} (functions' DNS on udp ${dns.port})`),
  onError: (error) => {
    console.error("[gateway]", error);
    return json({ msg: "Internal Server Error" }, 500);
  },
}, handle);
