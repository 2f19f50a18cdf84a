// A functions gateway of a test's own (local/gateway.ts on a free port), serving the functions of
// a supabase directory (by default the fixture project, tests/fixtures/supabase) with the
// environment the test gives it: CJH_FUNCTION_* limits, TMPDIR for its functions, ….
import { ROOT, stack } from "./stack.ts";

export const FIXTURE_PROJECT = `${ROOT}/tests/fixtures/supabase`;

export interface FixtureGateway {
  url: string;
  /** Everything the gateway and its functions have logged so far. */
  output(): string;
  close(): void;
}

/**
 * Starts a gateway. With `inheritEnv` (the default) it gets the test's environment (the stack's
 * keys, its legacy JWT secret while it has one) plus `env`; without, only PATH, HOME and `env`, for
 * a project configured exactly as the test says (e.g. one whose legacy secret is revoked).
 */
export async function startGateway(
  { supabaseDir = FIXTURE_PROJECT, env = {}, inheritEnv = true }: {
    supabaseDir?: string;
    env?: Record<string, string>;
    inheritEnv?: boolean;
  } = {},
): Promise<FixtureGateway> {
  const base: Record<string, string> = inheritEnv
    ? (stack.CJH_JWT_SECRET ? { CJH_JWT_SECRET: stack.CJH_JWT_SECRET } : {})
    : { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--config", `${ROOT}/deno.json`, `${ROOT}/local/gateway.ts`],
    clearEnv: !inheritEnv,
    env: { ...base, CJH_API_PORT: "0", CJH_DNS_PORT: "0", CJH_SUPABASE_DIR: supabaseDir, ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  // Reading both streams to the end also keeps the gateway from ever blocking on a full pipe.
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output += chunk;
  };
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  while (!/gateway ready on (\S+)/.test(output)) {
    const exited = await Promise.race([done.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))]);
    if (exited) throw new Error(`fixture gateway exited: ${output}`);
  }
  const url = output.match(/gateway ready on (\S+)/)![1];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  globalThis.addEventListener("unload", close, { once: true });
  return { url, output: () => output, close };
}
