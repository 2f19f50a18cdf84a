// The local function host gives a function the edge runtime's user-worker APIs, not plain Deno's
// (local/user-worker-deno.ts). Each test asks a throwaway fixture function
// (tests/fixtures/supabase/functions/runtime-apis) to try one thing and checks that it behaves as
// supabase/edge-runtime makes it behave; the source each mirrors is named beside it (line numbers
// of the runtime's main at commit b1edf453). The host's namespace is what makes each pass, except
// two: asynchronous file calls stay allowed either way, and subprocesses are refused by the
// permissions the host is started with.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type FixtureGateway, startGateway } from "./_support/gateway.ts";
import { integrationTest } from "./_support/stack.ts";

let gateway: FixtureGateway | undefined;
let tmp: string | undefined;

async function probe(name: string): Promise<{ pid: number; result: unknown }> {
  if (!gateway) {
    tmp = await Deno.makeTempDir({ prefix: "cjh-runtime-apis-" });
    gateway = await startGateway({ env: { TMPDIR: tmp } });
    globalThis.addEventListener("unload", () => {
      gateway?.close();
      Deno.removeSync(tmp!, { recursive: true });
    }, { once: true });
  }
  const response = await fetch(`${gateway.url}/functions/v1/runtime-apis?probe=${name}`);
  assertEquals(response.status, 200, `probe ${name}`);
  return await response.json();
}

const blocklisted = (name: string, suffix = "") => ({
  error: { name: "PermissionDenied", message: `Deno.${name} is blocklisted${suffix}` },
});
const SUBPROCESS_REFUSED = {
  error: { name: "Error", message: "Spawning subprocesses is not allowed on Supabase Edge Runtime." },
};

// ext/runtime/ops/net.rs, op_net_listen (lines 114-128): no socket, the address 0.0.0.0:9999.
integrationTest("Deno.listen opens no socket and answers 0.0.0.0:9999", async () => {
  const { result } = await probe("listen");
  assertEquals(result, { transport: "tcp", hostname: "0.0.0.0", port: 9999 });
});

// ext/runtime/ops/net.rs, op_net_accept (lines 130-228) takes the worker's incoming-request channel
// on hosted; here it takes nothing, and requests keep reaching the function's handler.
integrationTest("a pending Deno.listen accept never takes the worker's requests", async () => {
  const first = await probe("listen-accept-pending");
  for (let i = 0; i < 5; i++) {
    const again = await probe("listen-accept-pending");
    assertEquals(again.pid, first.pid, "the same worker answered");
    assertEquals(again.result, { settled: false, addr: { transport: "tcp", hostname: "0.0.0.0", port: 9999 } });
  }
});

// ext/runtime/ops/net.rs, runtime_net middleware (lines 25-43) and op_net_unsupported (lines 232-234).
integrationTest("a Unix socket listener is not supported", async () => {
  const { result } = await probe("listen-unix");
  assertEquals(result, { error: { name: "NotSupported", message: "The operation is not supported" } });
});

// ext/runtime/js/denoOverrides.js (lines 98-118) is the whole namespace (bootstrap.js line 616):
// listenTls, listenDatagram, run, watchFs, openKv, ppid, cpuUsage and dlopen are not in it.
integrationTest(
  "members the runtime's Deno namespace lacks are undefined (listenTls, listenDatagram, run, …)",
  async () => {
    const { result } = await probe("missing-members");
    assertEquals(result, {
      listenTls: "undefined",
      listenDatagram: "undefined",
      run: "undefined",
      watchFs: "undefined",
      openKv: "undefined",
      ppid: "undefined",
      cpuUsage: "undefined",
      dlopen: "undefined",
    });
  },
);

// ext/os/os.js, DenoCommand (lines 1-26).
integrationTest("Deno.Command spawns nothing: spawn throws and output rejects", async () => {
  assertEquals((await probe("command-spawn")).result, SUBPROCESS_REFUSED);
  assertEquals((await probe("command-output")).result, SUBPROCESS_REFUSED);
});

// crates/base/src/runtime/permissions.rs, get_default_permissions (lines 19-28): no allow_run.
integrationTest("node:child_process cannot run a program (no run permission)", async () => {
  const { result } = await probe("child-process") as { result: { ran: boolean } };
  assertEquals(result.ran, false, "the program never ran");
});

// ext/runtime/js/bootstrap.js, allowIfRuntimeIsInInit (lines 703-713, 744-757).
integrationTest("synchronous file calls work while the module loads and are blocklisted afterwards", async () => {
  assertEquals((await probe("read-sync-at-load")).result, true);
  assertEquals((await probe("read-sync")).result, blocklisted("readTextFileSync", " on the current context"));
  assertEquals((await probe("write-sync")).result, blocklisted("writeTextFileSync", " on the current context"));
});

// ext/runtime/js/bootstrap.js, the allowed asynchronous calls (lines 680-696).
integrationTest("asynchronous file reads and writes stay allowed", async () => {
  assertEquals((await probe("write-async")).result, "x");
});

// ext/runtime/js/bootstrap.js, DENIED_DENO_FS_API_LIST (lines 405-420, 677-678).
integrationTest("other file system calls are blocklisted (chmod, renameSync)", async () => {
  assertEquals((await probe("chmod")).result, blocklisted("chmod"));
  assertEquals((await probe("rename")).result, blocklisted("renameSync"));
});

// ext/runtime/js/bootstrap.js, "mock" (lines 698-701, 736-743).
integrationTest("Deno.exit, Deno.kill and signal listeners do nothing: the worker serves on", async () => {
  const before = await probe("exit");
  assertEquals(before.result, "undefined");
  assertEquals((await probe("kill")).result, "undefined");
  assertEquals((await probe("signal-listener")).result, "undefined");
  const after = await probe("listen");
  assertEquals(after.pid, before.pid, "the same worker is alive");
});

// ext/runtime/js/permissions.js, opQuery (every state "granted").
integrationTest("Deno.permissions answers granted, even for what the worker may not do", async () => {
  assertEquals((await probe("permissions")).result, "granted");
});

// ext/os/os.js (lines 28-68), bootstrap.js lines 578 (args) and 716 (execPath).
integrationTest("the OS calls answer the runtime's fixed values", async () => {
  assertEquals((await probe("os-calls")).result, {
    args: [],
    execPath: "/bin/edge-runtime",
    hostname: "localhost",
    uid: 1000,
    osRelease: "0.0.0-00000000-generic",
    loadavg: [0, 0, 0],
  });
});

// The platform's resolver: on the local stack, the gateway's DNS stand-in (local/dns-stand-in.ts).
integrationTest("Deno.resolveDns asks the stack's DNS server, which answers the receivers' names", async () => {
  const { result } = await probe("resolve-dns");
  assert(Array.isArray(result));
  assertEquals(result, ["127.0.0.1"]);
});

// The platform's network policy (no line of the runtime's source: Supabase's Edge Functions limits
// list it): outbound connections to ports 25 and 587 are refused.
integrationTest("Deno.connect and Deno.connectTls to the mail ports 25 and 587 are refused", async () => {
  const refused = (port: number) => ({
    error: {
      name: "ConnectionRefused",
      message: `Outbound connections to port ${port} are not allowed on Supabase Edge Functions`,
    },
  });
  assertEquals((await probe("connect-smtp")).result, refused(25));
  assertEquals((await probe("connect-tls-submission")).result, refused(587));
});
