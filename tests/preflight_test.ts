// The operator's preflight (ops.preflight(), `npm run preflight`): on the configured local stack
// every check passes once its pg_net probes have answered; on a project missing its settings,
// each gap fails with the statement that fixes it.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { connect, integrationTest, ROOT } from "./_support/stack.ts";

const sql = connect(1);
globalThis.addEventListener("unload", () => void sql.end());

interface Check {
  area: string;
  check_name: string;
  status: string;
  detail: string;
  fix: string | null;
}

integrationTest("npm run preflight passes on the local stack once its probes have reached the functions", async () => {
  const { code, stdout } = await new Deno.Command("node", { args: [`${ROOT}/scripts/preflight.mjs`] }).output();
  const output = new TextDecoder().decode(stdout);
  assertEquals(code, 0, output);
  for (const check of ["webhook-dispatch", "mapbox-geocode", "signing key in the JWKS", "requests leave"]) {
    assert(new RegExp(`✓ [a-z_]+ / ${check}:`).test(output), `${check} passed:\n${output}`);
  }
  assert(output.includes("The project is ready."), output);
});

integrationTest("a project without its Vault settings fails each check with the statement that fixes it", async () => {
  const checks = await sql.begin(async (tx) => {
    await tx`delete from vault.secrets where name in
               ('project_url', 'mapbox_access_token', 'service_account_signing_key', 'jwt_secret', 'auto_geocoding_secret')`;
    const rows = await tx<Check[]>`select area, check_name, status, detail, fix from ops.preflight()`;
    await tx`select cron.unschedule('geocoding-purge-expired-cache')`;
    const cron = await tx<
      Check[]
    >`select area, check_name, status, detail, fix from ops.preflight() where area = 'cron'`;
    throw Object.assign(new Error("roll back"), { rows: [...rows, ...cron] });
  }).catch((error) => error.rows as Check[]);
  const byName = new Map(checks.map((check) => [check.check_name, check]));
  for (const name of ["project_url", "mapbox_access_token", "auto_geocoding_secret", "service_account_signing_key"]) {
    const check = byName.get(name)!;
    assertEquals(check.status, "fail", name);
    assert(check.fix !== null && check.fix.length > 0, `${name} says what to do`);
  }
  assert(
    byName.get("project_url")!.fix!.includes("vault.create_secret('https://<project-ref>.supabase.co', 'project_url')"),
  );
  assert(byName.get("auto_geocoding_secret")!.fix!.startsWith("select vault.create_secret("));
  // Without a project URL nothing can be probed, so no probe is reported.
  assertEquals(checks.filter((check) => check.area === "functions"), []);
  const cron = checks.filter((check) => check.area === "cron" && check.check_name === "jobs").at(-1)!;
  assertEquals([cron.status, cron.detail], ["fail", "missing or inactive: geocoding-purge-expired-cache"]);
  // Checks that pass carry no fix.
  assertEquals(byName.get("pg_cron")!.fix, null);
});

integrationTest(
  "service account signing on the legacy secret alone is a warning, with no key at all a failure",
  async () => {
    const checks = await sql.begin(async (tx) => {
      await tx`delete from vault.secrets where name = 'service_account_signing_key'`;
      const legacyOnly = await tx<
        Check[]
      >`select * from ops.preflight() where check_name = 'service_account_signing_key'`;
      throw Object.assign(new Error("roll back"), { rows: legacyOnly });
    }).catch((error) => error.rows as Check[]);
    const [check] = checks;
    const [{ legacy }] = await sql`select exists (select from vault.secrets where name = 'jwt_secret') as legacy`;
    // With the legacy secret still there it works, but will stop; without it nothing signs tokens.
    assertEquals(check.status, legacy ? "warn" : "fail");
  },
);
