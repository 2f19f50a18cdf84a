// pg_cron really runs jobs on the local stack (preloaded, background workers, `postgres` may
// schedule), so the every-minute jobs the migrations schedule run here as on hosted. pg_cron 1.4
// schedules by the minute: this waits for the next minute's run.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { connect, eventually, integrationTest } from "./_support/stack.ts";

const sql = connect(1);
globalThis.addEventListener("unload", () => void sql.end());

integrationTest("a job scheduled by postgres with a 5-field schedule runs and succeeds", async () => {
  const jobName = `cron-probe-${crypto.randomUUID()}`;
  const [{ jobid }] = await sql`select cron.schedule(${jobName}, '* * * * *', 'select 1') as jobid`;
  try {
    const run = await eventually(async () => {
      const [row] = await sql`select status, username from cron.job_run_details where jobid = ${jobid}
                               and status in ('succeeded', 'failed')`;
      return row;
    }, { timeoutMs: 75_000, intervalMs: 500, what: "the job's first run" });
    assertEquals({ ...run }, { status: "succeeded", username: "postgres" });
  } finally {
    await sql`select cron.unschedule(${jobName})`;
  }
});
