// A brand-new hosted project, reproduced: a cluster with only the platform bootstrap (roles, auth,
// Vault, supautils' privileged extensions; neither pg_cron nor pg_net), with hosted's former
// "grant everything new to the API roles" default privileges switched on, and the migrations
// pushed unchanged with the Supabase CLI. The push must enable both extensions itself, and every
// pgTAP test (the privilege tests included) must pass on the result.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import postgres from "npm:postgres@3.4.9";
import { freePort, integrationTest, ROOT } from "./_support/stack.ts";
import { pgProveArgs } from "../scripts/lib/platform.mjs";

async function stackCommand(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("node", { args: [`${ROOT}/scripts/stack.mjs`, ...args] })
    .output();
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assertEquals(code, 0, output);
  return output;
}

integrationTest("a brand-new project takes the migrations unchanged, and every pgTAP test passes on it", async () => {
  const port = freePort();
  try {
    const output = await stackCommand([
      "fresh-project",
      "start",
      "--port",
      String(port),
      "--hosted-default-privileges",
    ]);
    const project = JSON.parse(output.match(/^FRESH_PROJECT (.*)$/m)![1]) as {
      url: string;
      extensionsBeforePush: string[];
      output: string;
    };
    assert(
      !project.extensionsBeforePush.includes("pg_cron"),
      `pg_cron existed before: ${project.extensionsBeforePush}`,
    );
    assert(!project.extensionsBeforePush.includes("pg_net"), `pg_net existed before: ${project.extensionsBeforePush}`);
    assert(/Applying migration 20261128000050_platform_extensions\.sql/.test(project.output), project.output);

    const sql = postgres(project.url, { max: 1, onnotice: () => {} });
    try {
      const [{ cron }] =
        await sql`select extnamespace::regnamespace::text as cron from pg_extension where extname = 'pg_cron'`;
      assertEquals(cron, "pg_catalog");
      const jobs = await sql`select jobname from cron.job order by jobname`;
      assertEquals(jobs.map((job) => job.jobname), [
        "geocoding-purge-expired-cache",
        "geocoding-request-due",
        "webhooks-dispatch-scheduler",
        "webhooks-every-minute",
        "webhooks-purge-expired",
      ]);
      // The default privileges were really on: a table postgres creates now is granted to anon.
      await sql.begin(async (tx) => {
        await tx`create table public.default_privileges_probe (id int)`;
        const [{ granted }] =
          await tx`select has_table_privilege('anon', 'public.default_privileges_probe', 'select') as granted`;
        assert(granted, "hosted's former default privileges are reproduced");
        await tx`rollback`.catch(() => {});
        throw new Error("roll back");
      }).catch((error) => assertEquals(error.message, "roll back"));
    } finally {
      await sql.end();
    }

    const prove = await new Deno.Command("pg_prove", {
      args: pgProveArgs(port),
      env: { PGPASSWORD: "postgres" },
      cwd: ROOT,
    }).output();
    const report = new TextDecoder().decode(prove.stdout) + new TextDecoder().decode(prove.stderr);
    assertEquals(prove.code, 0, report);
  } finally {
    await stackCommand(["fresh-project", "stop", "--port", String(port)]);
  }
});
