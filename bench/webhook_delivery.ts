// Webhook delivery as it runs on the local stack: commit → receiver latency for single-job
// transactions, and how fast a burst drains through the commit wake-up's background drains.
// Issue 6's benchmark suite measures this against its targets; this is the quick look.
//   eval "$(npm run --silent env)"; node_modules/.bin/deno run -A bench/webhook_delivery.ts [burst] [singles]
import { asUser, connect, createTenant } from "../tests/_support/stack.ts";
import { registerEndpoint } from "../tests/_support/webhooks.ts";

const BURST = Number(Deno.args[0] ?? 10_000);
const SINGLES = Number(Deno.args[1] ?? 300);
const SINGLE_INTERVAL_MS = 5; // 200 transactions per second offered

const arrivals = new Map<string, number>();
let received = 0;
let allArrived: (() => void) | null = null;
let expected = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
  const body = await request.json();
  arrivals.set(body.job.title, performance.now());
  if (++received >= expected) allArrived?.();
  return new Response(null, { status: 204 });
});

const sql = connect(8);
const tenant = await createTenant(sql, "bench-delivery");
const percentile = (values: number[], p: number) =>
  values.toSorted((a, b) => a - b)[Math.floor(p * (values.length - 1))];

try {
  await registerEndpoint(sql, tenant, `http://127.0.0.1:${server.addr.port}/hook`);

  // Latency: one job per transaction, commit acknowledged → request at the receiver.
  const committedAt = new Map<string, number>();
  const inserts: Promise<void>[] = [];
  for (let i = 0; i < SINGLES; i++) {
    const title = `single ${i}`;
    inserts.push(
      asUser(sql, tenant.userId, (tx) => tx`insert into public.jobs (org_id, title) values (${tenant.orgId}, ${title})`)
        .then(() => void committedAt.set(title, performance.now())),
    );
    await new Promise((resolve) => setTimeout(resolve, SINGLE_INTERVAL_MS));
  }
  await Promise.all(inserts);
  while (arrivals.size < SINGLES) await new Promise((resolve) => setTimeout(resolve, 20));
  const latencies = [...committedAt].map(([title, at]) => arrivals.get(title)! - at);
  console.log(
    `commit → receiver, ${SINGLES} single-job transactions at ~${1000 / SINGLE_INTERVAL_MS}/s: ` +
      `p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p95 ${percentile(latencies, 0.95).toFixed(1)} ms, ` +
      `p99 ${percentile(latencies, 0.99).toFixed(1)} ms`,
  );

  // Burst: BURST jobs in one statement; one wake-up, background drains deliver them.
  received = 0;
  expected = BURST;
  const done = new Promise<void>((resolve) => (allArrived = resolve));
  const started = performance.now();
  await asUser(
    sql,
    tenant.userId,
    (tx) =>
      tx`insert into public.jobs (org_id, title) select ${tenant.orgId}, 'burst ' || n from generate_series(1, ${BURST}) n`,
  );
  const committed = performance.now();
  await done;
  const elapsed = performance.now() - committed;
  console.log(
    `burst of ${BURST}: insert ${(committed - started).toFixed(0)} ms, delivered in ${elapsed.toFixed(0)} ms ` +
      `= ${(BURST / (elapsed / 1000)).toFixed(0)} deliveries/s`,
  );
} finally {
  // Let the dispatcher record its last attempts before the organization (and its rows) go.
  while (
    (await sql`select 1 from webhooks.deliveries where org_id = ${tenant.orgId} and status = 'sending' limit 1`).length
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await sql`delete from public.organizations where id = ${tenant.orgId}`;
  await sql`delete from auth.users where id = ${tenant.userId}`;
  await sql.end();
  await server.shutdown();
}
