// CPU time and memory of processes, read from /proc, for the benchmarks: the stack's function
// workers (which come and go as the local edge runtime retires them) and its PostgreSQL backends.
import { ROOT } from "../tests/_support/stack.ts";

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process in ms, or null once it is gone. */
export function cpuMsOf(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

function parentOf(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

function commandOf(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  } catch {
    return [];
  }
}

function pids(): number[] {
  return [...Deno.readDirSync("/proc")].filter((entry) => /^\d+$/.test(entry.name)).map((entry) => Number(entry.name));
}

/** This checkout's processes running a function (the local host runs each worker in one). */
export function functionWorkerPids(name: string): number[] {
  const entry = `${ROOT}/supabase/functions/${name}/index.ts`;
  return pids().filter((pid) => {
    const command = commandOf(pid);
    return command.some((arg) => arg.endsWith("local/function-host.ts")) && command.includes(entry);
  });
}

/** This checkout's local platform processes that serve functions: the gateway, every function worker, pg_net's worker. */
export function functionHostPids(): number[] {
  const scripts = ["local/function-host.ts", "local/gateway.ts", "local/pg-net-worker.ts"].map((path) =>
    `${ROOT}/${path}`
  );
  return pids().filter((pid) => commandOf(pid).some((arg) => scripts.includes(arg)));
}

/** PostgreSQL's processes: the postmaster (the parent of `backendPid`, any backend of it) and its children. */
export function postgresPids(backendPid: number): number[] {
  const postmaster = parentOf(backendPid);
  if (postmaster === null) return [];
  return [postmaster, ...pids().filter((pid) => parentOf(pid) === postmaster)];
}

/** RSS of a process in MB, or null once it is gone (an exiting process's status has no VmRSS). */
export function rssMbOf(pid: number): number | null {
  try {
    const kilobytes = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/)?.[1];
    return kilobytes === undefined ? null : Number(kilobytes) / 1024;
  } catch {
    return null;
  }
}

/**
 * Samples every `intervalMs` the CPU time of the processes `find` returns (which may come and go)
 * and the largest RSS among them; `stop()` returns the CPU time they used meanwhile (ms) and the
 * peak RSS (MB). A process that exits between samples loses at most one interval of CPU time.
 */
export function sampleProcesses(find: () => number[], intervalMs = 50) {
  const last = new Map<number, number>();
  let usedMs = 0;
  let peakRssMb = 0;
  let running = true;
  let first = true;
  const take = () => {
    for (const pid of find()) {
      const cpu = cpuMsOf(pid);
      if (cpu === null) continue;
      const previous = last.get(pid);
      // A process that started during the sampling counts whole; one that was there, from the start.
      if (previous !== undefined) usedMs += cpu - previous;
      else if (!first) usedMs += cpu;
      last.set(pid, cpu);
      peakRssMb = Math.max(peakRssMb, rssMbOf(pid) ?? 0);
    }
    first = false;
  };
  take();
  const loop = (async () => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      take();
    }
  })();
  return {
    async stop(): Promise<{ cpuMs: number; peakRssMb: number; processes: number }> {
      running = false;
      await loop;
      take();
      return { cpuMs: usedMs, peakRssMb, processes: last.size };
    },
  };
}
