// The webhook dashboard's local page server (local/dashboard-server.ts): the page's config points
// at this stack and holds no secret, the local sign-in mints sessions webhook-admin accepts for
// people only, other hosts are refused, and the static files are served safely.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { decodeJwt } from "npm:jose@6.2.17";
import { contentSecurityPolicy, createPageHandler, SESSION_SECONDS } from "../local/dashboard-server.ts";
import { connect, createTenant, integrationTest, signingKeys, stack } from "./_support/stack.ts";

const sql = connect(2);
const PUBLISHABLE_KEY = JSON.parse(Deno.env.get("SUPABASE_PUBLISHABLE_KEYS") ?? "{}").default as string;
const SEED_ADMIN = "00000000-0000-4000-a000-000000001002";
const SEED_ORG = "00000000-0000-4000-a001-000000001000";

const distDir = await Deno.makeTempDir({ prefix: "dashboard-dist-" });
await Deno.mkdir(`${distDir}/assets`);
await Deno.writeTextFile(`${distDir}/index.html`, '<!doctype html><div id="root"></div>');
await Deno.writeTextFile(`${distDir}/assets/index-abc123.js`, "console.log('page')");

const handler = createPageHandler({
  distDir,
  supabaseUrl: stack.SUPABASE_URL,
  publishableKey: PUBLISHABLE_KEY,
  sessionKey: signingKeys.session,
  sql,
});

function request(path: string, init: RequestInit & { host?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("host", init.host ?? "127.0.0.1:54323");
  return handler(new Request(`http://127.0.0.1:54323${path}`, { ...init, headers }));
}

function mintSession(body: unknown): Promise<Response> {
  return request("/local/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

integrationTest("config.json points the page at this stack with its publishable key, and holds no secret", async () => {
  const response = await request("/config.json");
  const text = await response.text();
  assertEquals(JSON.parse(text), {
    supabase_url: stack.SUPABASE_URL,
    supabase_key: PUBLISHABLE_KEY,
    local_sign_in: true,
  });
  const secrets = [stack.CJH_JWT_SECRET, stack.SUPABASE_SERVICE_ROLE_KEY, signingKeys.session.d, "sb_secret_"];
  for (const secret of secrets.filter((value): value is string => value !== undefined)) {
    assert(!text.includes(secret), `config.json must not carry ${secret.slice(0, 10)}…`);
  }
});

integrationTest("the local users list people with their memberships and never a service account", async () => {
  const { users } = await (await request("/local/users")).json();
  const adam = users.find((user: { user_id: string }) => user.user_id === SEED_ADMIN);
  assertEquals(adam, {
    user_id: SEED_ADMIN,
    email: "adam.admin@acme-plumbing.test",
    memberships: [{ org_id: SEED_ORG, org_name: "Acme Plumbing", role: "admin" }],
  });
  await withServiceAccount(async (accountId) => {
    const { users } = await (await request("/local/users")).json();
    assert(users.some((user: { user_id: string }) => user.user_id === SEED_ADMIN));
    assert(!users.some((user: { user_id: string }) => user.user_id === accountId));
    assert(users.every((user: { email: string | null }) => typeof user.email === "string"));
  });
});

/** Runs `work` while an organization of its own has a service account (a user without an email). */
async function withServiceAccount(work: (accountId: string) => Promise<void>): Promise<void> {
  const tenant = await createTenant(sql, "dashboard-accounts");
  try {
    const [{ account_id }] = await sql<{ account_id: string }[]>`
      select account_id from authz.create_service_account(${tenant.orgId}, 'dashboard test', '{jobs:read}')`;
    await work(account_id);
  } finally {
    await tenant.remove();
  }
}

integrationTest("a local session is a one-hour JWT for the user that webhook-admin accepts", async () => {
  const response = await mintSession({ user_id: SEED_ADMIN });
  assertEquals(response.status, 200);
  const session = await response.json();
  const claims = decodeJwt(session.access_token);
  assertEquals([claims.sub, claims.role, claims.aud], [SEED_ADMIN, "authenticated", "authenticated"]);
  assertEquals(session.expires_in, SESSION_SECONDS);
  assertEquals(claims.exp, session.expires_at);
  const endpoints = await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-admin/endpoints?org_id=${SEED_ORG}`, {
    headers: { Authorization: `Bearer ${session.access_token}`, apikey: PUBLISHABLE_KEY },
  });
  assertEquals(endpoints.status, 200, await endpoints.clone().text());
  await endpoints.body?.cancel();
});

integrationTest("no session for a service account, an unknown user or a malformed request", async () => {
  await withServiceAccount(async (accountId) => {
    const accountAnswer = await mintSession({ user_id: accountId });
    assertEquals([accountAnswer.status, (await accountAnswer.json()).error.code], [404, "not_found"]);
  });
  const unknown = await mintSession({ user_id: crypto.randomUUID() });
  assertEquals([unknown.status, (await unknown.json()).error.code], [404, "not_found"]);
  const malformed = await mintSession({ user_id: "adam" });
  const body = await malformed.json();
  assertEquals([malformed.status, body.error.code], [400, "invalid_request"]);
  assert(body.error.details.fieldErrors.user_id.length > 0);
  const notJson = await mintSession("{");
  assertEquals([notJson.status, (await notJson.json()).error.code], [400, "invalid_json"]);
  const wrongMethod = await request("/local/session");
  assertEquals(wrongMethod.status, 405);
  await wrongMethod.body?.cancel();
});

integrationTest("a request addressed to any host but loopback is refused (no DNS rebinding)", async () => {
  const response = await request("/local/session", {
    method: "POST",
    host: "attacker.example:54323",
    body: JSON.stringify({ user_id: SEED_ADMIN }),
  });
  assertEquals([response.status, (await response.json()).error.code], [403, "forbidden"]);
  const local = await request("/config.json", { host: "localhost:54323" });
  assertEquals(local.status, 200);
  await local.body?.cancel();
});

integrationTest(
  "the page is served with its security policy, assets are cached for good, nothing outside the build is served",
  async () => {
    const page = await request("/");
    assertEquals(await page.text(), '<!doctype html><div id="root"></div>');
    assertEquals(page.headers.get("content-security-policy"), contentSecurityPolicy(stack.SUPABASE_URL));
    assertEquals(page.headers.get("cache-control"), "no-cache");
    const asset = await request("/assets/index-abc123.js");
    assertEquals(asset.headers.get("content-type"), "text/javascript; charset=utf-8");
    assertEquals(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
    await asset.body?.cancel();
    // Dot segments are resolved inside the build; encoded slashes and bad encodings are refused.
    const outside = { "/%2e%2e/%2e%2e/etc/passwd": 404, "/assets/%2e%2e%2f%2e%2e%2fdeno.json": 400, "/%E0%A4%A": 400 };
    for (const [path, status] of Object.entries(outside)) {
      const refused = await request(path);
      assertEquals(refused.status, status, path);
      await refused.body?.cancel();
    }
    const missing = await request("/assets/missing.js");
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
    const post = await request("/", { method: "POST" });
    assertEquals(post.status, 405);
    await post.body?.cancel();
  },
);

integrationTest("before the page is built, the server says how to build it", async () => {
  const empty = await Deno.makeTempDir({ prefix: "dashboard-unbuilt-" });
  const unbuilt = createPageHandler({
    distDir: empty,
    supabaseUrl: stack.SUPABASE_URL,
    publishableKey: PUBLISHABLE_KEY,
    sessionKey: signingKeys.session,
    sql,
  });
  const response = await unbuilt(new Request("http://127.0.0.1:54323/", { headers: { host: "127.0.0.1" } }));
  assertEquals([response.status, (await response.json()).error.code], [503, "not_built"]);
  await Deno.remove(empty);
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(distDir, { recursive: true });
  void sql.end();
});
