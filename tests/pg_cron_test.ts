// pg_cron really runs jobs on the local stack (preloaded, background workers, `postgres` may
// schedule), so the jobs the migrations schedule run here as on hosted: plain statements, and the
// daily purge's `do` block that commits after every chunk. pg_cron 1.4 schedules by the minute:
// both probes are scheduled at once, and wait for the next minute's run together.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { connect, eventually, integrationTest } from "./_support/stack.ts";

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

/** Schedules `command` every minute as a probe; resolves with its first finished run, unscheduled. */
async function firstRunOf(command: string) {
  const jobName = `cron-probe-${crypto.randomUUID()}`;
  const [{ jobid }] = await sql`select cron.schedule(${jobName}, '* * * * *', ${command}) as jobid`;
  try {
    return await eventually(async () => {
      const [row] = await sql`select status, username, return_message from cron.job_run_details
                               where jobid = ${jobid} and status in ('succeeded', 'failed')`;
      return row;
    }, { timeoutMs: 75_000, intervalMs: 500, what: `the first run of ${command}` });
  } finally {
    await sql`select cron.unschedule(${jobName})`;
  }
}

// The same command the daily job runs (webhooks-purge-expired).
const [{ command: purgeCommand }] = await sql`select command from cron.job where jobname = 'webhooks-purge-expired'`;
const runs = { select: firstRunOf("select 1"), purge: firstRunOf(purgeCommand) };
// Settled here so that a failure is reported by its test, not as an unhandled rejection.
runs.select.catch(() => {});
runs.purge.catch(() => {});

integrationTest("a job scheduled by postgres with a 5-field schedule runs and succeeds", async () => {
  const run = await runs.select;
  assertEquals({ status: run.status, username: run.username }, { status: "succeeded", username: "postgres" });
});

integrationTest("pg_cron runs the retention purge, which commits after every chunk, and it succeeds", async () => {
  assertEquals(purgeCommand.match(/\bcommit\b/g)?.length, 1);
  const run = await runs.purge;
  assertEquals({ status: run.status, message: run.return_message }, { status: "succeeded", message: "DO" });
});
