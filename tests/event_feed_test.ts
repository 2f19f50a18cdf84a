// The catch-up feed (public.webhook_events) read the way PostgREST serves it, with the tokens
// integrations and people really hold: each caller sees exactly the events row-level security
// gives it (scopes for service accounts and members, everything of their organization for owners
// and admins, operational events included, never another organization's, no test events, nothing
// for anon), and docs/sync.md's catch-up loop, run as written through supabase-js, reads every
// event exactly once across pages while new ones keep committing, and mirrors the jobs it reads.
import assert from "node:assert/strict";
import { createClient } from "npm:@supabase/supabase-js@2.119.0";
import { type AdminFixture, callAdminOk, createAdminFixture } from "./_support/admin.ts";
import { asPostgrest, postgrestFetch } from "./_support/postgrest.ts";
import { asUser, connect, integrationTest, legacyKey, mintJwt, ROOT, stack } from "./_support/stack.ts";
import { fanOut, insertJob, registerEndpoint } from "./_support/webhooks.ts";

const sql = connect(4);
globalThis.addEventListener("unload", () => void sql.end());

interface FeedRow {
  feed_position: number;
  id: string;
  event_type: string;
  org_id: string;
  resource_type: string | null;
}

/** The feed as the bearer of `token` reads it: GET /rest/v1/webhook_events?order=feed_position. */
function feedAs(token: string) {
  return asPostgrest(
    sql,
    token,
    { method: "GET", path: "/webhook_events" },
    (tx) =>
      tx<FeedRow[]>`select feed_position, id, event_type, org_id, resource_type from public.webhook_events
                     order by feed_position`,
  );
}

async function rowsOf(token: string): Promise<FeedRow[]> {
  const answer = await feedAs(token);
  assert.equal(answer.status, 200, JSON.stringify(answer));
  return (answer as { rows: FeedRow[] }).rows;
}

/** A service account of the organization with these scopes (as an admin creates it), and its token. */
async function integrationToken(fixture: AdminFixture, scopes: string[]): Promise<string> {
  const [{ api_key }] = await asUser(sql, fixture.admin.userId, (tx) =>
    tx<{ api_key: string }[]>`
      select api_key from authz.create_service_account(${fixture.orgId}, ${`feed ${scopes.join(" ")}`}, ${scopes})`);
  const { body } = await callAdminOk("issueServiceAccountToken", { body: { api_key } });
  return body.access_token;
}

async function removeWithAccounts(fixture: AdminFixture) {
  await sql`delete from auth.users where id in (select id from authz.service_accounts where org_id = ${fixture.orgId})`;
  await fixture.remove();
}

/**
 * An organization with events about every kind of resource a scope names here (a client, a job, an
 * open invoice and a payment that settles it), an endpoint an admin disabled (endpoint.disabled)
 * and a test event sent to another; its outsider's organization has a job of its own.
 */
async function organizationWithEvents(label: string) {
  const fixture = await createAdminFixture(sql, label);
  const owner = { userId: fixture.owner.userId, orgId: fixture.orgId };
  await asUser(sql, fixture.owner.userId, async (tx) => {
    const [client] =
      await tx`insert into public.clients (org_id, name) values (${fixture.orgId}, 'Client') returning id`;
    await tx`insert into public.jobs (org_id, title, client_id) values (${fixture.orgId}, 'Job', ${client.id})`;
    const [invoice] = await tx`insert into public.invoices (org_id, client_id, total, status)
                               values (${fixture.orgId}, ${client.id}, 100, 'open') returning id`;
    await tx`insert into public.payments (org_id, invoice_id, amount, method)
             values (${fixture.orgId}, ${invoice.id}, 100, 'card')`;
  });
  await insertJob(sql, { userId: fixture.outsider.userId, orgId: fixture.outsider.orgId }, "Theirs");
  const disabled = await registerEndpoint(sql, owner, "http://127.0.0.1:9/disabled");
  await callAdminOk("disableEndpoint", { token: fixture.admin.token, params: { endpoint_id: disabled.endpointId } });
  const tested = await registerEndpoint(sql, owner, "http://127.0.0.1:9/tested", ["job.created"]);
  await callAdminOk("sendTestEvent", { token: fixture.admin.token, params: { endpoint_id: tested.endpointId } });
  await fanOut(sql);
  return fixture;
}

/** The organization's events of these types, as stored (ids), in feed order. */
async function storedEvents(orgId: string, where: { resourceTypes?: string[] } = {}) {
  const rows = await sql<{ id: string; event_type: string }[]>`
    select id, event_type from webhooks.events
     where org_id = ${orgId} and feed_position is not null
       and (${where.resourceTypes ?? null}::text[] is null or resource_type = any(${
    where.resourceTypes ?? null
  }::text[]))
     order by feed_position`;
  return rows;
}

integrationTest("a jobs:read integration sees its organization's job events and nothing else", async () => {
  const fixture = await organizationWithEvents("feed-jobs");
  try {
    const rows = await rowsOf(await integrationToken(fixture, ["jobs:read"]));
    const jobEvents = await storedEvents(fixture.orgId, { resourceTypes: ["job"] });
    assert.ok(jobEvents.length > 0);
    assert.deepEqual(rows.map((row) => row.id), jobEvents.map((event) => event.id));
    assert.deepEqual([...new Set(rows.map((row) => `${row.org_id} ${row.resource_type}`))], [`${fixture.orgId} job`]);
  } finally {
    await removeWithAccounts(fixture);
  }
});

integrationTest("an invoices:read integration sees invoice events, not the payment's", async () => {
  const fixture = await organizationWithEvents("feed-invoices");
  try {
    const rows = await rowsOf(await integrationToken(fixture, ["invoices:read"]));
    const invoiceEvents = await storedEvents(fixture.orgId, { resourceTypes: ["invoice"] });
    assert.deepEqual(rows.map((row) => row.id), invoiceEvents.map((event) => event.id));
    assert.ok(rows.some((row) => row.event_type === "invoice.paid"), "the invoice the payment settled is in it");
    assert.ok(!rows.some((row) => row.event_type === "payment.received"));
    const [{ count }] = await sql`select count(*)::int from webhooks.events
                                   where org_id = ${fixture.orgId} and event_type = 'payment.received'`;
    assert.equal(count, 1, "though the payment's event exists");
  } finally {
    await removeWithAccounts(fixture);
  }
});

integrationTest(
  "owners and admins see all of their organization's events, operational ones included; members its resource events",
  async () => {
    const fixture = await organizationWithEvents("feed-owners");
    try {
      const all = await storedEvents(fixture.orgId);
      assert.ok(all.some((event) => event.event_type === "endpoint.disabled"));
      for (const person of [fixture.owner, fixture.admin]) {
        assert.deepEqual((await rowsOf(person.token)).map((row) => row.id), all.map((event) => event.id));
      }
      const memberRows = await rowsOf(fixture.member.token);
      assert.deepEqual(
        memberRows.map((row) => row.id),
        all.filter((event) => event.event_type !== "endpoint.disabled").map((event) => event.id),
      );
    } finally {
      await removeWithAccounts(fixture);
    }
  },
);

integrationTest("nobody sees another organization's events", async () => {
  const fixture = await organizationWithEvents("feed-others");
  try {
    const outsiderRows = await rowsOf(fixture.outsider.token);
    assert.ok(outsiderRows.length > 0, "the outsider sees its own organization's events");
    assert.deepEqual(outsiderRows.filter((row) => row.org_id !== fixture.outsider.orgId), []);
    for (const token of [fixture.owner.token, await integrationToken(fixture, ["jobs:read", "invoices:read"])]) {
      assert.deepEqual((await rowsOf(token)).filter((row) => row.org_id !== fixture.orgId), []);
    }
  } finally {
    await removeWithAccounts(fixture);
  }
});

integrationTest("test events are not in the feed", async () => {
  const fixture = await organizationWithEvents("feed-test-events");
  try {
    const [test] =
      await sql`select id from webhooks.events where org_id = ${fixture.orgId} and event_type = 'webhook.test'`;
    assert.ok(test, "the test event was sent");
    assert.ok(!(await rowsOf(fixture.owner.token)).some((row) => row.id === test.id));
  } finally {
    await removeWithAccounts(fixture);
  }
});

integrationTest("anon sees nothing: the feed is refused without a session", async () => {
  const fixture = await organizationWithEvents("feed-anon");
  try {
    const anonToken = stack.legacyKeys ? legacyKey("anon") : await mintJwt({ role: "anon", sub: undefined });
    const answer = await feedAs(anonToken);
    assert.equal(answer.status, 403);
    assert.equal((answer as { code: string }).code, "42501");
  } finally {
    await removeWithAccounts(fixture);
  }
});

/** The js snippet of docs/sync.md, as a module: applyEvent and catchUp. */
async function syncRecipe() {
  const page = await Deno.readTextFile(`${ROOT}/docs/sync.md`);
  const [, code] = page.match(/^```js\n([\s\S]*?)^```$/m)!;
  return await import(`data:text/javascript,${encodeURIComponent(code)}`) as {
    catchUp(supabase: unknown, mirror: Mirror): Promise<number>;
  };
}

/** The feed requests docs/sync.md spells out: the page after a position, a resource's events after a sequence. */
async function documentedRequests(): Promise<[string, string]> {
  const page = await Deno.readTextFile(`${ROOT}/docs/sync.md`);
  const paths = [...page.matchAll(/GET (\/rest\/v1\/webhook_events\?[^`\n]+)/g)].map(([, path]) => path);
  const feed = paths.find((path) => path.includes("feed_position=gt.<last feed_position>"));
  const replay = paths.find((path) => path.includes("resource_id=eq.<id>"));
  assert.ok(feed && replay, `docs/sync.md spells out both requests: ${paths.join(", ")}`);
  return [feed, replay];
}

interface Mirror {
  sequenceOf(type: string, id: string): Promise<number>;
  put(type: string, id: string, data: unknown, sequence: number): Promise<void>;
  remove(type: string, id: string, sequence: number): Promise<void>;
  feedPosition(): Promise<number>;
  setFeedPosition(position: number): Promise<void>;
}

/** A mirror in memory, remembering every feed position it was given. */
function memoryMirror() {
  const rows = new Map<string, { data: unknown; sequence: number }>();
  const positions: number[] = [];
  const mirror: Mirror = {
    sequenceOf: (type, id) => Promise.resolve(rows.get(`${type} ${id}`)?.sequence ?? 0),
    put(type, id, data, sequence) {
      rows.set(`${type} ${id}`, { data, sequence });
      return Promise.resolve();
    },
    remove(type, id, sequence) {
      rows.set(`${type} ${id}`, { data: null, sequence });
      return Promise.resolve();
    },
    feedPosition: () => Promise.resolve(positions.at(-1) ?? 0),
    setFeedPosition(position) {
      positions.push(position);
      return Promise.resolve();
    },
  };
  return { mirror, rows, positions };
}

integrationTest(
  "docs/sync.md's catch-up reads every event exactly once across pages while new ones commit, and mirrors the jobs",
  async () => {
    const fixture = await createAdminFixture(sql, "feed-paging");
    try {
      const token = await integrationToken(fixture, ["jobs:read"]);
      // supabase-js as the integration, its reads answered as PostgREST would; a catch-up that never
      // ends (one that reads its last event again) fails instead of hanging.
      const feed = postgrestFetch(sql);
      let requests = 0;
      const supabase = createClient(stack.SUPABASE_URL, stack.publishableKey, {
        accessToken: () => Promise.resolve(token),
        global: {
          fetch: (input, init) => {
            if (++requests > 5_000) throw new Error("the catch-up does not end");
            return feed(input, init);
          },
        },
      });
      const { catchUp } = await syncRecipe();
      const { mirror, rows, positions } = memoryMirror();

      // A writer commits 120 jobs, each created and then updated, and every tenth deleted, one
      // transaction each, while the reader catches up again and again.
      let writing = true;
      const writer = (async () => {
        try {
          for (let n = 1; n <= 120; n++) {
            const [job] = await asUser(sql, fixture.owner.userId, (tx) =>
              tx<{ id: string }[]>`
                insert into public.jobs (org_id, title) values (${fixture.orgId}, ${`Job ${n}`}) returning id`);
            await asUser(
              sql,
              fixture.owner.userId,
              (tx) => tx`update public.jobs set status = 'scheduled' where id = ${job.id}`,
            );
            if (n % 10 === 0) {
              await asUser(sql, fixture.owner.userId, (tx) => tx`delete from public.jobs where id = ${job.id}`);
            }
          }
        } finally {
          writing = false;
        }
      })();
      while (writing) {
        await catchUp(supabase, mirror);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const readWhileWriting = positions.length;
      await writer;
      await fanOut(sql);
      await catchUp(supabase, mirror);

      const expected = await sql<{ feed_position: string }[]>`
        select feed_position from webhooks.events where org_id = ${fixture.orgId} order by feed_position`;
      assert.equal(expected.length, 120 * 2 + 12);
      assert.deepEqual(positions, expected.map((row) => Number(row.feed_position)), "each once, in order");
      assert.ok(readWhileWriting > 0, "the reader read events while the writer was still committing");

      const jobs = await sql<{ id: string; title: string; status: string; event_sequence: string }[]>`
        select id, title, status, event_sequence from public.jobs where org_id = ${fixture.orgId} order by id`;
      const mirrored = [...rows.entries()]
        .filter(([, row]) => row.data !== null)
        .map(([key, row]) => {
          const job = row.data as { id: string; title: string; status: string };
          return { id: key.split(" ")[1], title: job.title, status: job.status, event_sequence: String(row.sequence) };
        })
        .sort((a, b) => a.id < b.id ? -1 : 1);
      assert.deepEqual(mirrored, jobs.map((job) => ({ ...job })));
      assert.equal([...rows.values()].filter((row) => row.data === null).length, 12, "the deleted jobs are tombstones");

      // The requests the page spells out read what it says: the feed's first page, and a job's
      // events after the last sequence applied.
      const [feedRequest, replayRequest] = await documentedRequests();
      const get = async (path: string) => {
        const response = await postgrestFetch(sql)(`${stack.SUPABASE_URL}${path}`, {
          headers: { apikey: stack.publishableKey, Authorization: `Bearer ${token}` },
        });
        assert.equal(response.status, 200);
        return await response.json() as { feed_position: number; event_type: string; sequence: number }[];
      };
      const firstPage = await get(feedRequest.replace("<last feed_position>", "0"));
      assert.deepEqual(firstPage.map((row) => row.feed_position), positions.slice(0, 100));
      const deleted = await sql<{ id: string }[]>`
        select resource_id as id from webhooks.events where org_id = ${fixture.orgId} and event_type = 'job.deleted'
         limit 1`;
      const replay = await get(replayRequest.replace("<id>", deleted[0].id).replace("<last applied>", "1"));
      assert.deepEqual(replay.map((row) => [row.event_type, row.sequence]), [["job.updated", 2], ["job.deleted", 3]]);
    } finally {
      await removeWithAccounts(fixture);
    }
  },
);
