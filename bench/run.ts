// `npm run bench`: the performance targets (bench/RESULTS.md), measured side by side in one run against the local
// stack (`npm start -- --detach`) with a receiver on loopback (bench/receiver.ts, its own
// thread). See bench/RESULTS.md for the figures and how they were taken.
//
//   eval "$(npm run --silent env)"; node_modules/.bin/deno run -A bench/run.ts [--smoke] [--profile]
//                      [--only=overhead,transaction,latency,neighbour,retries,throughput,many,backlog,geocode,idle]
//                      [--backlog=N] [--backlogs=N]
//
// --smoke runs every section with tiny sizes (tests/serial/bench_smoke_test.ts checks that it prints
// well-formed figures; no thresholds). --profile adds the trigger-overhead profile (the outbox row
// reduced to its bare outbox row). --backlogs=N drains the backlog N times in a row.
// The last line is `BENCH_JSON {…}` with every figure.
//
// The bench changes shared state while it runs (it disables triggers between rounds, creates a
// database for pg-boss): run it against a stack nobody else is using.
import postgres from "npm:postgres@3.4.9";
import { PgBoss } from "npm:pg-boss@12.38.0";
import { asUser, connect, createTenant, ROOT, stack } from "../tests/_support/stack.ts";
import { registerEndpoint } from "../tests/_support/webhooks.ts";
import { webhookHeaders, WebhookSigner } from "../supabase/functions/_shared/signing.ts";
import { cpuMsOf, functionHostPids, functionWorkerPids, postgresPids, sampleProcesses } from "./processes.ts";
import { Receiver } from "./receiver.ts";

const flags = new Set(Deno.args.filter((arg) => !arg.includes("=")));
const options = Object.fromEntries(
  Deno.args.filter((arg) => arg.includes("=")).map((arg) => arg.replace(/^--/, "").split("=", 2)),
);
const SMOKE = flags.has("--smoke");
const PROFILE = flags.has("--profile");
const ONLY = options.only ? new Set(String(options.only).split(",")) : null;
const wanted = (section: string) => ONLY === null || ONLY.has(section);

const SIZES = SMOKE
  ? {
    overheadPairs: 1,
    overheadSeconds: 0.5,
    overheadClients: 2,
    tableSeconds: 0.3,
    importStatements: 1,
    latencySeconds: 0.2,
    neighbourBacklog: 50,
    neighbourSeconds: 0.5,
    retries: 6,
    throughput: 200,
    raw: 200,
    backlog: 500,
    geocodeRounds: 5,
    transactions: 50,
    manyOrganizations: 5,
    manyPerEndpoint: 4,
  }
  : {
    overheadPairs: Number(options.pairs ?? 3),
    overheadSeconds: Number(options.seconds ?? 5),
    overheadClients: Number(options.clients ?? 4),
    // Every publishing table's one-row inserts, and the imports: shorter rounds than the jobs' own
    // above, which keep the section within about 3 minutes. An import's round is counted in
    // statements (1,000 rows each), not seconds: each row is an event to deliver after a held round.
    tableSeconds: 2,
    importStatements: 4,
    latencySeconds: 5,
    neighbourBacklog: 2_000,
    neighbourSeconds: 5,
    retries: 90,
    throughput: 20_000,
    raw: 20_000,
    backlog: Number(options.backlog ?? 100_000),
    geocodeRounds: 300,
    transactions: 3_000,
    manyOrganizations: Number(options.organizations ?? 1_000),
    manyPerEndpoint: 20,
  };

const results: Record<string, number> = {};
const note = (key: string, value: number, unit: string, label: string) => {
  results[key] = value;
  console.log(`  ${label.padEnd(64)} ${formatNumber(value)} ${unit}`);
};
const formatNumber = (value: number) =>
  Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();
const percentile = (values: number[], p: number) =>
  values.length === 0 ? NaN : values.toSorted((a, b) => a - b)[Math.floor(p * (values.length - 1))];
const median = (values: number[]) => percentile(values, 0.5);

// ---------------------------------------------------------------------------------------------
// The receiver (a worker thread)
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------------------------

const admin = connect(4);
const receiver = new Receiver();
await receiver.start();
const runId = crypto.randomUUID().slice(0, 8);
const tenant = await createTenant(admin, "bench");
const extraTenants: Awaited<ReturnType<typeof createTenant>>[] = [];
const endpoint = await registerEndpoint(admin, tenant, receiver.url);
const claimsOf = (userId: string) => JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" });

const [{ version: pgVersion }] = await admin<
  { version: string }[]
>`select current_setting('server_version') as version`;
console.log(
  `bench ${SMOKE ? "(smoke) " : ""}run ${runId}: ${navigator.hardwareConcurrency} CPUs, ` +
    `${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB, PostgreSQL ${pgVersion}, Deno ${Deno.version.deno}`,
);

/**
 * The tables whose publishing the bench switches off for its "off" rounds. Off is every trigger on
 * the table whose name contains "publish", looked up in pg_trigger at each switch rather than named
 * here, so the bench follows the migrations as they replace one set of publish triggers with
 * another. They are all switched back on at the end, and at the start too: a run stopped mid-round
 * (Ctrl-C skips the clean-up) leaves them off, and its next run would measure "on" without them.
 */
const PUBLISHING_TABLES = ["jobs", "invoices", "clients"] as const;
type PublishingTable = (typeof PUBLISHING_TABLES)[number];

/** `table`'s publish triggers, by name, and whether each is enabled. */
async function publishTriggers(table: PublishingTable) {
  return await admin<{ name: string; enabled: boolean }[]>`
    select tgname as name, tgenabled <> 'D' as enabled
      from pg_trigger
     where tgrelid = ${`public.${table}`}::regclass and not tgisinternal and tgname like '%publish%'
     order by tgname`;
}

/** Enables or disables every publish trigger of `table` (one statement); the names it switched. */
async function setPublishing(table: PublishingTable, enabled: boolean): Promise<string[]> {
  const switching = (await publishTriggers(table)).filter((trigger) => trigger.enabled !== enabled).map((t) => t.name);
  if (switching.length > 0) {
    const action = enabled ? "enable" : "disable";
    await admin.unsafe(
      `alter table public.${table} ` +
        switching.map((name) => `${action} trigger "${name.replaceAll('"', '""')}"`).join(", "),
    );
  }
  return switching;
}

for (const table of PUBLISHING_TABLES) {
  const found = await setPublishing(table, true);
  if (found.length > 0) {
    console.log(
      `publish triggers found disabled (an interrupted run?), enabled again: public.${table} ${found.join(", ")}`,
    );
  }
}

/** Makes sure `count` more organizations, each with an endpoint at the receiver, exist. */
async function ensureExtraTenants(count: number) {
  while (extraTenants.length < count) {
    const extra = await createTenant(admin, "bench-extra");
    await registerEndpoint(admin, extra, receiver.url);
    extraTenants.push(extra);
  }
}

/** Waits until nothing of the bench's organizations waits for a fan-out, or is pending or being sent. */
async function settle(timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  const orgs = [tenant.orgId, ...extraTenants.map((t) => t.orgId)];
  while (true) {
    const [{ open }] = await admin<{ open: number }[]>`
      select (select count(*)::int from webhooks.outbox where org_id = any (${orgs}))
           + (select count(*)::int from webhooks.deliveries
               where status in ('pending', 'sending') and org_id = any (${orgs})) as open`;
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} events or deliveries still open`);
    await sleep(50);
  }
}

/**
 * Holds delivery: the scheduler wakes nobody (webhooks.settings.dispatch_paused) and the bench
 * waits until running drains have stopped; what is written meanwhile waits in the outbox.
 */
async function holdDelivery() {
  await admin`update webhooks.settings set dispatch_paused = true`;
  while ((await admin<{ draining: boolean }[]>`select draining from webhooks.dispatch_due_state()`)[0].draining) {
    await sleep(20);
  }
}
async function releaseDelivery() {
  await admin`update webhooks.settings set dispatch_paused = false`;
}

// ---------------------------------------------------------------------------------------------
// 1. Trigger overhead: inserts per second with the outbox on and off, alternating rounds, for
//    every table that publishes events
// ---------------------------------------------------------------------------------------------

interface Org {
  orgId: string;
  userId: string;
}

/** What each transaction of a round writes, as the organization's member. */
interface Workload {
  /** What the figures count: "inserts" (one row per transaction) or "rows". */
  unit: string;
  /** Rows each transaction writes. */
  rows: number;
  write: (tx: postgres.TransactionSql, org: Org) => Promise<unknown>;
}

/** How long a round runs: until `seconds` have passed, or `transactions` have begun, whichever is first. */
interface RoundLength {
  seconds: number;
  transactions?: number;
}

/** The client the bench's invoices are billed to, one per organization (invoices.client_id is required). */
const invoiceClients = new Map<string, string>();
async function ensureInvoiceClients(orgs: Org[]) {
  for (const org of orgs) {
    if (invoiceClients.has(org.orgId)) continue;
    const [client] = await asUser(admin, org.userId, (tx) =>
      tx<{ id: string }[]>`
        insert into public.clients (org_id, name) values (${org.orgId}, 'bench invoices') returning id`);
    invoiceClients.set(org.orgId, client.id);
  }
}

/** An import's size: one statement, as a CSV import or an integration's first sync writes them. */
const IMPORT_ROWS = 1_000;

/** The rounds' writes: a one-row insert per transaction into each publishing table, as the API makes them, and imports. */
const WORKLOADS = {
  jobInserts: {
    unit: "inserts",
    rows: 1,
    write: (tx, org) => tx`insert into public.jobs (org_id, title) values (${org.orgId}, 'overhead')`,
  },
  invoiceInserts: {
    unit: "inserts",
    rows: 1,
    write: (tx, org) =>
      tx`insert into public.invoices (org_id, client_id, total)
         values (${org.orgId}, ${invoiceClients.get(org.orgId)!}, 100)`,
  },
  clientInserts: {
    unit: "inserts",
    rows: 1,
    write: (tx, org) => tx`insert into public.clients (org_id, name) values (${org.orgId}, 'overhead')`,
  },
  jobImport: {
    unit: "rows",
    rows: IMPORT_ROWS,
    write: (tx, org) =>
      tx`insert into public.jobs (org_id, title)
         select ${org.orgId}::uuid, 'import' from generate_series(1, ${IMPORT_ROWS}::int)`,
  },
  clientImport: {
    unit: "rows",
    rows: IMPORT_ROWS,
    write: (tx, org) =>
      tx`insert into public.clients (org_id, name)
         select ${org.orgId}::uuid, 'import' from generate_series(1, ${IMPORT_ROWS}::int)`,
  },
} satisfies Record<string, Workload>;

/** One round: a client per entry of `orgs` commits `workload`'s transactions back to back, as its member. */
async function insertRound(pool: postgres.Sql, orgs: Org[], workload: Workload, length: RoundLength) {
  const [{ lsn: startLsn }] = await admin<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
  let begun = 0;
  let count = 0;
  const started = performance.now();
  const deadline = started + length.seconds * 1000;
  const limit = length.transactions ?? Infinity;
  await Promise.all(orgs.map(async (org) => {
    const claims = claimsOf(org.userId);
    while (performance.now() < deadline && begun < limit) {
      begun++;
      await pool.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
        await workload.write(tx, org);
      });
      count++;
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const [{ bytes }] = await admin<{ bytes: number }[]>`
    select pg_wal_lsn_diff(pg_current_wal_lsn(), ${startLsn}::pg_lsn)::float8 as bytes`;
  return { perSecond: count * workload.rows / elapsed, walPerTransaction: bytes / count };
}

interface Variant {
  name: string;
  apply: () => Promise<void>;
  undo: () => Promise<void>;
}

type Figures = Map<string, { perSecond: number[]; wal: number[] }>;

async function compare(
  label: string,
  orgs: Org[],
  variants: Variant[],
  pairs: number,
  workload: Workload = WORKLOADS.jobInserts,
  length: RoundLength = { seconds: SIZES.overheadSeconds },
): Promise<Figures> {
  const pool = postgres(stack.SUPABASE_DB_URL, { max: orgs.length, onnotice: () => {}, prepare: true });
  const figures = new Map(variants.map((v) => [v.name, { perSecond: [] as number[], wal: [] as number[] }]));
  try {
    // Warm-up; a round counted in transactions warms up with one (an import is 1,000 events to deliver).
    await insertRound(pool, orgs, workload, {
      seconds: Math.min(1, length.seconds),
      transactions: length.transactions === undefined ? undefined : 1,
    });
    await settle();
    for (let pair = 0; pair < pairs; pair++) {
      const order = pair % 2 === 0 ? variants : variants.toReversed();
      for (const variant of order) {
        await variant.apply();
        try {
          const round = await insertRound(pool, orgs, workload, length);
          figures.get(variant.name)!.perSecond.push(round.perSecond);
          figures.get(variant.name)!.wal.push(round.walPerTransaction);
        } finally {
          await variant.undo();
        }
        await settle();
        await admin`vacuum (analyze) webhooks.deliveries`;
      }
    }
  } finally {
    await pool.end();
  }
  console.log(`  ${label}:`);
  for (const [name, figure] of figures) {
    console.log(
      `    ${name.padEnd(44)} ${median(figure.perSecond).toFixed(0).padStart(6)} ${workload.unit}/s ` +
        `(${figure.perSecond.map((v) => v.toFixed(0)).join(", ")}), ${median(figure.wal).toFixed(0)} WAL bytes/tx`,
    );
  }
  return figures;
}

/** The median rate of variant `on` over that of variant `off`. */
const ratioOf = (figures: Figures, on: string, off: string) =>
  median(figures.get(on)!.perSecond) / median(figures.get(off)!.perSecond);

const nothing = async () => {};
/** Publishing off for one table: every publish trigger of it disabled (setPublishing). */
const offFor = (table: PublishingTable): Variant => ({
  name: "outbox off (publish triggers disabled)",
  apply: async () => void await setPublishing(table, false),
  undo: async () => void await setPublishing(table, true),
});
const OFF = offFor("jobs");
const ON: Variant = { name: "outbox on, delivered live", apply: nothing, undo: nothing };
/**
 * The outbox's own cost in the writing transaction: everything on (the trigger and its outbox row,
 * with the writing statement's snapshot), but delivery held (holdDelivery), so that the fan-out and the sending do
 * not compete with the writers for the same cores; what piled up is delivered after the round.
 */
const HELD: Variant = {
  name: "outbox on, delivery held",
  apply: holdDelivery,
  undo: releaseDelivery,
};

/**
 * The targets' own reference: "a bare one-row outbox trigger keeps about 0.85 of plain INSERT
 * throughput" on its machine. Measured here in the same run, it says what this machine allows.
 * Lives in its own schema, dropped when the bench ends (and before it starts, after a crash).
 */
const BARE_REFERENCE_SQL = `
  drop schema if exists bench_reference cascade;
  create schema bench_reference;
  create table bench_reference.outbox (id bigint generated always as identity primary key, job_id uuid not null);
  create function bench_reference.tg_jobs__record() returns trigger
    language plpgsql security definer set search_path = '' as $$
    begin
      insert into bench_reference.outbox (job_id) values (new.id);
      return null;
    end $$;
  create trigger _801_bench_reference after insert on public.jobs
    for each row execute function bench_reference.tg_jobs__record();
  alter table public.jobs disable trigger _801_bench_reference;
  -- The product's job.created trigger reduced to its outbox row (no resource, no sequence), for the profile.
  create function bench_reference.tg_jobs__publish_unlocked() returns trigger
    language plpgsql security definer set search_path = '' as $$
    begin
      insert into webhooks.outbox (org_id, event_type, data)
      select n.org_id, 'job.created', to_jsonb(n) from new_rows n;
      return null;
    end $$;
  create trigger _802_bench_unlocked after insert on public.jobs
    referencing new table as new_rows
    for each statement execute function bench_reference.tg_jobs__publish_unlocked();
  alter table public.jobs disable trigger _802_bench_unlocked;`;
const UNLOCKED: Variant = {
  name: "bare outbox row (no resource, no sequence), held",
  apply: async () => {
    await holdDelivery();
    await setPublishing("jobs", false);
    await admin.unsafe("alter table public.jobs enable trigger _802_bench_unlocked");
  },
  undo: async () => {
    await admin.unsafe("alter table public.jobs disable trigger _802_bench_unlocked");
    await setPublishing("jobs", true);
    await releaseDelivery();
  },
};
const BARE: Variant = {
  name: "reference: a bare one-row trigger instead",
  apply: async () => {
    await setPublishing("jobs", false);
    await admin.unsafe("alter table public.jobs enable trigger _801_bench_reference");
  },
  undo: async () => {
    await admin.unsafe("alter table public.jobs disable trigger _801_bench_reference");
    await setPublishing("jobs", true);
  },
};

async function overhead() {
  console.log(
    `\n1. Trigger overhead: ${SIZES.overheadClients} clients, ${SIZES.overheadSeconds} s rounds, ` +
      `${SIZES.overheadPairs} alternating pair(s); every publishing table: ${SIZES.tableSeconds} s rounds, ` +
      `imports of ${SIZES.importStatements} × ${IMPORT_ROWS} rows a round`,
  );
  await admin.unsafe(BARE_REFERENCE_SQL);
  const singleOrg = Array.from({ length: SIZES.overheadClients }, () => tenant);
  const one = await compare(
    "one organization (all clients insert into the same one)",
    singleOrg,
    [HELD, ON, BARE, OFF],
    SIZES.overheadPairs,
  );
  note("overhead_held_per_s", median(one.get(HELD.name)!.perSecond), "inserts/s", "job inserts/s, on, delivery held");
  note("overhead_on_per_s", median(one.get(ON.name)!.perSecond), "inserts/s", "job inserts/s, on, delivered live");
  note("overhead_off_per_s", median(one.get(OFF.name)!.perSecond), "inserts/s", "job inserts/s, outbox off");
  note("overhead_ratio", ratioOf(one, HELD.name, OFF.name), "", "ratio held/off: the outbox's cost (target ≥ 0.90)");
  note("overhead_ratio_live", ratioOf(one, ON.name, OFF.name), "", "ratio live/off: delivering on the same cores");
  note(
    "overhead_ratio_bare",
    ratioOf(one, BARE.name, OFF.name),
    "",
    "ratio bare one-row trigger/off (the targets' 0.85 reference)",
  );
  note("overhead_wal_on", median(one.get(HELD.name)!.wal), "bytes/tx", "WAL per transaction, on");
  note("overhead_wal_off", median(one.get(OFF.name)!.wal), "bytes/tx", "WAL per transaction, off");

  // One organization per client: the per-organization job_no counter no longer serializes them.
  await ensureExtraTenants(SIZES.overheadClients - 1);
  const manyOrgs = [tenant, ...extraTenants.slice(0, SIZES.overheadClients - 1)];
  const many = await compare("one organization per client", manyOrgs, [HELD, ON, OFF], SIZES.overheadPairs);
  note("overhead_ratio_orgs", ratioOf(many, HELD.name, OFF.name), "", "ratio held/off (one org per client)");
  note("overhead_ratio_orgs_live", ratioOf(many, ON.name, OFF.name), "", "ratio live/off (one org per client)");

  if (PROFILE) {
    // The trigger reduced to its bare outbox row (what the rest costs each writer), delivery held as in the target figure.
    await compare("profile (one organization)", singleOrg, [OFF, HELD, UNLOCKED], SIZES.overheadPairs);
  }

  await overheadPerTable(singleOrg, one);
}

/**
 * The write-path target holds for every table that publishes events, so each is measured as the jobs
 * are above (held against off, alternating rounds, the same clients in one organization; the jobs'
 * figure is the one above), then 1,000-row imports (one statement from one session as a member, rows/s).
 * "Off" is every publish trigger of that table (setPublishing), so a table with none yet measures the
 * same thing twice: its label names the triggers switched.
 */
async function overheadPerTable(singleOrg: Org[], jobs: Figures) {
  const triggersOf = async (table: PublishingTable) =>
    (await publishTriggers(table)).map((trigger) => trigger.name).join(", ") || "none";
  note("overhead_ratio_jobs", ratioOf(jobs, HELD.name, OFF.name), "", "job inserts: ratio held/off (the figure above)");

  await ensureInvoiceClients(singleOrg);
  const tables: [PublishingTable, string, Workload][] = [
    ["invoices", "invoice", WORKLOADS.invoiceInserts],
    ["clients", "client", WORKLOADS.clientInserts],
  ];
  for (const [table, noun, workload] of tables) {
    const off = offFor(table);
    const figures = await compare(
      `${noun} inserts, one organization (publish triggers: ${await triggersOf(table)})`,
      singleOrg,
      [HELD, off],
      SIZES.overheadPairs,
      workload,
      { seconds: SIZES.tableSeconds },
    );
    note(
      `overhead_${table}_held_per_s`,
      median(figures.get(HELD.name)!.perSecond),
      "inserts/s",
      `${noun} inserts/s, on, delivery held`,
    );
    note(
      `overhead_${table}_off_per_s`,
      median(figures.get(off.name)!.perSecond),
      "inserts/s",
      `${noun} inserts/s, outbox off`,
    );
    note(
      `overhead_ratio_${table}`,
      ratioOf(figures, HELD.name, off.name),
      "",
      `${noun} inserts: ratio held/off (target ≥ 0.90)`,
    );
  }

  // No deadline: a round ends after its statements, each 1,000 events to deliver once delivery is released.
  const imports: [PublishingTable, string, Workload][] = [
    ["jobs", "job", WORKLOADS.jobImport],
    ["clients", "client", WORKLOADS.clientImport],
  ];
  for (const [table, noun, workload] of imports) {
    const off = offFor(table);
    const figures = await compare(
      `${noun} imports, ${IMPORT_ROWS} rows per statement, one session (publish triggers: ${await triggersOf(table)})`,
      [singleOrg[0]],
      [HELD, off],
      SIZES.overheadPairs,
      workload,
      { seconds: Infinity, transactions: SIZES.importStatements },
    );
    note(
      `import_${table}_held_per_s`,
      median(figures.get(HELD.name)!.perSecond),
      "rows/s",
      `${noun} import rows/s, on, delivery held`,
    );
    note(
      `import_${table}_off_per_s`,
      median(figures.get(off.name)!.perSecond),
      "rows/s",
      `${noun} import rows/s, outbox off`,
    );
    note(`import_ratio_${table}`, ratioOf(figures, HELD.name, off.name), "", `${noun} imports: ratio held/off`);
  }
}

/**
 * What each piece of the outbox costs one transaction, free of the scheduling noise of concurrent
 * clients: one session commits one-job inserts as a member in a loop (a procedure, so no client
 * round trips; synchronous_commit off, so no fsync wait), delivery held, and reports µs per
 * transaction for each variant, the median of three loops.
 */
async function transactionCost() {
  const count = SIZES.transactions;
  console.log(`\n1b. Cost per one-job transaction: one session, ${count} transactions per loop, delivery held`);
  const session = await admin.reserve();
  try {
    await session`set synchronous_commit = off`;
    await session.unsafe(`
      create or replace procedure pg_temp.insert_jobs(p_org uuid, p_claims text, p_count integer,
                                                      inout p_micros_per_transaction float8)
      language plpgsql as $$
      declare
        v_started timestamptz := clock_timestamp();
      begin
        for i in 1 .. p_count loop
          perform set_config('role', 'authenticated', true), set_config('request.jwt.claims', p_claims, true);
          insert into public.jobs (org_id, title) values (p_org, 'transaction cost');
          commit;
        end loop;
        p_micros_per_transaction := extract(epoch from clock_timestamp() - v_started) * 1e6 / p_count;
      end $$`);
    // Literals, not parameters: a CALL that commits needs the simple query protocol.
    const loop = async (transactions: number) => {
      const [{ p_micros_per_transaction: micros }] = await session.unsafe(
        `call pg_temp.insert_jobs('${tenant.orgId}', '${claimsOf(tenant.userId)}', ${transactions}, null)`,
      );
      return Number(micros);
    };
    // Delivery is held throughout (HELD): the variants switch triggers only.
    const variants: [string, string, () => Promise<void>, () => Promise<void>][] = [
      ["transaction_us_off", "outbox off", OFF.apply, OFF.undo],
      ["transaction_us_held", "outbox on", nothing, nothing],
      [
        "transaction_us_unlocked",
        "bare outbox row (no resource, no sequence)",
        async () => {
          await setPublishing("jobs", false);
          await admin.unsafe("alter table public.jobs enable trigger _802_bench_unlocked");
        },
        async () => {
          await admin.unsafe("alter table public.jobs disable trigger _802_bench_unlocked");
          await setPublishing("jobs", true);
        },
      ],
      [
        "transaction_us_bare",
        "a bare one-row trigger instead",
        async () => {
          await setPublishing("jobs", false);
          await admin.unsafe("alter table public.jobs enable trigger _801_bench_reference");
        },
        async () => {
          await admin.unsafe("alter table public.jobs disable trigger _801_bench_reference");
          await setPublishing("jobs", true);
        },
      ],
    ];
    await admin.unsafe(BARE_REFERENCE_SQL);
    await HELD.apply();
    try {
      await loop(Math.ceil(count / 10)); // warm-up
      for (const [key, label, apply, undo] of variants) {
        await apply();
        try {
          const rounds = [await loop(count), await loop(count), await loop(count)];
          note(key, median(rounds), "µs/tx", `${label} (${rounds.map((v) => v.toFixed(0)).join(", ")})`);
        } finally {
          await undo();
        }
      }
    } finally {
      await HELD.undo();
    }
  } finally {
    await session`drop procedure if exists pg_temp.insert_jobs`;
    session.release();
  }
  await settle();
}

// ---------------------------------------------------------------------------------------------
// 2. Latency: commit acknowledged → first byte at the receiver, through the product path
// ---------------------------------------------------------------------------------------------

/** Organizations the latency run writes to in turn, as many tenants' traffic would arrive. */
const LATENCY_ORGANIZATIONS = 4;

async function latencyAt(rate: number, key = String(rate), label = "") {
  const count = Math.max(10, Math.round(rate * SIZES.latencySeconds));
  await ensureExtraTenants(LATENCY_ORGANIZATIONS - 1);
  const writers = [tenant, ...extraTenants.slice(0, LATENCY_ORGANIZATIONS - 1)];
  const pool = postgres(stack.SUPABASE_DB_URL, { max: 16, onnotice: () => {}, prepare: true });
  await receiver.reset(true);
  const committedAt = new Map<string, number>();
  const inserts: Promise<unknown>[] = [];
  const started = performance.now();
  // Issue whatever is due by now, then yield a millisecond: a steady offered rate even when timers are coarse.
  for (let i = 0; i < count;) {
    const due = Math.min(count, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    for (; i < due; i++) {
      const title = `latency ${runId} ${rate} ${i}`;
      const writer = writers[i % writers.length];
      inserts.push(
        asUser(
          pool,
          writer.userId,
          (tx) => tx`insert into public.jobs (org_id, title) values (${writer.orgId}, ${title})`,
        )
          .then(() => void committedAt.set(title, now())),
      );
    }
    if (i < count) await sleep(1);
  }
  await Promise.all(inserts);
  const offered = count / ((performance.now() - started) / 1000);
  // (All titles: the distinct count may include a noisy neighbour's slow requests.)
  const deadline = Date.now() + 60_000;
  let arrivals = new Map<string, number>();
  while (true) {
    arrivals = new Map((await receiver.stats()).arrivals);
    if ([...committedAt.keys()].every((title) => arrivals.has(title))) break;
    if (Date.now() > deadline) throw new Error("not every latency event arrived");
    await sleep(5);
  }
  const latencies = [...committedAt].map(([title, at]) => arrivals.get(title)! - at);
  await pool.end();
  if (key === String(rate)) await settle();
  const at = `at ${rate}/s${label ? ` ${label}` : ""}`;
  note(`latency_${key}_offered`, offered, "events/s", `offered rate (target ${rate}/s)`);
  note(`latency_${key}_p50`, percentile(latencies, 0.5), "ms", `commit → receiver p50 ${at}`);
  note(`latency_${key}_p95`, percentile(latencies, 0.95), "ms", `commit → receiver p95 ${at}`);
  note(`latency_${key}_p99`, percentile(latencies, 0.99), "ms", `commit → receiver p99 ${at}`);
}

async function latency() {
  console.log(
    `\n2. Latency: single-job transactions in ${LATENCY_ORGANIZATIONS} organizations in turn, ` +
      `${SIZES.latencySeconds} s at each rate`,
  );
  await settle();
  await latencyAt(200);
  await latencyAt(1000);
}

/**
 * A noisy neighbour: one more organization's endpoint answers after 14 s and has a backlog queued
 * (SIZES.neighbourBacklog deliveries), while the latency organizations write at 200/s; what their
 * receivers see (commit → first byte), and how many of the neighbour's requests were in flight.
 */
async function noisyNeighbour() {
  console.log(
    `\n2b. Noisy neighbour: an endpoint answering after 14 s with ${SIZES.neighbourBacklog} deliveries queued, ` +
      `others writing 200/s for ${SIZES.neighbourSeconds} s`,
  );
  await settle();
  const neighbour = await createTenant(admin, "bench-neighbour");
  try {
    await registerEndpoint(admin, neighbour, `http://127.0.0.1:${receiver.port}/slow/14000`);
    await asUser(admin, neighbour.userId, (tx) =>
      tx`insert into public.jobs (org_id, title)
         select ${neighbour.orgId}, 'neighbour ' || n from generate_series(1, ${SIZES.neighbourBacklog}) n`);
    // Its first requests are in flight: the others write from now on.
    while (
      (await admin<{ sending: number }[]>`
        select count(*)::int as sending from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id
         where e.org_id = ${neighbour.orgId} and d.status = 'sending'`)[0].sending === 0
    ) await sleep(20);
    const saved = SIZES.latencySeconds;
    SIZES.latencySeconds = SIZES.neighbourSeconds;
    try {
      await latencyAt(200, "neighbour", "while a neighbour's slow endpoint holds its backlog");
    } finally {
      SIZES.latencySeconds = saved;
    }
    const [{ waiting, limit }] = await admin<{ waiting: number; limit: number }[]>`
      select (select count(*)::int from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id
               where e.org_id = ${neighbour.orgId} and d.status <> 'succeeded') as waiting,
             (select endpoint_concurrency from webhooks.settings) as "limit"`;
    note(
      "neighbour_backlog_waiting",
      waiting,
      "",
      `the neighbour's deliveries still waiting then (its limit: ${limit})`,
    );
  } finally {
    // Its slow requests end within 14 s; the rest of its backlog is dropped with the organization.
    await neighbour.remove().catch((error) => console.error(String(error)));
  }
}

/**
 * Retry punctuality: deliveries whose first attempt fails (429 with Retry-After: 2, 503 with a
 * Retry-After date 3 s ahead, 500 and the backoff of about 5 s), sent by the product path alone; how
 * late each retry started after it fell due (the database's times: attempts.started_at against the
 * delivery's next_attempt_at).
 */
async function retryPunctuality() {
  const per = Math.max(1, Math.round(SIZES.retries / 3));
  console.log(`\n2c. Retry punctuality: ${3 * per} deliveries failing once (429, 503 with a date, 500)`);
  await settle();
  const failing = await createTenant(admin, "bench-retries");
  try {
    for (const kind of ["429", "503", "500"]) {
      await registerEndpoint(admin, failing, `http://127.0.0.1:${receiver.port}/fail-once/${kind}`);
    }
    // Spread over a few seconds, as retries of independent deliveries fall due.
    for (let i = 0; i < per; i++) {
      await asUser(
        admin,
        failing.userId,
        (tx) => tx`insert into public.jobs (org_id, title) values (${failing.orgId}, ${`retry ${i}`})`,
      );
      await sleep(SMOKE ? 10 : 50);
    }
    const lateness = await (async () => {
      const deadline = Date.now() + 120_000;
      while (true) {
        const rows = await admin<{ late_ms: number }[]>`
          select extract(epoch from a.started_at - d.next_attempt_at)::float8 * 1000 as late_ms
            from webhooks.deliveries d
            join webhooks.endpoints e on e.id = d.endpoint_id
            join webhooks.attempts a on a.delivery_id = d.id and a.retry_count = 1
           where e.org_id = ${failing.orgId} and d.status = 'succeeded'`;
        if (rows.length === 3 * per) return rows.map((row) => row.late_ms);
        if (Date.now() > deadline) throw new Error(`only ${rows.length} of ${3 * per} retries went out`);
        await sleep(200);
      }
    })();
    note("retry_late_p50", percentile(lateness, 0.5), "ms", "retry start after it fell due, p50");
    note("retry_late_p99", percentile(lateness, 0.99), "ms", "retry start after it fell due, p99");
    note("retry_late_min", Math.min(...lateness), "ms", "earliest (never negative: not before it is due)");
  } finally {
    await failing.remove().catch((error) => console.error(String(error)));
  }
  await schedulerIdleCpu();
}

/**
 * What the scheduler costs while nothing waits: the CPU time of the session running its loop
 * (the one holding its advisory lock) over a few seconds, as a share of one core. A run ends a
 * second into each minute and the next takes over in another session: a window that spans the
 * hand-over is taken again.
 */
async function schedulerIdleCpu() {
  await settle();
  const seconds = SMOKE ? 0.5 : 5;
  const schedulerPid = async () =>
    (await admin<{ pid: number }[]>`
      select pid from pg_locks
       where locktype = 'advisory' and objid = hashtext('webhooks.scheduler')::oid and granted`)[0]?.pid ?? null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const pid = await schedulerPid();
    const before = pid === null ? null : cpuMsOf(pid);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = pid === null ? null : cpuMsOf(pid);
    if (pid === null || before === null || after === null || (await schedulerPid()) !== pid) continue;
    note(
      "scheduler_idle_cpu_share",
      (after - before) / (seconds * 1000),
      "",
      "scheduler CPU while nothing is due (cores)",
    );
    return;
  }
  console.log("  (the scheduler changed sessions in every window: no idle CPU figure)");
}

// ---------------------------------------------------------------------------------------------
// 3. and 4. Throughput and backlog
// ---------------------------------------------------------------------------------------------

/**
 * Writes `count` job.created events for the bench endpoint through the product's own triggers
 * while delivery is held: they wait in the outbox (not yet fanned out) until a dispatcher runs.
 */
async function seedBacklog(count: number) {
  await holdDelivery();
  const chunk = 5_000;
  for (let done = 0; done < count; done += chunk) {
    const size = Math.min(chunk, count - done);
    await asUser(
      admin,
      tenant.userId,
      (tx) =>
        tx`insert into public.jobs (org_id, title) select ${tenant.orgId}, 'backlog ' || n from generate_series(1, ${size}) n`,
    );
  }
  await admin`vacuum (analyze) webhooks.outbox`;
}

/**
 * `count` events delivered the product's way: written while delivery is held, then released, so
 * the scheduler wakes webhook-dispatch and its drains hand over at the runtime's limits; with the
 * CPU time the function's workers and PostgreSQL used meanwhile.
 */
async function dispatcherThroughput() {
  const count = SIZES.throughput;
  await settle();
  await seedBacklog(count);
  await receiver.reset();
  const functionCpu = sampleProcesses(() => functionWorkerPids("webhook-dispatch"));
  const [{ pid: backendPid }] = await admin<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const databaseCpu = sampleProcesses(() => postgresPids(backendPid));
  const started = now();
  await releaseDelivery();
  const { at, stats } = await receiver.waitForDistinct(count, 300_000);
  const [functionUse, databaseUse] = [await functionCpu.stop(), await databaseCpu.stop()];
  await settle();
  return {
    eventsPerSecond: count / ((at - started) / 1000),
    duplicates: stats.requests - stats.distinct,
    functionCpuMs: functionUse.cpuMs,
    databaseCpuMs: databaseUse.cpuMs,
  };
}

function samplePayloads(count: number, template: string) {
  return Array.from({ length: count }, (_, i) => {
    const id = `evt_${runId}${String(i).padStart(24, "0")}`;
    return { id, payload: template.replace(/"id": ?"evt_[0-9a-f]+"/, `"id":"${id}"`) };
  });
}

/** The raw limit: the same signed POSTs from a process of their own (bench/raw_sender.ts), no database. */
async function rawLimit(template: string) {
  await receiver.reset();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}/deno.json`, `${ROOT}/bench/raw_sender.ts`],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({
    url: receiver.url,
    secret: endpoint.secret,
    count: SIZES.raw,
    concurrency: 128,
    template,
    runId,
  })));
  await writer.close();
  const { stdout, code } = await child.output();
  if (code !== 0) throw new Error("bench/raw_sender.ts failed");
  const { seconds, cpuMs } = JSON.parse(new TextDecoder().decode(stdout)) as { seconds: number; cpuMs: number };
  await receiver.waitForDistinct(SIZES.raw, 60_000);
  note("raw_limit", SIZES.raw / seconds, "events/s", "raw limit: signed POSTs from one process, no database");
  note("raw_cpu_us_per_post", cpuMs * 1000 / SIZES.raw, "µs", "raw sender CPU per POST (its whole process)");
}

interface PgBossVariant {
  key: string;
  label: string;
  constructorOptions: Partial<ConstructorParameters<typeof PgBoss>[0] & object>;
  queueOptions: Parameters<PgBoss["createQueue"]>[1];
  workOptions: Parameters<PgBoss["work"]>[1];
  /** Jobs a handler call gets: 1 = one delivery per call, as a pg-boss dispatcher is documented to work. */
  perCall: "one" | "batch";
}

/**
 * pg-boss 12.38.0 doing the dispatcher's work: each delivery one job, the handler signs it with the
 * same signer and POSTs it, pg-boss completes (or fails) the job. Two configurations:
 *
 * - one job per handler call, configured the way pg-boss's documentation describes for throughput
 *   (docs/api/workers.md, docs/api/constructor.md): `localConcurrency` workers (64, the dispatcher's
 *   own limit of requests in flight to one endpoint), polling at the documented minimum of 0.5 s, and
 *   `burstWhenReadyExceeds` so that workers fetch back to back while a backlog is ready instead of
 *   polling between jobs. Burst mode reads the ready count from pg-boss's stats pass, every 60 s by
 *   default; it runs every second here, or a 20,000-job backlog would be drained at 2 jobs per worker
 *   per second (128/s) before burst mode noticed it. Not LISTEN/NOTIFY: it is a latency feature, and
 *   with it on, workers waited out the 30 s notify polling interval instead of bursting through the
 *   backlog. The pool is pg-boss's default (10 connections).
 * - batched (the earlier tuned worker, kept for comparison): 4 loops fetching 50 jobs at a time back
 *   to back while batches come full, each batch sent at once and completed together. This is closer to
 *   the dispatcher's own design than to how pg-boss is documented to be used.
 */
const PG_BOSS_VARIANTS: PgBossVariant[] = [
  {
    key: "pgboss",
    label: "pg-boss 12.38.0, one job per handler call (64 workers, burst)",
    constructorOptions: {
      superviseIntervalSeconds: 1,
      monitorIntervalSeconds: 1,
      queueCacheIntervalSeconds: 1,
    },
    queueOptions: {},
    workOptions: { localConcurrency: 64, pollingIntervalSeconds: 0.5, burstWhenReadyExceeds: 1 },
    perCall: "one",
  },
  {
    key: "pgboss_batched",
    label: "pg-boss 12.38.0, batched (batches of 50, 4 loops, burst)",
    constructorOptions: {},
    queueOptions: {},
    workOptions: { batchSize: 50, localConcurrency: 4, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
    perCall: "batch",
  },
];

async function pgBossBaseline(template: string, variant: PgBossVariant) {
  const databaseUrl = new URL(stack.SUPABASE_DB_URL);
  databaseUrl.pathname = "/bench_pgboss";
  const [exists] = await admin`select 1 from pg_database where datname = 'bench_pgboss'`;
  if (!exists) await admin.unsafe("create database bench_pgboss");
  const boss = new PgBoss({ connectionString: databaseUrl.toString(), ...variant.constructorOptions });
  // Dropping the database below ends connections pg-boss may still be closing after stop().
  let stopped = false;
  boss.on("error", (error) => {
    if (!(stopped && (error as { code?: string }).code === "57P01")) console.error("pg-boss:", error);
  });
  await boss.start();
  const queue = `webhooks-${runId}-${variant.key}`;
  await boss.createQueue(queue, variant.queueOptions);
  const messages = samplePayloads(SIZES.throughput, template);
  for (let i = 0; i < messages.length; i += 1000) {
    await boss.insert(queue, messages.slice(i, i + 1000).map((m) => ({ data: { ...m, url: receiver.url } })));
  }
  const signer = new WebhookSigner();
  await receiver.reset();
  const started = now();
  const send = async (job: { data: { id: string; payload: string; url: string } }) => {
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const signature = signer.signatureHeader([endpoint.secret], job.data.id, timestampSeconds, job.data.payload);
    const response = await fetch(job.data.url, {
      method: "POST",
      headers: webhookHeaders({ messageId: job.data.id, timestampSeconds, signature, retryCount: 0 }),
      body: job.data.payload,
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`receiver answered ${response.status}`);
  };
  await boss.work<{ id: string; payload: string; url: string }>(
    queue,
    variant.workOptions,
    variant.perCall === "one"
      ? async ([job]) => await send(job)
      : async (jobs) => void await Promise.all(jobs.map(send)),
  );
  const { at } = await receiver.waitForDistinct(messages.length, 300_000);
  note(variant.key, messages.length / ((at - started) / 1000), "events/s", variant.label);
  await boss.stop({ graceful: true, timeout: 5_000 });
  stopped = true;
  await boss.deleteQueue(queue).catch(() => {});
  await admin.unsafe("drop database if exists bench_pgboss with (force)");
}

async function throughput() {
  console.log(`\n3. Throughput: ${SIZES.throughput} deliveries per figure`);
  const cpu = [];
  for (let round = 0; round < 3; round++) cpu.push(await dispatcherThroughput());
  const duplicates = cpu.reduce((sum, run) => sum + run.duplicates, 0);
  note("throughput", median(cpu.map((run) => run.eventsPerSecond)), "events/s", "dispatcher, median of 3 rounds");
  note("throughput_duplicates", duplicates, "", "duplicates at the receiver (webhook-id)");
  note(
    "function_cpu_us_per_delivery",
    median(cpu.map((run) => run.functionCpuMs * 1000 / SIZES.throughput)),
    "µs",
    "webhook-dispatch CPU per delivery (its workers, fan-out to record)",
  );
  note(
    "database_cpu_us_per_delivery",
    median(cpu.map((run) => run.databaseCpuMs * 1000 / SIZES.throughput)),
    "µs",
    "PostgreSQL CPU per delivery (every process, fan-out to record)",
  );
  const [{ payload: template }] = await admin<{ payload: string }[]>`
    select payload::text from webhooks.events where org_id = ${tenant.orgId} order by id desc limit 1`;
  for (const variant of PG_BOSS_VARIANTS) await pgBossBaseline(template, variant);
  await rawLimit(template);
  note("throughput_vs_raw", results.throughput / results.raw_limit, "", "dispatcher / raw limit (target ≥ 0.6)");
  note(
    "throughput_vs_pgboss",
    results.throughput / results.pgboss,
    "",
    "dispatcher / pg-boss, one job per call (target ≥ 10)",
  );
  note(
    "throughput_vs_pgboss_batched",
    results.throughput / results.pgboss_batched,
    "",
    "dispatcher / pg-boss batched (target ≥ 2)",
  );
  note(
    "function_cpu_vs_raw",
    results.function_cpu_us_per_delivery / results.raw_cpu_us_per_post,
    "",
    "dispatcher CPU per delivery / raw sender CPU per POST (target ≤ 1.5)",
  );
}

/** Lines the gateway's log has gained since `offset` that match `pattern`. */
function gatewayLogLines(offset: number, pattern: RegExp): number {
  try {
    const text = Deno.readTextFileSync(`${ROOT}/.local/logs/gateway.log`).slice(offset);
    return text.split("\n").filter((line) => pattern.test(line)).length;
  } catch {
    return 0;
  }
}
function gatewayLogSize(): number {
  try {
    return Deno.statSync(`${ROOT}/.local/logs/gateway.log`).size;
  } catch {
    return 0;
  }
}

async function backlog() {
  const count = SIZES.backlog;
  const rounds = Number(options.backlogs ?? 1);
  console.log(
    `\n4./5. Backlog: ${count} events waiting, drained by the product's path (the scheduler's wake-up)` +
      `${rounds > 1 ? `, ${rounds} times in a row` : ""}`,
  );
  const figures = [];
  for (let round = 0; round < rounds; round++) figures.push(await backlogRound(count));
  if (rounds > 1) {
    for (const [i, f] of figures.entries()) {
      console.log(
        `    round ${i + 1}: ${f.seconds.toFixed(1)} s, peak RSS ${f.peakRss.toFixed(0)} MB, ` +
          `hand-overs ${f.handOvers}, duplicates ${f.duplicates}, failed ${f.unsuccessful}`,
      );
    }
  }
  const seconds = median(figures.map((f) => f.seconds));
  note("backlog_seconds", seconds, "s", `time to drain ${count} (target ≤ 15 s for 100,000)`);
  note("backlog_rate", count / seconds, "events/s", "backlog drain rate");
  const duplicates = figures.reduce((sum, f) => sum + f.duplicates, 0);
  note("backlog_duplicates", duplicates, "", "duplicates at the receiver (webhook-id; must be 0)");
  note(
    "backlog_failed_attempts",
    figures.reduce((sum, f) => sum + f.unsuccessful, 0),
    "",
    `attempts that did not succeed (of ${figures.reduce((sum, f) => sum + f.attempts, 0)})`,
  );
  note(
    "backlog_handovers_per_100k",
    median(figures.map((f) => f.handOvers * 100_000 / count)),
    "",
    "drains handing over to a fresh invocation, per 100,000",
  );
  note(
    "backlog_workers",
    median(figures.map((f) => f.workers)),
    "",
    "webhook-dispatch workers that took part (the local edge runtime retires them at its limits)",
  );
  note(
    "dispatcher_peak_rss_mb",
    Math.max(...figures.map((f) => f.peakRss)),
    "MB",
    "largest webhook-dispatch worker RSS sampled during the backlog (target ≤ 100)",
  );
}

async function backlogRound(count: number) {
  await settle();
  await seedBacklog(count);
  await receiver.reset();
  const [{ before }] = await admin<{ before: number }[]>`
    select count(*)::int as before from webhooks.attempts where org_id = ${tenant.orgId}`;
  const logOffset = gatewayLogSize();
  const workers = sampleProcesses(() => functionWorkerPids("webhook-dispatch"), 100);
  const started = now();
  await releaseDelivery();
  const { at, stats } = await receiver.waitForDistinct(count, 600_000);
  const use = await workers.stop();
  await settle();
  const [{ attempts, unsuccessful }] = await admin<{ attempts: number; unsuccessful: number }[]>`
    select count(*)::int - ${before} as attempts, count(*) filter (where not succeeded)::int as unsuccessful
      from webhooks.attempts where org_id = ${tenant.orgId}`;
  return {
    seconds: (at - started) / 1000,
    duplicates: stats.requests - stats.distinct,
    attempts,
    unsuccessful,
    peakRss: use.peakRssMb,
    workers: use.processes,
    handOvers: gatewayLogLines(logOffset, /handing over/),
  };
}

// ---------------------------------------------------------------------------------------------
// 6. Geocoding cache (bench/geocode_cache.ts, in its own process)
// ---------------------------------------------------------------------------------------------

async function geocode() {
  console.log(`\n6. Geocoding cache: ${SIZES.geocodeRounds} hits and misses`);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}/deno.json`, `${ROOT}/bench/geocode_cache.ts`, String(SIZES.geocodeRounds)],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const output = new TextDecoder().decode(stdout);
  if (code !== 0) throw new Error(`bench/geocode_cache.ts failed: ${new TextDecoder().decode(stderr)}${output}`);
  for (const [kind, key] of [["miss", "geocode_miss"], ["hit", "geocode_hit"]]) {
    const match = output.match(new RegExp(`cache ${kind}.*?p50 ([\\d.]+) ms, p95 ([\\d.]+) ms`));
    if (!match) throw new Error(`unexpected output of bench/geocode_cache.ts: ${output}`);
    note(`${key}_p50`, Number(match[1]), "ms", `geocode cache ${kind} p50`);
    note(`${key}_p95`, Number(match[2]), "ms", `geocode cache ${kind} p95`);
  }
}

/**
 * Many endpoints: manyOrganizations organizations with one endpoint each and manyPerEndpoint
 * job.created events for each, written while delivery is held and then released, as the
 * one-endpoint throughput is; median of three rounds, with PostgreSQL's CPU per delivery.
 */
async function manyEndpoints() {
  const organizations = SIZES.manyOrganizations;
  const count = organizations * SIZES.manyPerEndpoint;
  console.log(
    `\n3b. Many endpoints: ${organizations} organizations × 1 endpoint × ${SIZES.manyPerEndpoint} deliveries`,
  );
  const many: Awaited<ReturnType<typeof createTenant>>[] = [];
  try {
    for (let i = 0; i < organizations; i++) {
      const org = await createTenant(admin, "bench-many");
      many.push(org);
      await registerEndpoint(admin, org, `${receiver.url}/many/${i}`);
    }
    const orgIds = many.map((org) => org.orgId);
    const rounds = [];
    for (let round = 0; round < 3; round++) {
      await settle();
      await holdDelivery();
      await admin`insert into public.jobs (org_id, title)
                  select o, 'many ' || n from unnest(${orgIds}::uuid[]) o, generate_series(1, ${SIZES.manyPerEndpoint}) n`;
      await admin`vacuum (analyze) webhooks.outbox`;
      await receiver.reset();
      const [{ pid: backendPid }] = await admin<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const databaseCpu = sampleProcesses(() => postgresPids(backendPid));
      const started = now();
      await releaseDelivery();
      const { at, stats } = await receiver.waitForDistinct(count, 600_000);
      const databaseUse = await databaseCpu.stop();
      rounds.push({
        eventsPerSecond: count / ((at - started) / 1000),
        duplicates: stats.requests - stats.distinct,
        databaseUsPerDelivery: databaseUse.cpuMs * 1000 / count,
      });
      // Wait for the last outcomes to be recorded before the next round or the clean-up.
      const deadline = Date.now() + 300_000;
      while (Date.now() < deadline) {
        const [{ open }] = await admin<{ open: number }[]>`
          select count(*)::int as open from webhooks.deliveries
           where status in ('pending', 'sending') and org_id = any (${orgIds}::uuid[])`;
        if (open === 0) break;
        await sleep(50);
      }
    }
    note(
      "many_endpoints",
      median(rounds.map((r) => r.eventsPerSecond)),
      "events/s",
      "many endpoints, median of 3 rounds",
    );
    note(
      "many_endpoints_duplicates",
      rounds.reduce((sum, r) => sum + r.duplicates, 0),
      "",
      "duplicates at the receiver (webhook-id)",
    );
    note(
      "many_endpoints_database_cpu_us_per_delivery",
      median(rounds.map((r) => r.databaseUsPerDelivery)),
      "µs",
      "PostgreSQL CPU per delivery, many endpoints",
    );
    if ("throughput" in results) {
      note(
        "many_vs_one_endpoint",
        results.many_endpoints / results.throughput,
        "",
        "many / one endpoint (target ≥ 0.8)",
      );
    }
  } finally {
    await releaseDelivery();
    for (const org of many) await org.remove();
  }
}

/**
 * What the stack costs while nothing is due: PostgreSQL (every process) and the function side (the
 * gateway, function workers, pg_net's worker) together, as a share of one core, once the scheduler
 * has been idle long enough to look at its slowest pace.
 */
async function idleStack() {
  await settle();
  // Not while autovacuum cleans up after the sections before (a deleted organization's rows).
  for (let waited = 0; waited < (SMOKE ? 0 : 300_000); waited += 1000) {
    const [{ vacuuming }] = await admin<{ vacuuming: number }[]>`
      select count(*)::int as vacuuming from pg_stat_activity where backend_type = 'autovacuum worker'`;
    if (vacuuming === 0) break;
    await sleep(1000);
  }
  await sleep(SMOKE ? 200 : 12_000);
  const [{ pid: backendPid }] = await admin<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const seconds = SMOKE ? 0.5 : 30;
  const database = sampleProcesses(() => postgresPids(backendPid), 1000);
  const functions = sampleProcesses(functionHostPids, 1000);
  await sleep(seconds * 1000);
  const [databaseUse, functionsUse] = [await database.stop(), await functions.stop()];
  const share = (cpuMs: number) => cpuMs / (seconds * 1000);
  note("idle_database_cpu_share", share(databaseUse.cpuMs), "", "idle: PostgreSQL, nothing due (cores)");
  note("idle_functions_cpu_share", share(functionsUse.cpuMs), "", "idle: gateway, function workers, pg_net (cores)");
  note(
    "idle_stack_cpu_share",
    share(databaseUse.cpuMs + functionsUse.cpuMs),
    "",
    "idle stack: database and functions, nothing due (cores)",
  );
}

// ---------------------------------------------------------------------------------------------

try {
  if (wanted("overhead")) await overhead();
  if (wanted("transaction")) await transactionCost();
  if (wanted("latency")) await latency();
  if (wanted("neighbour")) await noisyNeighbour();
  if (wanted("retries")) await retryPunctuality();
  if (wanted("throughput")) await throughput();
  if (wanted("many")) await manyEndpoints();
  if (wanted("backlog")) await backlog();
  if (wanted("geocode")) await geocode();
  if (wanted("idle")) await idleStack();

  // The performance targets, each as measured / target (≥ 1.00 meets it).
  const targets: [string, string, (value: number) => number][] = [
    ["overhead_ratio", "job inserts, outbox on (held) / off ≥ 0.90", (v) => v / 0.9],
    ["overhead_ratio_invoices", "invoice inserts, on (held) / off ≥ 0.90", (v) => v / 0.9],
    ["overhead_ratio_clients", "client inserts, on (held) / off ≥ 0.90", (v) => v / 0.9],
    ["latency_1000_p50", "commit → receiver p50 at 1,000/s ≤ 5 ms", (v) => 5 / v],
    ["latency_1000_p99", "commit → receiver p99 at 1,000/s ≤ 20 ms", (v) => 20 / v],
    ["latency_neighbour_p99", "p99 beside a 14 s endpoint's backlog ≤ 50 ms", (v) => 50 / v],
    ["retry_late_p99", "a due retry starts ≤ 1 s late (p99)", (v) => 1000 / Math.max(v, 1)],
    ["throughput_vs_raw", "sustained ≥ 0.6 × the raw limit", (v) => v / 0.6],
    ["throughput_vs_pgboss", "≥ 10 × pg-boss, one job per call", (v) => v / 10],
    ["throughput_vs_pgboss_batched", "≥ 2 × pg-boss batched", (v) => v / 2],
    ["function_cpu_vs_raw", "function CPU per delivery ≤ 1.5 × raw", (v) => 1.5 / v],
    ["database_cpu_us_per_delivery", "database CPU per delivery ≤ 40 µs", (v) => 40 / v],
    ["many_endpoints_database_cpu_us_per_delivery", "database CPU per delivery, many endpoints ≤ 40 µs", (v) => 40 / v],
    ["many_vs_one_endpoint", "many endpoints ≥ 0.8 × one endpoint", (v) => v / 0.8],
    ["backlog_seconds", "100k backlog drained ≤ 15 s", (v) => 15 / (v * 100_000 / SIZES.backlog)],
    ["dispatcher_peak_rss_mb", "dispatcher memory ≤ 100 MB", (v) => 100 / v],
    ["idle_stack_cpu_share", "idle stack ≤ 0.01 core", (v) => 0.01 / Math.max(v, 0.0001)],
  ];
  console.log("\nAgainst the targets (≥ 1.00 meets the target):");
  for (const [key, label, score] of targets) {
    if (key in results) console.log(`  ${label.padEnd(48)} ${score(results[key]).toFixed(2)}`);
  }
} finally {
  await releaseDelivery();
  await admin.unsafe("drop schema if exists bench_reference cascade");
  for (const table of PUBLISHING_TABLES) await setPublishing(table, true);
  await settle().catch((error) => console.error(String(error)));
  for (const extra of extraTenants) await extra.remove();
  await tenant.remove();
  await receiver.stop();
  await admin.end();
}
console.log(`BENCH_JSON ${JSON.stringify({ smoke: SMOKE, results })}`);
