// Delivery never waits for a tenant's open transaction, and no tenant writer waits for delivery
// or for an endpoint change. With one organization's long transaction open (a client import that
// has written events), every change to who gets what happens: an endpoint is created, one is
// subscribed to fewer types, one is disabled by an admin, one by a 410, one by a failure streak;
// that organization's other writers commit and another organization's deliveries go out. Nobody
// is ever blocked by the import's backend. Then the import commits, and each of its events goes
// to the endpoints as the subscriptions stood for the statement that wrote it: the first, written
// before every change, to the endpoints as they were (those disabled since get it already
// failed); the second, written after the admin's changes, to the new endpoint and without the
// ones the admin narrowed or disabled.
import assert from "node:assert/strict";
import postgres from "npm:postgres@3.4.9";
import { asUser, connect, createTenant, eventually, integrationTest, stack, startReceiver } from "./_support/stack.ts";
import { fanOut, registerEndpoint } from "./_support/webhooks.ts";

integrationTest(
  "with an organization's transaction open, its endpoints change, its other writers commit and deliveries go out",
  async () => {
    const sql = connect(6);
    const importer = postgres(stack.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
    const gone = startReceiver(() => new Response("gone", { status: 410 }));
    const failing = startReceiver(() => new Response("down", { status: 500 }));
    const fine = startReceiver();
    const elsewhere = startReceiver();
    const tenant = await createTenant(sql, "never-waits");
    const other = await createTenant(sql, "never-waits-other");
    let importerPid = 0;
    const blocked: number[] = [];
    let watching = true;
    let committed = false;
    let step = () => {};
    const nextStep = () => new Promise<void>((resolve) => (step = resolve));
    try {
      const goneEndpoint = await registerEndpoint(sql, tenant, `${gone.url}/gone`);
      const failingEndpoint = await registerEndpoint(sql, tenant, `${failing.url}/failing`);
      const narrowed = await registerEndpoint(sql, tenant, `${fine.url}/narrowed`);
      const adminDisabled = await registerEndpoint(sql, tenant, `${fine.url}/admin-disabled`);
      const otherEndpoint = await registerEndpoint(sql, other, `${elsewhere.url}/other`);
      // Failing for longer than settings.auto_disable_after: its next failure disables it.
      await sql`update webhooks.endpoints set failing_since = now() - interval '4 days'
                 where id = ${failingEndpoint.endpointId}`;

      // The import: one event before the changes, one after the admin's, then it waits to commit.
      let firstWritten = () => {};
      const firstDone = new Promise<void>((resolve) => (firstWritten = resolve));
      let secondWritten = () => {};
      const secondDone = new Promise<void>((resolve) => (secondWritten = resolve));
      let writeSecond = nextStep();
      const importing = asUser(importer, tenant.userId, async (tx) => {
        [{ pid: importerPid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await tx`insert into public.clients (org_id, name) values (${tenant.orgId}, 'Imported first')`;
        firstWritten();
        await writeSecond;
        await tx`insert into public.clients (org_id, name) values (${tenant.orgId}, 'Imported second')`;
        secondWritten();
        writeSecond = nextStep();
        await writeSecond;
      });
      importing.catch(() => {});
      await firstDone;

      // Anyone blocked by the import's backend, whatever it waits for, is a failure.
      const watcher = (async () => {
        while (watching) {
          const rows = await sql<{ pid: number }[]>`
            select a.pid from pg_stat_activity a where ${importerPid} = any (pg_blocking_pids(a.pid))`;
          blocked.push(...rows.map((row) => row.pid));
          if (rows.length > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      const notBlocked = async <T>(what: string, work: Promise<T>): Promise<T> => {
        const result = await Promise.race([
          work.then((value) => ({ value })),
          eventually(() => blocked.length > 0 || undefined, { timeoutMs: 3_600_000, what })
            .then(() => undefined),
        ]);
        assert.ok(result, `${what} waited for the organization's open transaction`);
        return result.value;
      };

      const order: string[] = [];
      const created = await notBlocked(
        "creating an endpoint",
        registerEndpoint(sql, tenant, `${fine.url}/created`),
      );
      order.push("endpoint created");
      await notBlocked(
        "subscribing an endpoint",
        asUser(
          sql,
          tenant.userId,
          (tx) => tx`update webhooks.endpoints set event_types = '{job.created}' where id = ${narrowed.endpointId}`,
        ),
      );
      order.push("endpoint subscribed");
      await notBlocked(
        "disabling an endpoint",
        asUser(
          sql,
          tenant.userId,
          (tx) => tx`update webhooks.endpoints set enabled = false where id = ${adminDisabled.endpointId}`,
        ),
      );
      order.push("endpoint disabled by an admin");

      step();
      await secondDone;

      await notBlocked(
        "another writer of the organization",
        asUser(
          sql,
          tenant.userId,
          (tx) => tx`insert into public.jobs (org_id, title) values (${tenant.orgId}, 'Committed beside the import')`,
        ),
      );
      order.push("the organization's other writer committed");
      await notBlocked(
        "another organization's writer",
        asUser(
          sql,
          other.userId,
          (tx) => tx`insert into public.jobs (org_id, title) values (${other.orgId}, 'Elsewhere')`,
        ),
      );
      order.push("another organization's writer committed");

      // The dispatcher delivers the job: a 410 and a failure streak disable two endpoints.
      const disabled = await notBlocked(
        "a 410 and a failure streak",
        eventually(async () => {
          const rows = await sql<{ id: string; disabled_cause: string }[]>`
            select id, disabled_cause from webhooks.endpoints
             where id in (${goneEndpoint.endpointId}, ${failingEndpoint.endpointId}) and not enabled order by id`;
          return rows.length === 2 ? rows : undefined;
        }, { timeoutMs: 60_000, what: "the 410 and the failure streak to disable their endpoints" }),
      );
      assert.deepEqual(
        Object.fromEntries(disabled.map((row) => [row.id, row.disabled_cause])),
        { [goneEndpoint.endpointId]: "gone", [failingEndpoint.endpointId]: "failing" },
      );
      order.push("disabled by a 410 and a failure streak");
      await notBlocked(
        "another organization's delivery",
        eventually(() => elsewhere.requests.length > 0 || undefined, { what: "the other organization's delivery" }),
      );
      order.push("another organization's delivery went out");

      watching = false;
      await watcher;
      assert.deepEqual(blocked, [], "nobody waited for the organization's open transaction");
      order.push("import committed");
      step();
      await importing;
      committed = true;

      assert.deepEqual(order, [
        "endpoint created",
        "endpoint subscribed",
        "endpoint disabled by an admin",
        "the organization's other writer committed",
        "another organization's writer committed",
        "disabled by a 410 and a failure streak",
        "another organization's delivery went out",
        "import committed",
      ]);

      await fanOut(sql);
      const recipients = async (name: string) =>
        Object.fromEntries(
          (await sql<{ endpoint_id: string; failed: boolean }[]>`
            select d.endpoint_id, d.status = 'failed' as failed
              from webhooks.deliveries d join webhooks.events e on e.id = d.event_id
             where e.org_id = ${tenant.orgId} and e.payload -> 'client' ->> 'name' = ${name}`)
            .map((row) => [row.endpoint_id, row.failed ? "failed" : "delivering"]),
        );
      assert.deepEqual(await recipients("Imported first"), {
        [goneEndpoint.endpointId]: "failed",
        [failingEndpoint.endpointId]: "failed",
        [narrowed.endpointId]: "delivering",
        [adminDisabled.endpointId]: "failed",
      });
      assert.deepEqual(await recipients("Imported second"), {
        [goneEndpoint.endpointId]: "failed",
        [failingEndpoint.endpointId]: "failed",
        [created.endpointId]: "delivering",
      });
      assert.notEqual(otherEndpoint.endpointId, created.endpointId);
    } finally {
      watching = false;
      // A failed run ends the import instead of waiting for it (and what waits for it).
      if (!committed && importerPid) await sql`select pg_terminate_backend(${importerPid})`;
      await tenant.remove();
      await other.remove();
      await importer.end();
      await sql.end();
      for (const receiver of [gone, failing, fine, elsewhere]) await receiver.close();
    }
  },
);
