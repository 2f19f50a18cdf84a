// The dashboard in Debian's Chromium against the running local stack, one flow per test, each as a
// tenant admin would go through it: every screen is checked with axe-core (WCAG 2.1 A and AA) and
// each flow leaves a screenshot in dashboard/test-results/screenshots.
import { type Browser, type BrowserContext, type Page } from "playwright-core";
import type postgres from "postgres";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import {
  adminCall,
  createTenantFixture,
  DASHBOARD_URL,
  database,
  expectAccessible,
  fitsWidth,
  launchChromium,
  type Receiver,
  screenshot,
  sessionFor,
  signIn,
  startReceiver,
  storedText,
  SUPABASE_URL,
  type TenantFixture,
} from "./support";

/**
 * How long a flow waits for the stack to deliver: a bound on waiting, not a performance threshold.
 * A delivery normally arrives within a second of its wake-up; the bound also covers the minute job,
 * which sends whatever a wake-up missed.
 */
const DELIVERY_WAIT_MS = 90_000;

let sql: postgres.Sql;
let browser: Browser;
let fixture: TenantFixture;
let context: BrowserContext;
let page: Page;
let consoleText: string[];
const receivers: Receiver[] = [];

beforeAll(async () => {
  sql = database();
  fixture = await createTenantFixture(sql);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await fixture?.remove();
  await sql?.end();
});

beforeEach(async () => {
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    permissions: ["clipboard-read", "clipboard-write"],
  });
  page = await context.newPage();
  consoleText = [];
  page.on("console", (message) => consoleText.push(message.text()));
  page.on("pageerror", (error) => consoleText.push(`page error: ${error.message}`));
});

afterEach(async () => {
  await context.close();
});

async function receiver(): Promise<Receiver> {
  const started = await startReceiver();
  receivers.push(started);
  return started;
}

const asAdmin = () => signIn(page, fixture.admin, `admin of ${fixture.orgName}`);

async function createEndpoint(url: string): Promise<{ id: string; secret: string }> {
  const created = await adminCall<{ endpoint: { id: string }; signing_secret: string }>(
    fixture.admin,
    "POST",
    "/endpoints",
    { org_id: fixture.orgId, url },
  );
  return { id: created.endpoint.id, secret: created.signing_secret };
}

async function openEndpoint(url: string): Promise<void> {
  await page.getByRole("button", { name: "Endpoints", exact: true }).click();
  await page.getByRole("button", { name: url }).click();
  await page.getByRole("heading", { name: url, level: 3 }).waitFor();
}

/** Sends a test event from the open endpoint page and opens its delivery. */
async function sendTestEventAndOpenDelivery(): Promise<void> {
  await page.getByRole("button", { name: "Send test event" }).click();
  await page.getByRole("button", { name: /^Open delivery #\d+$/ }).click();
  await page.getByRole("heading", { name: /^Delivery #\d+$/ }).waitFor();
}

const deliveryStatus = () => page.locator(".cjh-facts dd").first();
const attemptRows = () => page.getByRole("table", { name: "Attempts, oldest first" }).locator("tbody tr");

describe("the webhook dashboard in a real browser", () => {
  test("an admin creates an endpoint for a local receiver, sees its secret once, sends a test event and watches it succeed", async () => {
    const local = await receiver();
    await asAdmin();
    await page.getByText("No endpoints yet.").waitFor();
    await expectAccessible(page, "the empty endpoint list");

    await page.getByRole("button", { name: "Add endpoint" }).click();
    await page.getByLabel("URL").fill(local.url);
    await page.getByLabel("Description").fill("Local receiver");
    await page.getByRole("checkbox", { name: "job.created" }).waitFor();
    expect(await page.getByRole("checkbox", { name: "webhook.test" }).count()).toBe(0);
    await expectAccessible(page, "the new endpoint form");
    await page.getByRole("button", { name: "Create endpoint" }).click();

    const secretField = page.getByRole("textbox", { name: "Signing secret" });
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByText("Copied to the clipboard.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await expectAccessible(page, "the one-time signing secret");
    await page.getByRole("button", { name: "I have stored it" }).click();
    await page.getByRole("heading", { name: local.url, level: 3 }).waitFor();
    expect(await page.content()).not.toContain(secret);

    await sendTestEventAndOpenDelivery();
    await deliveryStatus().getByText("Succeeded").waitFor({ timeout: DELIVERY_WAIT_MS });
    await attemptRows().first().getByText("HTTP 200").waitFor();
    expect(await attemptRows().count()).toBe(1);
    await page.getByLabel("Payload").getByText('"event": "webhook.test"').waitFor();
    await expectAccessible(page, "a delivered delivery with its attempts");
    await screenshot(page, "01-test-event-delivered");

    // The receiver got it signed with exactly the secret the page showed once.
    expect(local.requests).toHaveLength(1);
    const [received] = local.requests;
    const payload = new Webhook(secret).verify(received.body, received.headers as Record<string, string>);
    expect(payload).toMatchObject({ event: "webhook.test" });

    // Its endpoint's health and chart count it.
    await page.getByRole("button", { name: "Open endpoint" }).click();
    await page.getByRole("img", { name: /1 succeeded/ }).waitFor({ timeout: DELIVERY_WAIT_MS });
    await page.getByText("100 % of 1 attempts").waitFor({ timeout: DELIVERY_WAIT_MS });
    await expectAccessible(page, "the endpoint page with its health and chart");
    await screenshot(page, "01-endpoint-health");
  });

  test("rotating the secret shows the new one once, and no secret reaches storage, cookies or the console", async () => {
    const local = await receiver();
    const endpoint = await createEndpoint(local.url);
    await asAdmin();
    await openEndpoint(local.url);

    await page.getByRole("button", { name: "Rotate secret" }).click();
    // The confirmation takes the focus, so the keyboard confirms.
    await page.keyboard.press("Enter");
    const secretField = page.getByRole("textbox", { name: "New signing secret" });
    await secretField.waitFor();
    const rotated = await secretField.inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(endpoint.secret);
    await page.getByText("The previous secret keeps signing alongside this one until").waitFor();
    await expectAccessible(page, "the one-time rotated secret");
    await screenshot(page, "02-rotated-secret");

    await page.getByRole("button", { name: "Copy" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(rotated);
    await page.getByRole("button", { name: "I have stored it" }).click();
    await secretField.waitFor({ state: "detached" });
    expect(await page.content()).not.toContain(rotated);
    await page.getByText("Previous secret signs until").waitFor();

    const kept = `${await storedText(page)}\n${consoleText.join("\n")}`;
    expect(kept).not.toContain(rotated);
    expect(kept).not.toContain(endpoint.secret);
    expect(kept).not.toContain("whsec_");
  });

  test("a failing receiver's delivery shows its error and, once resent, is delivered", async () => {
    const local = await receiver();
    // A 503 asking to come back in an hour: only a resend sends it again during the test.
    local.respond = () => ({ status: 503, headers: { "Retry-After": "3600" }, body: "receiver down for maintenance" });
    await createEndpoint(local.url);
    await asAdmin();
    await openEndpoint(local.url);
    await sendTestEventAndOpenDelivery();

    await attemptRows().first().getByText("HTTP 503").waitFor({ timeout: DELIVERY_WAIT_MS });
    await attemptRows().first().getByText("receiver down for maintenance").waitFor();
    await deliveryStatus().getByText("Pending").waitFor();
    await expectAccessible(page, "a failed delivery");
    await screenshot(page, "03-delivery-failed");

    local.respond = () => ({ status: 200, body: "ok" });
    await page.getByRole("button", { name: "Resend" }).click();
    await page.getByText("Queued again").waitFor();
    await deliveryStatus().getByText("Succeeded").waitFor({ timeout: DELIVERY_WAIT_MS });
    await attemptRows().nth(1).getByText("HTTP 200").waitFor();
    expect(local.requests).toHaveLength(2);
    expect(local.requests[1].headers["webhook-id"]).toBe(local.requests[0].headers["webhook-id"]);
    expect(local.requests[1].headers["x-retry-count"]).toBe("1");
    await screenshot(page, "03-delivery-resent");

    // The deliveries list filters it by status and endpoint.
    const deliveryId = (await page.getByRole("heading", { name: /^Delivery #\d+$/ }).textContent())!.slice(10);
    await page.getByRole("button", { name: "Deliveries", exact: true }).click();
    await page.getByLabel("Status").selectOption("succeeded");
    await page.getByLabel("Endpoint").selectOption({ label: local.url });
    await page.getByRole("button", { name: "Apply filters" }).click();
    const rows = page.getByRole("table", { name: "Deliveries, newest first" }).locator("tbody tr");
    await rows.getByRole("button", { name: `#${deliveryId}` }).waitFor();
    expect(await rows.count()).toBe(1);
    await page.getByLabel("Status").selectOption("failed");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.getByText("No deliveries match.").waitFor();
    await expectAccessible(page, "the filtered deliveries list");
  });

  test("the API's refusals appear in words beside their field; an endpoint is edited, disabled with a reason, enabled and deleted", async () => {
    await asAdmin();
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await page.getByLabel("URL").fill("https://10.1.2.3/hook");
    // Enter in a field submits its form.
    await page.getByLabel("URL").press("Enter");
    const urlError = page.locator(".cjh-field-error", { hasText: /^URL: / });
    await urlError.waitFor();
    expect(await urlError.textContent()).toMatch(/private|public|address/i);
    expect(await page.getByLabel("URL").getAttribute("aria-invalid")).toBe("true");
    await page.getByRole("alert").getByText("Some fields need attention").waitFor();
    await expectAccessible(page, "a form the API refused");
    await screenshot(page, "04-field-error");

    const local = await receiver();
    await page.getByLabel("URL").fill(local.url);
    await page.getByRole("button", { name: "Create endpoint" }).click();
    await page.getByRole("button", { name: "I have stored it" }).click();
    await page.getByRole("heading", { name: local.url, level: 3 }).waitFor();

    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Description").fill("Orders to the ERP");
    await page.getByRole("checkbox", { name: "job.created" }).check();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.locator(".cjh-facts").getByText("Orders to the ERP").waitFor();
    await page.locator(".cjh-facts").getByText("job.created").waitFor();

    await page.getByRole("button", { name: "Disable", exact: true }).click();
    await page.getByLabel("Reason").fill("Maintenance window");
    await page.getByRole("button", { name: "Disable endpoint" }).click();
    await page.getByText("Disabled because: Maintenance window").waitFor();
    expect(await page.getByRole("button", { name: "Send test event" }).isDisabled()).toBe(true);
    await expectAccessible(page, "a disabled endpoint");
    await page.getByRole("button", { name: "Enable" }).click();
    await page.locator(".cjh-facts").getByText("Enabled", { exact: true }).waitFor();

    const [{ id }] = await sql<{ id: string }[]>`
      select id from webhooks.endpoints where org_id = ${fixture.orgId} and url = ${local.url}`;
    await page.getByRole("button", { name: "Delete" }).click();
    // The confirmation takes the focus.
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Endpoints", level: 3 }).waitFor();
    await page.getByRole("button", { name: local.url }).waitFor({ state: "detached" });
    const actions = await sql<{ action: string }[]>`
      select action from audit.entries where org_id = ${fixture.orgId} and target_id = ${id} order by id`;
    expect(actions.map(({ action }) => action)).toEqual(expect.arrayContaining([
      "endpoint.created",
      "endpoint.updated",
      "endpoint.disabled",
      "endpoint.enabled",
      "endpoint.deleted",
    ]));
  });

  test("service accounts are created with scopes (the key shown once) and revoked; the audit log and catalog show them", async () => {
    await asAdmin();
    await page.getByRole("button", { name: "Service accounts" }).click();
    await page.getByText("No service accounts yet.").waitFor();
    await page.getByRole("button", { name: "Add service account" }).click();
    await page.getByLabel("Name").fill("ERP sync");
    await page.getByRole("button", { name: "Create service account" }).click();
    await page.locator(".cjh-field-error", { hasText: /^Scopes: / }).waitFor();

    await page.getByRole("checkbox", { name: /jobs:read/ }).check();
    await page.getByRole("checkbox", { name: /invoices:read/ }).check();
    await page.getByRole("button", { name: "Create service account" }).click();
    const keyField = page.getByRole("textbox", { name: "API key" });
    await keyField.waitFor();
    const apiKey = await keyField.inputValue();
    expect(apiKey).toMatch(/^cjh_sk_/);
    await expectAccessible(page, "the one-time API key");
    await page.getByRole("button", { name: "I have stored it" }).click();
    await keyField.waitFor({ state: "detached" });
    const row = page.getByRole("row", { name: /ERP sync/ });
    await row.getByText(/^(jobs:read, invoices:read|invoices:read, jobs:read)$/).waitFor();

    await row.getByRole("button", { name: "Revoke ERP sync" }).click();
    await row.getByRole("button", { name: "Revoke", exact: true }).click();
    await row.getByText(/^Revoked /).waitFor();
    await expectAccessible(page, "the service accounts");
    expect(`${await storedText(page)}\n${consoleText.join("\n")}`).not.toContain(apiKey);

    await page.getByRole("button", { name: "Audit log" }).click();
    const log = page.getByRole("table", { name: "Audit entries, newest first" });
    await log.getByText("service_account.revoked").waitFor();
    await log.getByText("service_account.created").waitFor();
    await expectAccessible(page, "the audit log");
    await screenshot(page, "05-audit-log");

    await page.getByRole("button", { name: "Event catalog" }).click();
    await page.getByText("job.created", { exact: true }).click();
    await page.getByLabel("JSON Schema of job.created").getByText('"job_no"').first().waitFor();
    await page.getByLabel("Sample job.created payload").waitFor();
    await expectAccessible(page, "the event catalog");
    await screenshot(page, "05-event-catalog");
  });

  test("a member, and another organization's admin, are told they are not allowed", async () => {
    await signIn(page, fixture.member, `member of ${fixture.orgName}`);
    await page.getByRole("heading", { name: "Not allowed" }).waitFor();
    await page.getByText("Only an owner or admin of this organization can manage its webhooks.").waitFor();
    expect(await page.getByRole("button", { name: "Add endpoint" }).count()).toBe(0);
    await expectAccessible(page, "the refusal");
    await screenshot(page, "06-member-not-allowed");

    await signIn(page, fixture.outsider, `owner of ${fixture.outsider.orgName}`, fixture.orgId);
    await page.getByRole("heading", { name: "Not allowed" }).waitFor();
    await screenshot(page, "06-other-organization-not-allowed");
  });

  test("hosted, the page uses the session the app stored on its origin, and without one asks to sign in", async () => {
    // A hosted deployment's config.json: no local sign-in.
    const hosted = { supabase_url: SUPABASE_URL, supabase_key: "sb_publishable_unused", sign_in_url: "/sign-in" };
    await page.route("**/config.json", (route) => route.fulfill({ json: hosted }));
    await page.goto(`${DASHBOARD_URL}/?org=${fixture.orgId}`);
    await page.getByRole("heading", { name: "Not signed in" }).waitFor();
    expect(await page.getByRole("link", { name: "Sign in to CJH" }).getAttribute("href")).toBe("/sign-in");
    expect(await page.getByLabel("Act as").count()).toBe(0);

    // What supabase-js keeps after the app signs the admin in (its default storage key for this project).
    const accessToken = await sessionFor(fixture.admin);
    const session = {
      access_token: accessToken,
      token_type: "bearer",
      expires_in: 3600,
      expires_at: Math.floor(Date.now() / 1000) + 3600,
      refresh_token: "unused",
      user: { id: fixture.admin.userId, aud: "authenticated", role: "authenticated", email: fixture.admin.email },
    };
    const storageKey = `sb-${new URL(SUPABASE_URL).hostname.split(".")[0]}-auth-token`;
    await page.evaluate(([key, value]) => localStorage.setItem(key, value), [storageKey, JSON.stringify(session)]);
    await page.reload();
    await page.getByRole("heading", { name: "Endpoints", level: 3 }).waitFor();
    await expectAccessible(page, "the hosted page");
  });

  test("on a phone-sized screen every page fits the width and stays usable", async () => {
    const local = await receiver();
    await createEndpoint(local.url);
    await page.setViewportSize({ width: 390, height: 844 });
    await asAdmin();
    await page.getByRole("button", { name: local.url }).waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await openEndpoint(local.url);
    expect(await fitsWidth(page)).toBe(true);
    await sendTestEventAndOpenDelivery();
    await deliveryStatus().getByText("Succeeded").waitFor({ timeout: DELIVERY_WAIT_MS });
    expect(await fitsWidth(page)).toBe(true);
    await expectAccessible(page, "a delivery on a phone");
    await screenshot(page, "07-phone-delivery");
    await page.getByRole("button", { name: "Deliveries", exact: true }).click();
    await page.getByRole("table", { name: "Deliveries, newest first" }).waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, "07-phone-deliveries");
  });
});
