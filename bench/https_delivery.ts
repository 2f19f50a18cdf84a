// What a delivery costs the function over https, against the raw sender's cost per POST, beside
// plain http: `npm run bench:https` (the stack must be up: `npm start -- --detach`).
//
//   eval "$(npm run --silent env)"; node_modules/.bin/deno run -A bench/https_delivery.ts [--count=N] [--rounds=N]
//
// Three receivers on 127.0.0.1 (bench/receiver.ts, its own thread): https that keeps
// connections open, https that answers `Connection: close` (every request a new connection, so a
// new TLS handshake), and plain http. For each, in rounds:
// - the dispatcher: `count` job.created events written while delivery is held, then released; the
//   stack's webhook-dispatch delivers them to `https://bench.loopback.cjh.test:<port>` (resolved by
//   the stack's DNS server, TLS with the local CA, the runtime's CPU limits on) or
//   `http://127.0.0.1:<port>`; its workers' CPU time (every thread, /proc) per delivery;
// - the raw sender (bench/raw_sender.ts): the same count of signed POSTs with fetch from a process
//   of its own, no database, `https://127.0.0.1:<port>` (its certificate covers that address too)
//   or http; its CPU time per POST.
// Medians of the rounds; the last line is `BENCH_JSON {…}`.
import { asUser, connect, createTenant, ROOT, stack } from "../tests/_support/stack.ts";
import { registerEndpoint } from "../tests/_support/webhooks.ts";
import { functionWorkerPids, sampleProcesses } from "./processes.ts";
import { benchCertificate } from "./local_certificate.ts";
import { Receiver } from "./receiver.ts";

const options = Object.fromEntries(
  Deno.args.filter((arg) => arg.includes("=")).map((arg) => arg.replace(/^--/, "").split("=", 2)),
);
const COUNT = Number(options.count ?? 5_000);
const ROUNDS = Number(options.rounds ?? 3);
const RAW_CONCURRENCY = 64;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

const admin = connect(4);
const receiver = new Receiver();
await receiver.start(await benchCertificate());
const runId = crypto.randomUUID().slice(0, 8);

interface Variant {
  key: string;
  label: string;
  dispatcherUrl: string;
  rawUrl: string;
}
const VARIANTS: Variant[] = [
  {
    key: "https_reused",
    label: "https, connections reused",
    dispatcherUrl: `https://bench.${stack.CJH_RECEIVER_DOMAIN}:${receiver.httpsPort}/hook`,
    rawUrl: `https://127.0.0.1:${receiver.httpsPort}/hook`,
  },
  {
    key: "https_new",
    label: "https, a new connection per request",
    dispatcherUrl: `https://bench.${stack.CJH_RECEIVER_DOMAIN}:${receiver.httpsPort}/close`,
    rawUrl: `https://127.0.0.1:${receiver.httpsPort}/close`,
  },
  {
    key: "http",
    label: "http, connections reused",
    dispatcherUrl: `http://127.0.0.1:${receiver.port}/hook`,
    rawUrl: `http://127.0.0.1:${receiver.port}/hook`,
  },
];

async function holdDelivery() {
  await admin`update webhooks.settings set dispatch_paused = true`;
  while ((await admin<{ draining: boolean }[]>`select draining from webhooks.dispatch_due_state()`)[0].draining) {
    await sleep(20);
  }
}

async function settle(orgId: string) {
  const deadline = Date.now() + 300_000;
  while (true) {
    const [{ open }] = await admin<{ open: number }[]>`
      select (select count(*)::int from webhooks.outbox where org_id = ${orgId})
           + (select count(*)::int from webhooks.deliveries
               where status in ('pending', 'sending') and org_id = ${orgId}) as open`;
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} events or deliveries still open`);
    await sleep(50);
  }
}

/** CPU time (µs) webhook-dispatch's workers used per delivery of `COUNT` events to `url`. */
async function dispatcherCpuPerDelivery(tenant: { orgId: string; userId: string }): Promise<number> {
  await holdDelivery();
  await asUser(
    admin,
    tenant.userId,
    (tx) =>
      tx`insert into public.jobs (org_id, title) select ${tenant.orgId}, 'https bench ' || n from generate_series(1, ${COUNT}) n`,
  );
  await receiver.reset();
  const cpu = sampleProcesses(() => functionWorkerPids("webhook-dispatch"));
  await admin`update webhooks.settings set dispatch_paused = false`;
  await receiver.waitForDistinct(COUNT, 300_000);
  const { cpuMs } = await cpu.stop();
  await settle(tenant.orgId);
  return cpuMs * 1000 / COUNT;
}

/** CPU time (µs) the raw sender used per POST of `COUNT` signed messages to `url`. */
async function rawCpuPerPost(url: string, secret: string, template: string): Promise<number> {
  await receiver.reset();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}/deno.json`, `${ROOT}/bench/raw_sender.ts`],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({
    url,
    secret,
    count: COUNT,
    concurrency: RAW_CONCURRENCY,
    template,
    runId: `${runId}${Math.floor(Math.random() * 1e6)}`,
  })));
  await writer.close();
  const { stdout, code } = await child.output();
  if (code !== 0) throw new Error("bench/raw_sender.ts failed");
  const { cpuMs } = JSON.parse(new TextDecoder().decode(stdout)) as { cpuMs: number };
  await receiver.waitForDistinct(COUNT, 60_000);
  return cpuMs * 1000 / COUNT;
}

console.log(
  `https bench run ${runId}: ${COUNT} deliveries per figure, median of ${ROUNDS} rounds, ` +
    `${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}`,
);
const results: Record<string, number> = {};
const tenants: Awaited<ReturnType<typeof createTenant>>[] = [];
try {
  for (const variant of VARIANTS) {
    const tenant = await createTenant(admin, `bench-${variant.key.replaceAll("_", "-")}`);
    tenants.push(tenant);
    const endpoint = await registerEndpoint(admin, tenant, variant.dispatcherUrl);
    const dispatcher: number[] = [];
    for (let round = 0; round < ROUNDS; round++) dispatcher.push(await dispatcherCpuPerDelivery(tenant));
    const [{ payload: template }] = await admin<{ payload: string }[]>`
      select payload::text from webhooks.events where org_id = ${tenant.orgId} order by id desc limit 1`;
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      raw.push(await rawCpuPerPost(variant.rawUrl, endpoint.secret, template));
    }
    results[`${variant.key}_function_cpu_us_per_delivery`] = median(dispatcher);
    results[`${variant.key}_raw_cpu_us_per_post`] = median(raw);
    results[`${variant.key}_function_vs_raw`] = median(dispatcher) / median(raw);
    console.log(
      `  ${variant.label.padEnd(40)} function ${median(dispatcher).toFixed(0)} µs/delivery ` +
        `(${dispatcher.map((v) => v.toFixed(0)).join(", ")}), raw ${median(raw).toFixed(0)} µs/POST ` +
        `(${raw.map((v) => v.toFixed(0)).join(", ")}), ratio ${(median(dispatcher) / median(raw)).toFixed(2)}`,
    );
  }
} finally {
  await admin`update webhooks.settings set dispatch_paused = false`;
  for (const tenant of tenants) await tenant.remove();
  await receiver.stop();
  await admin.end();
}
console.log(`BENCH_JSON ${JSON.stringify(results)}`);
