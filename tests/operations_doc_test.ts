// docs/operations.md names every table of the project's schemas, and the platform tables its use
// fills, with what bounds it: a table added without saying what keeps it from growing fails here.
import assert from "node:assert/strict";
import { connect, integrationTest, ROOT } from "./_support/stack.ts";

const PLATFORM_TABLES = ["cron.job_run_details", "net.http_request_queue", "net._http_response", "vault.secrets"];

integrationTest("docs/operations.md says what bounds every table", async () => {
  const sql = connect(1);
  try {
    const rows = await sql<{ name: string }[]>`
      select n.nspname || '.' || c.relname as name
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p')
         and n.nspname in ('public', 'webhooks', 'geocoding', 'audit', 'authz', 'app_private')
       order by 1`;
    const page = await Deno.readTextFile(`${ROOT}/docs/operations.md`);
    const table = page.slice(page.indexOf("## What grows"), page.indexOf("## Troubleshooting"));
    const missing = [...rows.map((row) => row.name), ...PLATFORM_TABLES].filter((name) =>
      !table.includes(`\`${name}\``)
    );
    assert.deepEqual(missing, []);
  } finally {
    await sql.end();
  }
});
