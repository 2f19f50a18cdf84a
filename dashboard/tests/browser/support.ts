// What the browser tests share: Debian's Chromium driven by playwright-core, an organization of
// their own in the running local stack (an owner, an admin, a member, and another organization's
// admin), local receivers, the page's local sign-in, axe-core's WCAG 2.1 AA checks, and screenshots
// a person can look at (dashboard/test-results/screenshots).
import axe from "axe-core";
import { mkdirSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import postgres from "postgres";
import { CHROMIUM } from "../../scripts/prepare.mjs";

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the browser tests run against the local stack (npm test)`);
  return value;
}

export const DASHBOARD_URL = setting("CJH_DASHBOARD_URL");
export const SUPABASE_URL = setting("SUPABASE_URL");
export const SCREENSHOT_DIR = fileURLToPath(new URL("../../test-results/screenshots", import.meta.url));

/** Chromium flags that work on a closed network as root (no sandbox: Playwright adds --no-sandbox). */
const CHROMIUM_ARGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export const database = () => postgres(setting("SUPABASE_DB_URL"), { max: 2, onnotice: () => {} });

export interface Person {
  userId: string;
  email: string;
}

export interface TenantFixture {
  orgId: string;
  orgName: string;
  owner: Person;
  admin: Person;
  member: Person;
  /** The admin of another organization. */
  outsider: Person & { orgId: string; orgName: string };
  remove(): Promise<void>;
}

async function addUser(sql: postgres.Sql, label: string, suffix: string): Promise<Person> {
  const userId = crypto.randomUUID();
  const email = `${label}-${suffix}@dashboard.test`;
  await sql`insert into auth.users (id, aud, role, email, created_at, updated_at)
            values (${userId}, 'authenticated', 'authenticated', ${email}, now(), now())`;
  return { userId, email };
}

/** A new organization named after `label`, created by its owner as the app would (create_organization). */
async function addOrganization(sql: postgres.Sql, owner: Person, name: string): Promise<string> {
  const claims = JSON.stringify({ sub: owner.userId, role: "authenticated", aud: "authenticated" });
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
    const [org] = await tx<{ id: string }[]>`select id from public.create_organization(${name}, ${slug})`;
    return org.id;
  });
}

export async function createTenantFixture(sql: postgres.Sql): Promise<TenantFixture> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const owner = await addUser(sql, "owner", suffix);
  const admin = await addUser(sql, "admin", suffix);
  const member = await addUser(sql, "member", suffix);
  const outsiderPerson = await addUser(sql, "other-admin", suffix);
  const orgName = `Dashboard Test ${suffix}`;
  const orgId = await addOrganization(sql, owner, orgName);
  const otherName = `Other Org ${suffix}`;
  const otherId = await addOrganization(sql, outsiderPerson, otherName);
  await sql`insert into public.organization_members (org_id, user_id, role)
            values (${orgId}, ${admin.userId}, 'admin'), (${orgId}, ${member.userId}, 'member')`;
  return {
    orgId,
    orgName,
    owner,
    admin,
    member,
    outsider: { ...outsiderPerson, orgId: otherId, orgName: otherName },
    remove: async () => {
      await sql`delete from public.organizations where id in (${orgId}, ${otherId})`;
      await sql`delete from auth.users
                 where id in (${owner.userId}, ${admin.userId}, ${member.userId}, ${outsiderPerson.userId})`;
    },
  };
}

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** How the next requests are answered. */
  respond: (request: ReceivedRequest) => { status: number; headers?: Record<string, string>; body: string };
  close(): Promise<void>;
}

/** An HTTP receiver on a loopback port (the local stack allows loopback endpoints) that records every request. */
export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: "",
    requests: [],
    respond: () => ({ status: 200, body: "ok" }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const received = { headers: request.headers, body: Buffer.concat(chunks).toString("utf8") };
      receiver.requests.push(received);
      const { status, headers, body } = receiver.respond(received);
      response.writeHead(status, { "Content-Type": "text/plain", ...headers }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

/** A session for `person`, from the page server's local sign-in (what the page itself uses). */
export async function sessionFor(person: Person): Promise<string> {
  const response = await fetch(new URL("local/session", DASHBOARD_URL), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: person.userId }),
  });
  if (!response.ok) throw new Error(`local/session answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Calls webhook-admin as `person`, for setting up what a test does not do through the page. */
export async function adminCall<T>(person: Person, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${SUPABASE_URL}/functions/v1/webhook-admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${await sessionFor(person)}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`webhook-admin ${method} ${path} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Opens the page (optionally for `?org=`) and signs in through its local sign-in as `person` in `orgName`. */
export async function signIn(page: Page, person: Person, membership: string, org?: string): Promise<void> {
  await page.goto(org ? `${DASHBOARD_URL}/?org=${org}` : DASHBOARD_URL);
  await page.getByLabel("Act as").selectOption({ label: `${person.email}: ${membership}` });
  await page.getByRole("button", { name: "Sign in" }).click();
}

const WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/** Fails with axe-core's findings if the page breaks a WCAG 2.1 A or AA rule axe can check. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  // axe-core goes into the page once per page load, evaluated through the DevTools protocol (which
  // the page's Content-Security-Policy does not govern); the page is one document without frames.
  if (!(await page.evaluate(() => "axe" in globalThis))) await page.evaluate(axe.source);
  const violations = await page.evaluate(async (tags) => {
    const { axe: inPage } = globalThis as unknown as { axe: typeof axe };
    const results = await inPage.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return results.violations.map(({ id, impact, help, nodes }) => ({
      id,
      impact,
      help,
      nodes: nodes.slice(0, 3).map((node) => `${node.target.join(" ")}: ${node.failureSummary}`),
    }));
  }, WCAG_21_AA);
  if (violations.length > 0) {
    const findings = violations.map(({ id, impact, help, nodes }) =>
      `${id} (${impact}): ${help}\n${nodes.map((node) => `    ${node}`).join("\n")}`
    );
    throw new Error(`accessibility violations on ${where}:\n${findings.join("\n")}`);
  }
}

/** Saves a full-page screenshot for a person to look at; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The page's storage and cookies as text, to check that no secret was kept there. */
export async function storedText(page: Page): Promise<string> {
  return await page.evaluate(async () => {
    const parts = [document.cookie];
    for (const storage of [localStorage, sessionStorage]) {
      for (let index = 0; index < storage.length; index++) {
        const key = storage.key(index)!;
        parts.push(key, storage.getItem(key) ?? "");
      }
    }
    const databases = await indexedDB.databases();
    parts.push(...databases.map((database) => database.name ?? ""));
    return parts.join("\n");
  });
}

/** True when nothing on the page is wider than the viewport (no sideways scrolling). */
export async function fitsWidth(page: Page): Promise<boolean> {
  return await page.evaluate(() => document.documentElement.scrollWidth <= globalThis.innerWidth);
}
