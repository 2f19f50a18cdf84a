// `npm start` / `npm run status` print the stack's URLs and keys like `supabase status`; what they
// print must be true: the keys verify with the printed secret and carry their roles, the DB URL
// logs in as postgres, and the API URL serves the functions.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { jwtVerify } from "npm:jose@6.2.17";
import postgres from "npm:postgres@3.4.9";
import { integrationTest, ROOT } from "./_support/stack.ts";

async function printedStatus(): Promise<Record<string, string>> {
  const { code, stdout } = await new Deno.Command("node", {
    args: [`${ROOT}/scripts/stack.mjs`, "status"],
    env: { NO_COLOR: "1" },
  }).output();
  assertEquals(code, 0);
  const entries = new TextDecoder().decode(stdout).split("\n")
    .map((line) => line.match(/^\s*([A-Za-z_ ]+): (\S+)$/))
    .filter((match) => match !== null)
    .map((match) => [match![1].trim(), match![2]]);
  return Object.fromEntries(entries);
}

integrationTest("the status print's keys are signed with its JWT secret and carry their roles", async () => {
  const status = await printedStatus();
  const secret = new TextEncoder().encode(status["JWT secret"]);
  const anon = await jwtVerify(status["anon key"], secret);
  const service = await jwtVerify(status["service_role key"], secret);
  assertEquals([anon.payload.role, service.payload.role], ["anon", "service_role"]);
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

integrationTest("the status print's Functions URL serves the project's functions", async () => {
  const status = await printedStatus();
  const response = await fetch(`${status["Functions URL"]}/webhook-admin/event-types`, {
    headers: { Authorization: `Bearer ${status["service_role key"]}` },
  });
  const body = await response.json();
  assertEquals(response.status, 200, JSON.stringify(body));
  assert(Array.isArray(body.data) && body.data.length > 0, "the function itself answered");
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
