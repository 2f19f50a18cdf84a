// The local edge runtime's user workers: a pool per function and a supervisor per worker, with the
// hosted runtime's limits (supabase/edge-runtime: crates/base/src/worker/pool.rs for routing and
// crates/base/src/worker/supervisor/strategy_per_worker.rs, the `per_worker` policy, for the rest).
// A worker is one function host process (local/function-host.ts) serving many requests at once.
// - A request goes to an active worker of its function (round robin), or starts a new one while
//   fewer than `maxParallelism` are booting or active; otherwise it waits for one. A retired worker
//   takes no new requests but finishes those it has, so several workers of a function (each with
//   its own memory) may run at once.
// - CPU time is the worker's main thread's, counted from when the function's module has loaded and
//   sampled every CPU_SAMPLE_INTERVAL_MS. At the soft limit the worker is retired; at the
//   beforeunload ratio of the hard limit it gets beforeunload "cpu"; at the hard limit it is
//   terminated (CPUTime).
// - Wall clock counts from the same moment: retired at half, beforeunload "wall_clock" at the
//   ratio, terminated at the end (WallClockTime), background tasks included.
// - Memory (heap plus external) is checked by the host; at the limit, or when V8 runs out of heap,
//   the worker is terminated (Memory). Reaching half is a resource alert.
// - A retired worker, or one with a resource alert, that has no request in flight and no pending
//   EdgeRuntime.waitUntil task is dropped early: beforeunload "early_drop", then terminated.
// - A request in flight on a worker terminated for a limit gets 546 WORKER_LIMIT; on a worker that
//   died of an error (an uncaught exception, an unhandled rejection) 500 WORKER_ERROR; one with no
//   response for `requestIdleTimeoutMs` gets 504, and a streamed body that stalls that long ends.
// Each retirement and termination is logged with its reason, as the runtime logs them.
import { z } from "npm:zod@4.6.7";
import {
  type BeforeunloadReason,
  type ControlMessage,
  controlMessageLine,
  type HostMessage,
  lines,
  parseHostMessage,
} from "./function-host-protocol.ts";

/** The limits every user worker runs under. */
export interface RuntimeLimits {
  /** CPU time (ms) after which a worker is retired. 0 with a 0 hard limit: no CPU limit. */
  cpuSoftLimitMs: number;
  /** CPU time (ms) at which a worker is terminated. */
  cpuHardLimitMs: number;
  /** Wall clock (ms) of a worker's life: retired at half, terminated at the end. 0: no limit. */
  wallClockMs: number;
  /** Heap plus external memory (MiB) at which a worker is terminated. */
  memoryMb: number;
  /** Time (ms) a request may wait for its response, or a streamed body for its next chunk. 0: none. */
  requestIdleTimeoutMs: number;
  /** Percent of the CPU hard limit at which beforeunload "cpu" is dispatched. 0: never. */
  beforeunloadCpuPct: number;
  /** Percent of the wall clock at which beforeunload "wall_clock" is dispatched. 0: never. */
  beforeunloadWallClockPct: number;
  /** Percent of the memory limit at which beforeunload "memory" is dispatched. 0: never. */
  beforeunloadMemoryPct: number;
  /** Workers of one function that may be booting or active (not retired) at once. */
  maxParallelism: number;
}

/**
 * The hosted edge runtime's limits: CPU 1,000 ms soft and 2,000 ms hard, 256 MB, the request idle
 * timeout of 150 s and beforeunload at 90 % (the `serve` template of supabase/cli and
 * supabase/edge-runtime's cli/src/flags.rs), the free plan's 150 s of wall clock (paid plans get
 * 400 s, the CLI's local default), and as many workers per function as there are CPUs (the
 * runtime's default `--max-parallelism`).
 */
export const HOSTED_LIMITS: RuntimeLimits = {
  cpuSoftLimitMs: 1_000,
  cpuHardLimitMs: 2_000,
  wallClockMs: 150_000,
  memoryMb: 256,
  requestIdleTimeoutMs: 150_000,
  beforeunloadCpuPct: 90,
  beforeunloadWallClockPct: 90,
  beforeunloadMemoryPct: 90,
  maxParallelism: navigator.hardwareConcurrency,
};

const milliseconds = z.coerce.number().int().nonnegative();
const percent = z.coerce.number().int().min(0).max(99);
const limitsFromEnvironment = z.object({
  CJH_FUNCTION_CPU_SOFT_LIMIT_MS: milliseconds.default(HOSTED_LIMITS.cpuSoftLimitMs),
  CJH_FUNCTION_CPU_HARD_LIMIT_MS: milliseconds.default(HOSTED_LIMITS.cpuHardLimitMs),
  CJH_FUNCTION_WALL_CLOCK_MS: milliseconds.default(HOSTED_LIMITS.wallClockMs),
  CJH_FUNCTION_MEMORY_MB: z.coerce.number().int().positive().default(HOSTED_LIMITS.memoryMb),
  CJH_FUNCTION_REQUEST_IDLE_TIMEOUT_MS: milliseconds.default(HOSTED_LIMITS.requestIdleTimeoutMs),
  CJH_FUNCTION_BEFOREUNLOAD_CPU_PCT: percent.default(HOSTED_LIMITS.beforeunloadCpuPct),
  CJH_FUNCTION_BEFOREUNLOAD_WALL_CLOCK_PCT: percent.default(HOSTED_LIMITS.beforeunloadWallClockPct),
  CJH_FUNCTION_BEFOREUNLOAD_MEMORY_PCT: percent.default(HOSTED_LIMITS.beforeunloadMemoryPct),
  CJH_FUNCTION_MAX_PARALLELISM: z.coerce.number().int().positive().default(HOSTED_LIMITS.maxParallelism),
}).refine(
  (env) =>
    (env.CJH_FUNCTION_CPU_SOFT_LIMIT_MS === 0 && env.CJH_FUNCTION_CPU_HARD_LIMIT_MS === 0) ||
    (env.CJH_FUNCTION_CPU_SOFT_LIMIT_MS > 0 &&
      env.CJH_FUNCTION_CPU_SOFT_LIMIT_MS <= env.CJH_FUNCTION_CPU_HARD_LIMIT_MS),
  { message: "the CPU soft limit must be positive and at most the hard limit, or both 0 (no CPU limit)" },
);

/** The limits from the CJH_FUNCTION_* variables, each defaulting to the hosted value; throws on a bad value. */
export function runtimeLimitsFrom(env: Record<string, string>): RuntimeLimits {
  const parsed = limitsFromEnvironment.safeParse(env);
  if (!parsed.success) throw new Error(`invalid function limits: ${z.prettifyError(parsed.error)}`);
  const limits = parsed.data;
  return {
    cpuSoftLimitMs: limits.CJH_FUNCTION_CPU_SOFT_LIMIT_MS,
    cpuHardLimitMs: limits.CJH_FUNCTION_CPU_HARD_LIMIT_MS,
    wallClockMs: limits.CJH_FUNCTION_WALL_CLOCK_MS,
    memoryMb: limits.CJH_FUNCTION_MEMORY_MB,
    requestIdleTimeoutMs: limits.CJH_FUNCTION_REQUEST_IDLE_TIMEOUT_MS,
    beforeunloadCpuPct: limits.CJH_FUNCTION_BEFOREUNLOAD_CPU_PCT,
    beforeunloadWallClockPct: limits.CJH_FUNCTION_BEFOREUNLOAD_WALL_CLOCK_PCT,
    beforeunloadMemoryPct: limits.CJH_FUNCTION_BEFOREUNLOAD_MEMORY_PCT,
    maxParallelism: limits.CJH_FUNCTION_MAX_PARALLELISM,
  };
}

/** How to start a function host; the gateway decides its environment. */
export interface HostCommand {
  denoBinary: string;
  /** local/function-host.ts */
  hostScript: string;
  /** The deno.json the host and the function run with. */
  denoConfig: string;
  cwd: string;
  /** The environment a host starts with (nothing else of the gateway's). */
  env(): Record<string, string>;
  /** The functions' .env file, if there is one. */
  envFile(): string | undefined;
  /** A CA certificate (PEM file) the workers trust besides the usual roots: the local CA. */
  caFile?: string;
  /** The UDP port on 127.0.0.1 of the DNS server the workers' Deno.resolveDns asks. */
  dnsPort: number;
}

// Often enough that a spinning worker is stopped within a few tens of milliseconds of its limit;
// /proc reports CPU time in 10 ms steps anyway.
const CPU_SAMPLE_INTERVAL_MS = 25;
const HOST_BOOT_TIMEOUT_MS = 30_000;
// How long a request whose connection to its worker broke waits for the worker's exit, to answer
// with the reason the worker stopped.
const EXIT_WAIT_MS = 2_000;
// V8's message when a heap reaches --max-heap-size; the process then aborts.
const OUT_OF_HEAP = /Fatal (JavaScript|process) out of memory/;

/**
 * Why a worker stopped: the runtime's `ShutdownReason` (ext/event_worker/events.rs), or
 * UncaughtException for a worker that died of an error of its own.
 */
type ExitReason = "CPUTime" | "WallClockTime" | "Memory" | "EarlyDrop" | "TerminationRequested" | "UncaughtException";
const RESOURCE_LIMITS: ReadonlySet<ExitReason> = new Set(["CPUTime", "WallClockTime", "Memory"]);

function json(body: unknown, status: number): Response {
  return Response.json(body, { status });
}

// The main service's answers (the CLI's `serve` template), and the runtime's idle timeout, which is
// a bare status (http_utils' emit_status_code).
const workerLimit = () =>
  json({ code: "WORKER_LIMIT", message: "Worker failed to respond due to a resource limit (please check logs)" }, 546);
const workerError = () =>
  json({ code: "WORKER_ERROR", message: "Function exited due to an error (please check logs)" }, 500);
const bootError = () => json({ code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" }, 503);
const gatewayTimeout = () => new Response(null, { status: 504, headers: { "content-length": "0" } });

function percentOf(value: number, pct: number): number | null {
  return pct > 0 ? value * pct / 100 : null;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// /proc reports CPU times in USER_HZ, which the kernel fixes at 100 per second for user space.
const MS_PER_CLOCK_TICK = 10;

/**
 * CPU time (ms, in 10 ms steps) that the main thread of process `pid` has used, user plus system
 * (`utime` + `stime`, fields 14 and 15 of `/proc/<pid>/task/<pid>/stat`, proc(5)); null once the
 * process is gone. Deno runs a worker's JavaScript and its event loop on that thread, as the edge
 * runtime runs an isolate on its thread and counts that thread's CPU time.
 */
export function mainThreadCpuMs(pid: number): number | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return (utime + stime) * MS_PER_CLOCK_TICK;
}

/** A function host for `entry`, with the runtime's permissions and heap limit. */
function spawnHost(entry: string, limits: RuntimeLimits, command: HostCommand): Deno.ChildProcess {
  const envFile = command.envFile();
  return new Deno.Command(command.denoBinary, {
    args: [
      "run",
      // A user worker's permissions (supabase/edge-runtime crates/base/src/runtime/permissions.rs,
      // get_default_permissions, lines 19-28): net, env, read, write and import, and of the system
      // information only the host name; no subprocess (run) and no FFI.
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys=hostname",
      "--allow-write",
      // The runtime creates each isolate with heap_limits(0, memory limit), a limit on the whole
      // heap from which V8 sizes the young generation too (crates/base/src/runtime/mod.rs);
      // --max-heap-size is that limit as a flag. --max-old-space-size would add a young
      // generation of up to 96 MB on top, which no hosted function gets.
      `--v8-flags=--max-heap-size=${limits.memoryMb}`,
      "--config",
      command.denoConfig,
      ...(envFile ? [`--env-file=${envFile}`] : []),
      ...(command.caFile ? [`--cert=${command.caFile}`] : []),
      command.hostScript,
      entry,
      String(limits.memoryMb),
      String(limits.beforeunloadMemoryPct),
      String(command.dnsPort),
    ],
    cwd: command.cwd,
    clearEnv: true,
    env: command.env(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** One function host process and its supervisor. */
class UserWorker {
  readonly pid: number;
  /** booting: loading the module; active: taking requests; retired: finishing what it has; gone: exited. */
  state: "booting" | "active" | "retired" | "gone" = "booting";
  /** Settles when the worker can take requests; rejects if it never can. */
  readonly booted: Promise<void>;
  /** Settles with the reason once the process has exited and its output has been read. */
  readonly exited: Promise<ExitReason>;

  readonly #name: string;
  readonly #limits: RuntimeLimits;
  readonly #child: Deno.ChildProcess;
  readonly #control: WritableStreamDefaultWriter<Uint8Array>;
  readonly #onChange: () => void;
  readonly #timers: ReturnType<typeof setTimeout>[] = [];
  #port = 0;
  #cpuAtBootMs = 0;
  #cpuUsedMs = 0;
  #requestsInFlight = 0;
  #backgroundTasks = 0;
  // The runtime's resource alerts, after which an idle worker is dropped early.
  #cpuSoftLimitReached = false;
  #memoryHalfReached = false;
  #wallClockHalfReached = false;
  #terminationRequested = false;
  #cpuBeforeunloadSent = false;
  #drainSent = false;
  #earlyDropSent = false;
  #shutdownReason: ExitReason | undefined;
  #outOfHeap = false;

  constructor(name: string, entry: string, limits: RuntimeLimits, command: HostCommand, onChange: () => void) {
    this.#name = name;
    this.#limits = limits;
    this.#onChange = onChange;
    this.#child = spawnHost(entry, limits, command);
    this.pid = this.#child.pid;
    this.#control = this.#child.stdin.getWriter();

    let announceBoot: () => void;
    let failBoot: (error: Error) => void;
    this.booted = new Promise<void>((resolve, reject) => {
      announceBoot = resolve;
      failBoot = reject;
    });
    this.booted.catch(() => {});
    const bootTimer = setTimeout(() => {
      failBoot(new Error(`${name} did not start within ${HOST_BOOT_TIMEOUT_MS} ms`));
      this.#child.kill("SIGKILL");
    }, HOST_BOOT_TIMEOUT_MS);
    const output = Promise.all([
      this.#followOutput((message) => {
        if (message.event !== "ready") return this.#receive(message);
        clearTimeout(bootTimer);
        this.#ready(message.port);
        announceBoot();
      }),
      this.#followErrors(),
    ]);
    this.exited = this.#child.status.then(async (status) => {
      clearTimeout(bootTimer);
      failBoot(new Error(`${name} exited with code ${status.code} before serving`));
      this.state = "gone";
      for (const timer of this.#timers) clearTimeout(timer);
      this.#onChange();
      await Promise.race([output, delay(EXIT_WAIT_MS)]);
      return this.#exitReason(status);
    });
  }

  /** Samples the worker's CPU time and applies the CPU limits. */
  sampleCpu() {
    if ((this.state !== "active" && this.state !== "retired") || this.#shutdownReason) return;
    const cpuMs = mainThreadCpuMs(this.pid);
    if (cpuMs === null) return;
    this.#cpuUsedMs = cpuMs - this.#cpuAtBootMs;
    const { cpuSoftLimitMs, cpuHardLimitMs, beforeunloadCpuPct } = this.#limits;
    if (cpuSoftLimitMs > 0) {
      if (this.#cpuUsedMs >= cpuHardLimitMs) {
        this.#log(`CPU time hard limit reached (${this.#cpuUsedMs} ms)`);
        return this.#terminate("CPUTime");
      }
      if (this.#cpuUsedMs >= cpuSoftLimitMs && !this.#cpuSoftLimitReached) {
        this.#cpuSoftLimitReached = true;
        this.#log(`CPU time soft limit reached (${this.#cpuUsedMs} ms): retired`);
        this.#retire();
      }
      const beforeunloadMs = percentOf(cpuHardLimitMs, beforeunloadCpuPct);
      if (beforeunloadMs !== null && this.#cpuUsedMs >= beforeunloadMs && !this.#cpuBeforeunloadSent) {
        this.#cpuBeforeunloadSent = true;
        this.#beforeunload("cpu");
      }
    }
    this.#maybeDropEarly();
  }

  /** Retires the worker and drops it once idle, as the runtime does when asked to terminate. */
  requestTermination() {
    if (this.state === "gone" || this.#terminationRequested) return;
    this.#log("termination requested: retired");
    this.#terminationRequested = true;
    this.#retire();
    this.#sendDrain();
    this.#maybeDropEarly();
  }

  stop() {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already exited */ }
  }

  /** Sends a request to the worker and relays its response, within the request idle timeout. */
  async handle(request: Request, headers: Headers, path: string): Promise<Response> {
    this.#requestsInFlight += 1;
    let ended = false;
    const requestEnded = () => {
      if (ended) return;
      ended = true;
      this.#requestsInFlight -= 1;
      if (this.state === "retired" && this.#requestsInFlight === 0) this.#sendDrain();
      this.#maybeDropEarly();
    };
    const idleTimeoutMs = this.#limits.requestIdleTimeoutMs;
    const upstream = new AbortController();
    let idleTimedOut = false;
    const idleTimer = idleTimeoutMs > 0
      ? setTimeout(() => {
        idleTimedOut = true;
        upstream.abort();
      }, idleTimeoutMs)
      : undefined;
    let response: Response;
    try {
      response = await fetch(`http://127.0.0.1:${this.#port}${path}`, {
        method: request.method,
        headers,
        body: request.body,
        redirect: "manual",
        signal: upstream.signal,
      });
    } catch (error) {
      clearTimeout(idleTimer);
      if (idleTimedOut) {
        this.#log(`request idle timeout: no response within ${idleTimeoutMs} ms`);
        requestEnded();
        return gatewayTimeout();
      }
      const reason = await Promise.race([this.exited, delay(EXIT_WAIT_MS).then(() => null)]);
      requestEnded();
      if (reason !== null && RESOURCE_LIMITS.has(reason)) return workerLimit();
      if (reason === null) this.#log(`request failed: ${error instanceof Error ? error.message : error}`);
      return workerError();
    }
    clearTimeout(idleTimer);
    if (response.body === null) {
      requestEnded();
      return response;
    }
    const streamed = !response.headers.has("content-length");
    return new Response(this.#relay(response.body, streamed ? idleTimeoutMs : 0, requestEnded), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  /**
   * The response body as the client reads it: the request counts as in flight until the body ends
   * or the client goes away, and a body that produces nothing for `idleTimeoutMs` (when > 0) ends
   * there, as the runtime's CancelOnWriteTimeout ends a streamed response.
   */
  #relay(
    body: ReadableStream<Uint8Array>,
    idleTimeoutMs: number,
    requestEnded: () => void,
  ): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    const IDLE = Symbol("idle");
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let idleTimer: ReturnType<typeof setTimeout> | undefined;
        try {
          const next = reader.read();
          const result = idleTimeoutMs > 0
            ? await Promise.race([
              next,
              new Promise<typeof IDLE>((resolve) => idleTimer = setTimeout(resolve, idleTimeoutMs, IDLE)),
            ])
            : await next;
          if (result === IDLE) {
            this.#log(`request idle timeout: a streamed response sent nothing for ${idleTimeoutMs} ms`);
            void reader.cancel().catch(() => {});
            controller.close();
            requestEnded();
          } else if (result.done) {
            controller.close();
            requestEnded();
          } else {
            controller.enqueue(result.value);
          }
        } catch (error) {
          controller.error(error);
          requestEnded();
        } finally {
          clearTimeout(idleTimer);
        }
      },
      cancel: async (reason) => {
        requestEnded();
        await reader.cancel(reason).catch(() => {});
      },
    });
  }

  /** The module has loaded: the worker takes requests, and its CPU time and wall clock start. */
  #ready(port: number) {
    this.#port = port;
    // Nothing runs between the module having loaded and this moment.
    this.#cpuAtBootMs = mainThreadCpuMs(this.pid) ?? 0;
    if (this.state === "booting") this.state = "active";
    this.#startWallClock();
    this.#onChange();
  }

  #exitReason(status: Deno.CommandStatus): ExitReason {
    if (this.#outOfHeap && !this.#shutdownReason) {
      this.#log("memory limit reached for the worker (V8 heap)");
      this.#shutdownReason = "Memory";
    }
    const reason = this.#shutdownReason;
    if (reason) this.#log(`shut down: ${reason} (CPU time used: ${this.#cpuUsedMs} ms)`);
    else this.#log(`exited (code ${status.code}${status.signal ? `, ${status.signal}` : ""})`);
    return reason ?? "UncaughtException";
  }

  #receive(message: Exclude<HostMessage, { event: "ready" }>) {
    switch (message.event) {
      case "background-tasks":
        this.#backgroundTasks = message.pending;
        break;
      case "memory-half":
        this.#memoryHalfReached = message.reached;
        break;
      case "memory-limit":
        this.#log(`memory limit reached for the worker (${Math.round(message.usedBytes / 2 ** 20)} MiB)`);
        return this.#terminate("Memory");
      case "early-drop-dispatched":
        this.#log("early termination has been triggered");
        return this.#terminate(this.#terminationRequested ? "TerminationRequested" : "EarlyDrop");
    }
    this.#maybeDropEarly();
  }

  #startWallClock() {
    const { wallClockMs, beforeunloadWallClockPct } = this.#limits;
    if (wallClockMs === 0) return;
    this.#timers.push(setTimeout(() => {
      this.#wallClockHalfReached = true;
      this.#log("wall clock duration warning: retired");
      this.#retire();
      this.#maybeDropEarly();
    }, wallClockMs / 2));
    const beforeunloadMs = percentOf(wallClockMs, beforeunloadWallClockPct);
    if (beforeunloadMs !== null) this.#timers.push(setTimeout(() => this.#beforeunload("wall_clock"), beforeunloadMs));
    this.#timers.push(setTimeout(() => {
      this.#log(`wall clock duration reached (requests in flight: ${this.#requestsInFlight})`);
      this.#terminate("WallClockTime");
    }, wallClockMs));
  }

  #hasResourceAlert(): boolean {
    return this.#terminationRequested || this.#cpuSoftLimitReached || this.#memoryHalfReached ||
      this.#wallClockHalfReached;
  }

  /** beforeunload "early_drop" and then termination, for a worker with an alert and nothing left to do. */
  #maybeDropEarly() {
    if (this.#earlyDropSent || this.#shutdownReason || this.state === "booting" || this.state === "gone") return;
    if (!this.#hasResourceAlert() || this.#requestsInFlight > 0 || this.#backgroundTasks > 0) return;
    this.#earlyDropSent = true;
    this.#retire();
    this.#send({ event: "early-drop" });
  }

  #retire() {
    if (this.state !== "booting" && this.state !== "active") return;
    this.state = "retired";
    this.#onChange();
  }

  #sendDrain() {
    if (this.#drainSent) return;
    this.#drainSent = true;
    this.#send({ event: "drain" });
  }

  #beforeunload(reason: BeforeunloadReason) {
    if (this.state === "gone" || this.#shutdownReason) return;
    this.#send({ event: "beforeunload", reason });
  }

  #terminate(reason: ExitReason) {
    if (this.#shutdownReason || this.state === "gone") return;
    this.#shutdownReason = reason;
    this.#retire();
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already exited */ }
  }

  #send(message: ControlMessage) {
    this.#control.write(new TextEncoder().encode(controlMessageLine(message))).catch(() => {});
  }

  #log(message: string) {
    console.log(`[gateway] ${this.#name} worker ${this.pid}: ${message}`);
  }

  async #followOutput(onMessage: (message: HostMessage) => void) {
    for await (const line of lines(this.#child.stdout)) {
      let message: HostMessage | null;
      try {
        message = parseHostMessage(line);
      } catch (error) {
        this.#log(`unreadable host message ${JSON.stringify(line)}: ${error}`);
        continue;
      }
      if (message) onMessage(message);
      else console.log(`[${this.#name}] ${line}`);
    }
  }

  async #followErrors() {
    for await (const line of lines(this.#child.stderr)) {
      if (OUT_OF_HEAP.test(line)) this.#outOfHeap = true;
      console.log(`[${this.#name}] ${line}`);
    }
  }
}

/** The user workers of every function the gateway serves. */
export class WorkerPool {
  readonly #limits: RuntimeLimits;
  readonly #command: HostCommand;
  readonly #workers = new Map<string, UserWorker[]>();
  readonly #turns = new Map<string, number>();
  #waiting: (() => void)[] = [];
  /** The CPU sampler runs only while some worker lives, so an idle gateway costs nothing. */
  #sampler: ReturnType<typeof setInterval> | undefined;

  constructor(limits: RuntimeLimits, command: HostCommand) {
    this.#limits = limits;
    this.#command = command;
  }

  #sampleWhileWorkersLive() {
    const live = [...this.#workers.values()].some((workers) => workers.length > 0);
    if (live && this.#sampler === undefined) {
      this.#sampler = setInterval(() => {
        for (const workers of this.#workers.values()) for (const worker of workers) worker.sampleCpu();
      }, CPU_SAMPLE_INTERVAL_MS);
    } else if (!live && this.#sampler !== undefined) {
      clearInterval(this.#sampler);
      this.#sampler = undefined;
    }
  }

  /** Forwards a request for function `name` (its index.ts at `entry`) to one of its workers. */
  async forward(name: string, entry: string, request: Request, headers: Headers, rest: string): Promise<Response> {
    let worker: UserWorker;
    try {
      worker = await this.#workerFor(name, entry);
    } catch (error) {
      console.error(`[gateway] ${name} failed to boot: ${error instanceof Error ? error.message : error}`);
      return bootError();
    }
    const incoming = new URL(request.url);
    headers.set("x-forwarded-host", incoming.host);
    headers.set("x-forwarded-proto", incoming.protocol.replace(":", ""));
    return await worker.handle(request, headers, `/${name}${rest}${incoming.search}`);
  }

  /** Retires every worker, which then finishes its work and is dropped: new requests get new workers. */
  retireAll() {
    for (const workers of this.#workers.values()) for (const worker of workers) worker.requestTermination();
  }

  /** Asks every worker's process to exit (it finishes its background tasks within a grace period). */
  stop() {
    for (const workers of this.#workers.values()) for (const worker of workers) worker.stop();
  }

  async #workerFor(name: string, entry: string): Promise<UserWorker> {
    while (true) {
      const workers = this.#workers.get(name) ?? [];
      const active = workers.filter((worker) => worker.state === "active");
      if (active.length > 0) {
        const turn = this.#turns.get(name) ?? 0;
        this.#turns.set(name, turn + 1);
        return active[turn % active.length];
      }
      if (workers.filter((worker) => worker.state === "booting").length < this.#limits.maxParallelism) {
        const worker = this.#start(name, entry);
        await worker.booted;
        return worker;
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  #start(name: string, entry: string): UserWorker {
    const worker = new UserWorker(name, entry, this.#limits, this.#command, () => this.#changed());
    this.#workers.set(name, [...(this.#workers.get(name) ?? []), worker]);
    this.#sampleWhileWorkersLive();
    void worker.exited.then(() => {
      this.#workers.set(name, (this.#workers.get(name) ?? []).filter((other) => other !== worker));
      this.#sampleWhileWorkersLive();
    });
    return worker;
  }

  /** A worker booted, retired or exited: requests waiting for one try again. */
  #changed() {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const wake of waiting) wake();
  }
}
