// The edge runtime's limits in the local function host (local/worker-pool.ts, local/function-host.ts):
// CPU time, wall clock, memory, the request idle timeout, beforeunload and drain, early drop,
// unhandled rejections and several workers of one function. Each group of tests starts a gateway
// of its own with small limits (so nothing waits for the hosted values) and its own TMPDIR, where
// the fixture functions (tests/fixtures/supabase/functions) record the events their workers
// receive. Tests assert on outcomes (statuses, bodies, which worker answered, the recorded events,
// whether a worker's process still exists), never on how long something took.
import { deepStrictEqual as assertEquals, notEqual as assertNotEqual, ok as assert } from "node:assert/strict";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { type FixtureGateway, startGateway } from "./_support/gateway.ts";
import { eventually, integrationTest, ROOT } from "./_support/stack.ts";

const WORKER_LIMIT = {
  code: "WORKER_LIMIT",
  message: "Worker failed to respond due to a resource limit (please check logs)",
};
const WORKER_ERROR = { code: "WORKER_ERROR", message: "Function exited due to an error (please check logs)" };

interface LimitsGateway extends FixtureGateway {
  tmp: string;
  call(path: string): Promise<{ status: number; headers: Headers; text: string; json(): Record<string, unknown> }>;
  pidOf(path: string): Promise<number>;
  /** The events worker `pid` recorded, in order. */
  events(pid: number): string[];
  /** Lets a fixture waiting for $TMPDIR/<name> go on. */
  release(name: string): void;
}

async function startLimitsGateway(limits: Record<string, string>, supabaseDir?: string): Promise<LimitsGateway> {
  const tmp = await Deno.makeTempDir({ prefix: "cjh-runtime-limits-" });
  const gateway = await startGateway({ supabaseDir, env: { ...limits, TMPDIR: tmp } });
  globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }), { once: true });
  const call = async (path: string) => {
    const response = await fetch(`${gateway.url}/functions/v1/${path}`);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
  };
  return {
    ...gateway,
    tmp,
    call,
    async pidOf(path) {
      const { status, json } = await call(path);
      assertEquals(status, 200, `${path} answers`);
      return json().pid as number;
    },
    events(pid) {
      try {
        // The file exists, empty, from the moment the worker's module loads.
        return Deno.readTextFileSync(`${tmp}/${pid}.events`).split("\n").filter((line) => line !== "");
      } catch {
        return [];
      }
    },
    release(name) {
      Deno.writeTextFileSync(`${tmp}/${name}`, "");
    },
  };
}

const processExists = (pid: number) => existsSync(`/proc/${pid}`);

function untilGone(pid: number, what: string) {
  return eventually(() => processExists(pid) ? undefined : true, { what });
}

/** Calls `path` until a worker other than `pid` answers; returns that worker's pid. */
function untilAnotherWorkerAnswers(gateway: LimitsGateway, path: string, pid: number) {
  return eventually(async () => {
    const other = await gateway.pidOf(path);
    return other !== pid ? other : undefined;
  }, { what: `a worker other than ${pid} to answer` });
}

// ---------------------------------------------------------------------------------------------
// CPU time: soft limit 300 ms, hard limit 1,200 ms, beforeunload at 50 % of the hard limit
// ---------------------------------------------------------------------------------------------

const cpu = await startLimitsGateway({
  CJH_FUNCTION_CPU_SOFT_LIMIT_MS: "300",
  CJH_FUNCTION_CPU_HARD_LIMIT_MS: "1200",
  CJH_FUNCTION_BEFOREUNLOAD_CPU_PCT: "50",
});

integrationTest(
  "a worker spinning past the CPU hard limit is terminated: 546 WORKER_LIMIT, after beforeunload cpu",
  async () => {
    const pid = await cpu.pidOf("limits-probe");
    const spun = await cpu.call("limits-probe?burn=10000");
    assertEquals([spun.status, spun.json()], [546, WORKER_LIMIT]);
    assertEquals(cpu.events(pid), ["beforeunload cpu"]);
    assert(!processExists(pid), "the worker's process is gone");
    assert(cpu.output().includes(`worker ${pid}: CPU time hard limit reached`), "the termination is logged");
  },
);

integrationTest(
  "CPU time counts from when the module has loaded: a worker whose top-level code took 500 ms serves on",
  async () => {
    const pid = await cpu.pidOf("heavy-module");
    for (let request = 0; request < 10; request++) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // the gateway samples CPU time meanwhile
      assertEquals(await cpu.pidOf("heavy-module"), pid);
    }
  },
);

integrationTest(
  "a worker past the CPU soft limit is retired: a new worker answers while the old one finishes",
  async () => {
    const pid = await cpu.pidOf("limits-probe");
    let finished = false;
    const held = cpu.call("limits-probe?burn=400&hold=soft-limit").finally(() => finished = true);
    const next = await untilAnotherWorkerAnswers(cpu, "limits-probe", pid);
    assert(!finished, "the retired worker still has the request");
    assert(processExists(pid) && processExists(next), "both workers run at once");
    cpu.release("soft-limit");
    const { status, json } = await held;
    assertEquals([status, json().pid], [200, pid]);
    assert(cpu.output().includes(`worker ${pid}: CPU time soft limit reached`), "the retirement is logged");
  },
);

integrationTest(
  "a retired worker gets drain after its last request, then beforeunload early_drop, and exits",
  async () => {
    const pid = await cpu.pidOf("limits-probe");
    const held = cpu.call("limits-probe?burn=400&hold=early-drop");
    await untilAnotherWorkerAnswers(cpu, "limits-probe", pid);
    assertEquals(cpu.events(pid), []);
    cpu.release("early-drop");
    assertEquals((await held).status, 200);
    await untilGone(pid, "the retired worker to be dropped");
    assertEquals(cpu.events(pid), ["drain", "beforeunload early_drop"]);
  },
);

integrationTest("a retired worker is not dropped while an EdgeRuntime.waitUntil task is pending", async () => {
  const pid = await cpu.pidOf("limits-probe");
  const held = cpu.call("limits-probe?burn=400&background=task&hold=request");
  await untilAnotherWorkerAnswers(cpu, "limits-probe", pid);
  cpu.release("request");
  assertEquals((await held).status, 200);
  await eventually(() => cpu.events(pid).includes("drain") || undefined, { what: "drain" });
  cpu.release("task");
  await untilGone(pid, "the worker to be dropped once its task is done");
  assertEquals(cpu.events(pid), ["drain", "background done", "beforeunload early_drop"]);
});

// ---------------------------------------------------------------------------------------------
// Wall clock: 4 s per worker, retired at 2 s, beforeunload at 3.6 s
// ---------------------------------------------------------------------------------------------

const wallClock = await startLimitsGateway({ CJH_FUNCTION_WALL_CLOCK_MS: "4000" });

integrationTest(
  "a worker is retired at half its wall clock, gets beforeunload wall_clock, and is terminated with its background task",
  async () => {
    const pid = await wallClock.pidOf("limits-probe?background=never");
    await eventually(() => wallClock.events(pid).length > 0 || undefined, { what: "beforeunload", timeoutMs: 30_000 });
    assertEquals(wallClock.events(pid), ["beforeunload wall_clock"]);
    assertNotEqual(await wallClock.pidOf("limits-probe"), pid, "the retired worker takes no new request");
    await untilGone(pid, "the worker to be terminated at the end of its wall clock");
    wallClock.release("never");
    assertEquals(wallClock.events(pid), ["beforeunload wall_clock"], "the background task never finished");
    // The host logs the termination as it reaps the worker, which may be just after it is gone.
    await eventually(() => wallClock.output().includes(`worker ${pid}: shut down: WallClockTime`) || undefined, {
      what: "the termination to be logged",
    });
  },
);

integrationTest("a request still in flight when its worker's wall clock ends gets 546 WORKER_LIMIT", async () => {
  const held = await wallClock.call("limits-probe?hold=never-released");
  assertEquals([held.status, held.json()], [546, WORKER_LIMIT]);
  const [, pid] = wallClock.output().match(/worker (\d+): wall clock duration reached \(requests in flight: 1\)/)!;
  assert(
    wallClock.output().includes(`worker ${pid}: shut down: WallClockTime`),
    "the worker was stopped by its wall clock",
  );
});

// ---------------------------------------------------------------------------------------------
// Request idle timeout: 1 s (and a wall clock of 30 s, which ends what the timeout would not)
// ---------------------------------------------------------------------------------------------

const idle = await startLimitsGateway({
  CJH_FUNCTION_REQUEST_IDLE_TIMEOUT_MS: "1000",
  CJH_FUNCTION_WALL_CLOCK_MS: "30000",
});

integrationTest(
  "a request without a response within the idle timeout gets a bare 504, and the worker stays",
  async () => {
    const pid = await idle.pidOf("limits-probe");
    const timedOut = await idle.call("limits-probe?hold=never");
    assertEquals([timedOut.status, timedOut.headers.get("content-length"), timedOut.text], [504, "0", ""]);
    assertEquals(await idle.pidOf("limits-probe"), pid);
  },
);

integrationTest("a streamed response that sends nothing for the idle timeout ends there", async () => {
  const streamed = await idle.call("limits-probe?stream=1&hold=never");
  assertEquals([streamed.status, streamed.text], [200, "first line\n"]);
});

// ---------------------------------------------------------------------------------------------
// Memory: 64 MiB
// ---------------------------------------------------------------------------------------------

const memory = await startLimitsGateway({ CJH_FUNCTION_MEMORY_MB: "64" });

/** A worker allocating what `allocation` asks for is terminated (546) after beforeunload "memory". */
async function assertStoppedForMemory(allocation: string) {
  const pid = await memory.pidOf("memory-hog");
  const grown = await memory.call(`memory-hog?${allocation}`);
  assertEquals([grown.status, grown.json()], [546, WORKER_LIMIT]);
  assertEquals(memory.events(pid), ["beforeunload memory"]);
}

integrationTest(
  "a worker whose heap grows past the memory limit is terminated: 546, after beforeunload memory",
  () => assertStoppedForMemory("heap=128"),
);

integrationTest("a worker that runs out of heap in one synchronous burst is terminated: 546", async () => {
  const burst = await memory.call("memory-hog?burst=128");
  assertEquals([burst.status, burst.json()], [546, WORKER_LIMIT]);
});

integrationTest(
  "array buffers count towards the memory limit: 546, after beforeunload memory",
  () => assertStoppedForMemory("external=128"),
);

integrationTest("a worker holding more than half its memory limit is dropped early once idle", async () => {
  const pid = await memory.pidOf("memory-hog?heap=40");
  await untilGone(pid, "the worker to be dropped");
  assertEquals(memory.events(pid), ["beforeunload early_drop"]);
});

// ---------------------------------------------------------------------------------------------
// Unhandled rejections, and several workers of one function (hosted limits otherwise)
// ---------------------------------------------------------------------------------------------

const hosted = await startLimitsGateway({ CJH_FUNCTION_MAX_PARALLELISM: "2" });

integrationTest("an unhandled rejection ends the worker: 500 WORKER_ERROR, and a new worker serves next", async () => {
  const pid = await hosted.pidOf("rejects");
  const rejected = await hosted.call("rejects?reject=unhandled");
  assertEquals([rejected.status, rejected.json()], [500, WORKER_ERROR]);
  assertNotEqual(await hosted.pidOf("rejects"), pid);
});

integrationTest("a rejection that an unhandledrejection listener prevents leaves the worker serving", async () => {
  const pid = await hosted.pidOf("rejects");
  assertEquals(await hosted.pidOf("rejects?reject=prevented"), pid);
  assertEquals(await hosted.pidOf("rejects"), pid);
});

integrationTest("requests that find no worker ready start up to max-parallelism workers of the function", async () => {
  const requests = [1, 2, 3].map(() => hosted.pidOf("boot-barrier"));
  const booting = () => [...Deno.readDirSync(hosted.tmp)].filter((entry) => entry.name.startsWith("booting-"));
  await eventually(() => booting().length >= 2 || undefined, { what: "two workers booting" });
  hosted.release("go");
  const pids = await Promise.all(requests);
  assertEquals(new Set(pids).size, 2, `two workers answered: ${pids}`);
  assertEquals(booting().length, 2);
});

// ---------------------------------------------------------------------------------------------
// Changed sources, in a project of the test's own whose function it rewrites
// ---------------------------------------------------------------------------------------------

const project = await Deno.makeTempDir({ prefix: "cjh-runtime-limits-project-" });
globalThis.addEventListener("unload", () => Deno.removeSync(project, { recursive: true }), { once: true });
const workerEvents = pathToFileURL(`${ROOT}/tests/fixtures/supabase/functions/_shared/worker-events.ts`).href;
const writeVersion = (version: number) =>
  Deno.writeTextFileSync(
    `${project}/functions/versioned/index.ts`,
    `import { recordRuntimeEvents } from ${JSON.stringify(workerEvents)};
recordRuntimeEvents();
Deno.serve(() => Response.json({ version: ${version}, pid: Deno.pid }));
`,
  );
Deno.mkdirSync(`${project}/functions/versioned`, { recursive: true });
Deno.writeTextFileSync(`${project}/config.toml`, "[functions.versioned]\nverify_jwt = false\n");
writeVersion(1);
const reloading = await startLimitsGateway({}, project);

integrationTest(
  "changed function files retire the running workers, and the next request runs the new code",
  async () => {
    const first = (await reloading.call("versioned")).json();
    assertEquals(first.version, 1);
    writeVersion(2);
    const second = await eventually(async () => {
      const answer = (await reloading.call("versioned")).json();
      return answer.version === 2 ? answer : undefined;
    }, { what: "the new version to answer" });
    assertNotEqual(second.pid, first.pid);
    await untilGone(first.pid as number, "the old worker to be dropped");
    assertEquals(reloading.events(first.pid as number), ["drain", "beforeunload early_drop"]);
  },
);
