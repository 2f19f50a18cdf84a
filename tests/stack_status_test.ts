// `npm start` / `npm run status` print the stack's URLs and keys like `supabase status`; what they
// print must be true (the keys verify, the DB URL logs in as postgres, the URLs serve), must be
// the running stack's whatever ports it was started on, and README's example must be what they print.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createRemoteJWKSet, jwtVerify } from "npm:jose@6.2.17";
import postgres from "npm:postgres@3.4.9";
import { integrationTest, legacyKeysTest, mintJwt, ROOT, stack } from "./_support/stack.ts";

const STATUS_LINE = /^\s*([A-Za-z_ ]+): (\S+)$/;

async function printedStatus(env: Record<string, string> = {}, clearEnv = false): Promise<Record<string, string>> {
  const { code, stdout } = await new Deno.Command("node", {
    args: [`${ROOT}/scripts/stack.mjs`, "status"],
    clearEnv,
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "", ...env },
  }).output();
  assertEquals(code, 0);
  const entries = new TextDecoder().decode(stdout).split("\n")
    .map((line) => line.match(STATUS_LINE))
    .filter((match) => match !== null)
    .map((match) => [match![1].trim(), match![2]]);
  return Object.fromEntries(entries);
}

legacyKeysTest("the status print's legacy keys are signed with its JWT secret and carry their roles", async () => {
  const status = await printedStatus();
  const secret = new TextEncoder().encode(status["JWT secret"]);
  const anon = await jwtVerify(status["anon key"], secret);
  const service = await jwtVerify(status["service_role key"], secret);
  assertEquals([anon.payload.role, service.payload.role], ["anon", "service_role"]);
});

integrationTest("the status print's JWKS URL publishes the keys the stack's sessions are signed with", async () => {
  const status = await printedStatus();
  const session = await mintJwt({ sub: crypto.randomUUID() }, { algorithm: "ES256" });
  const { payload } = await jwtVerify(session, createRemoteJWKSet(new URL(status["JWKS URL"])));
  assertEquals(payload.role, "authenticated");
});

integrationTest("the status print's DB URL logs in as postgres", async () => {
  const status = await printedStatus();
  const sql = postgres(status["DB URL"], { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select current_user as role, current_setting('server_version_num')::int >= 150000 as pg15`;
    assertEquals({ ...row }, { role: "postgres", pg15: true });
  } finally {
    await sql.end();
  }
});

integrationTest("the status print's Functions URL serves the project's functions to its secret key", async () => {
  const status = await printedStatus();
  const response = await fetch(`${status["Functions URL"]}/webhook-admin/event-types`, {
    headers: { apikey: status["Secret key"] },
  });
  const body = await response.json();
  assertEquals(response.status, 200, JSON.stringify(body));
  assert(Array.isArray(body.data) && body.data.length > 0, "the function itself answered");
});

integrationTest("without the port variables, the status print names the running stack's ports", async () => {
  const status = await printedStatus({}, true);
  assertEquals([status["API URL"], status["DB URL"]], [stack.SUPABASE_URL, stack.SUPABASE_DB_URL]);
});

integrationTest("README's status example is what `npm start` prints on the default ports", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const block = readme.match(/```\nCJH Integrations local stack\n([\s\S]*?)```/);
  assert(block, "README shows the status block");
  const documented = block[1].split("\n").map((line) => line.match(STATUS_LINE)).filter((m) => m !== null)
    .map((m) => [m![1].trim(), m![2]]);
  const defaults = {
    CJH_API_PORT: "54321",
    CJH_DB_PORT: "54322",
    CJH_MAPBOX_STAND_IN_PORT: "54331",
    // Set too: a stack started on other ports remembers its dashboard's (API port + 2).
    CJH_DASHBOARD_PORT: "54323",
    CJH_LEGACY_KEYS: "on",
  };
  const printed = await printedStatus(defaults, true);
  assertEquals(Object.fromEntries(documented), printed);
});

integrationTest(
  "the status print's Dashboard URL serves the webhook dashboard, configured for the printed API URL",
  async () => {
    const status = await printedStatus();
    const page = await fetch(status["Dashboard URL"]);
    assertEquals(page.status, 200);
    assert((await page.text()).includes('<div id="root">'), "the built page");
    const config = await (await fetch(`${status["Dashboard URL"]}/config.json`)).json();
    assertEquals(config.supabase_url, status["API URL"]);
  },
);
