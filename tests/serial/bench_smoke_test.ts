// `npm run bench` in smoke mode (tiny sizes): every section runs against the stack and prints
// well-formed figures. No timing thresholds: the figures and their targets live in bench/RESULTS.md.
// Serial: the bench disables the outbox triggers between rounds, which parallel tests would notice.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { integrationTest, ROOT } from "../_support/stack.ts";

integrationTest("npm run bench -- --smoke prints every figure, finite and non-negative", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}/deno.json`, `${ROOT}/bench/run.ts`, "--smoke"],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const output = new TextDecoder().decode(stdout);
  assertEquals(code, 0, `${output}\n${new TextDecoder().decode(stderr)}`);

  const line = output.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  assert(line, output);
  const { smoke, results } = JSON.parse(line.slice("BENCH_JSON ".length)) as {
    smoke: boolean;
    results: Record<string, number>;
  };
  assertEquals(smoke, true);
  const expected = [
    "overhead_on_per_s",
    "overhead_off_per_s",
    "overhead_ratio",
    "overhead_ratio_orgs",
    "overhead_wal_on",
    "overhead_wal_off",
    "overhead_held_per_s",
    "overhead_ratio_live",
    "overhead_ratio_bare",
    "overhead_ratio_jobs",
    "overhead_ratio_invoices",
    "overhead_ratio_clients",
    "overhead_invoices_held_per_s",
    "overhead_invoices_off_per_s",
    "overhead_clients_held_per_s",
    "overhead_clients_off_per_s",
    "import_ratio_jobs",
    "import_ratio_clients",
    "import_jobs_held_per_s",
    "import_jobs_off_per_s",
    "import_clients_held_per_s",
    "import_clients_off_per_s",
    "transaction_us_off",
    "transaction_us_held",
    "transaction_us_unlocked",
    "transaction_us_bare",
    "latency_200_p50",
    "latency_200_p95",
    "latency_200_p99",
    "latency_1000_p50",
    "latency_1000_p95",
    "latency_1000_p99",
    "latency_neighbour_p50",
    "latency_neighbour_p99",
    "neighbour_backlog_waiting",
    "retry_late_p50",
    "retry_late_p99",
    "retry_late_min",
    "scheduler_idle_cpu_share",
    "throughput",
    "pgboss",
    "pgboss_batched",
    "raw_limit",
    "throughput_vs_raw",
    "throughput_vs_pgboss",
    "throughput_vs_pgboss_batched",
    "raw_cpu_us_per_post",
    "function_cpu_us_per_delivery",
    "database_cpu_us_per_delivery",
    "function_cpu_vs_raw",
    "many_endpoints",
    "many_endpoints_duplicates",
    "many_endpoints_database_cpu_us_per_delivery",
    "many_vs_one_endpoint",
    "idle_database_cpu_share",
    "idle_functions_cpu_share",
    "idle_stack_cpu_share",
    "backlog_seconds",
    "backlog_duplicates",
    "backlog_handovers_per_100k",
    "backlog_workers",
    "dispatcher_peak_rss_mb",
    "geocode_hit_p50",
    "geocode_miss_p50",
  ];
  for (const key of expected) {
    assert(typeof results[key] === "number" && Number.isFinite(results[key]), `${key}: ${line}`);
    // Lateness may be measured a hair below zero only by rounding; everything else is a count or rate.
    assert(results[key] >= (key.startsWith("retry_late") ? -1 : 0), `${key}: ${line}`);
  }
  // The jobs' per-table figure is the headline one, which other readers of BENCH_JSON know by its old key.
  assertEquals(results.overhead_ratio_jobs, results.overhead_ratio);
  // A retry never starts before it is due.
  assert(results.retry_late_min >= -1, line);
  // Correctness, not speed: a backlog is delivered exactly once per webhook-id.
  assertEquals(results.backlog_duplicates, 0);
  assertEquals(results.throughput_duplicates, 0);
  // The human-readable report names each target.
  assert(output.includes("Against the targets"), output);
});
