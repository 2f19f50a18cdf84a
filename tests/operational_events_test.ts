// Operational events, end to end through the stack's own dispatcher: an endpoint disabled for any
// cause (410 Gone, a failure streak, an admin) and a delivery that exhausts its window are told to
// the organization's other endpoints subscribed to them, never to the endpoint they are about, and
// the audit log has each; a delivery of an operational event that exhausts tells nobody (no loop).
// Each test has an organization of its own and changes no global setting: a failure streak and a
// delivery window are made to end by moving the endpoint's or delivery's own times back.
import assert from "node:assert/strict";
import { type AdminFixture, callAdminOk, createAdminFixture } from "./_support/admin.ts";
import { connect, eventually, integrationTest, type Receiver, startReceiver } from "./_support/stack.ts";
import { insertJob, registerEndpoint } from "./_support/webhooks.ts";

const OPERATIONAL = ["endpoint.disabled", "delivery.exhausted"];

// deno-lint-ignore no-explicit-any -- event bodies are read as the receiver gets them
type Body = any;

const bodiesOf = (receiver: Receiver): Body[] => receiver.requests.map((request) => JSON.parse(request.body));

/** The endpoints that got a delivery of the organization's events of this type. */
async function recipientsOf(sql: ReturnType<typeof connect>, orgId: string, eventType: string) {
  const rows = await sql<{ endpoint_id: string }[]>`
    select d.endpoint_id from webhooks.deliveries d join webhooks.events e on e.id = d.event_id
     where e.org_id = ${orgId} and e.event_type = ${eventType} order by d.id`;
  return rows.map((row) => row.endpoint_id);
}

async function auditEntries(sql: ReturnType<typeof connect>, orgId: string, action: string) {
  return await sql<{ actor_kind: string; actor_id: string | null; target_id: string; details: Body }[]>`
    select actor_kind, actor_id, target_id, details from audit.entries
     where org_id = ${orgId} and action = ${action} order by id`;
}

/**
 * An organization (with an admin) whose `watcher` endpoint is subscribed to the operational events
 * only, and whose `subject` endpoint is subscribed to everything, operational events included.
 */
async function organizationWithTwoEndpoints(
  sql: ReturnType<typeof connect>,
  label: string,
  subjectAnswers: () => Response,
) {
  const fixture = await createAdminFixture(sql, label);
  const owner = { userId: fixture.owner.userId, orgId: fixture.orgId };
  const watcher = startReceiver();
  const subject = startReceiver(subjectAnswers);
  const watcherEndpoint = await registerEndpoint(sql, owner, watcher.url, OPERATIONAL);
  const subjectEndpoint = await registerEndpoint(sql, owner, subject.url);
  return {
    fixture,
    owner,
    watcher,
    subject,
    watcherId: watcherEndpoint.endpointId,
    subjectId: subjectEndpoint.endpointId,
    remove: async () => {
      await watcher.close();
      await subject.close();
      await fixture.remove();
    },
  };
}

type World = Awaited<ReturnType<typeof organizationWithTwoEndpoints>>;

const causes: {
  cause: string;
  how: string;
  subjectAnswers: () => Response;
  disable: (sql: ReturnType<typeof connect>, world: World) => Promise<void>;
  disabledBy: (fixture: AdminFixture) => string | null;
  actor: (fixture: AdminFixture) => [string, string | null];
}[] = [
  {
    cause: "gone",
    how: "its receiver answers 410 Gone",
    subjectAnswers: () => new Response("gone", { status: 410 }),
    disable: async (sql, world) => void await insertJob(sql, world.owner, "Sent to a receiver that is gone"),
    disabledBy: () => null,
    actor: () => ["system", null],
  },
  {
    cause: "failing",
    how: "it fails past settings.auto_disable_after without a success",
    subjectAnswers: () => new Response("broken", { status: 500 }),
    disable: async (sql, world) => {
      // The streak began longer ago than the setting allows: the next failure ends it.
      await sql`update webhooks.endpoints
                   set failing_since = now() - (select auto_disable_after from webhooks.settings) - interval '1 minute'
                 where id = ${world.subjectId}`;
      await insertJob(sql, world.owner, "Sent to a receiver that keeps failing");
    },
    disabledBy: () => null,
    actor: () => ["system", null],
  },
  {
    cause: "admin",
    how: "an admin disables it",
    subjectAnswers: () => new Response("ok"),
    disable: async (_sql, world) =>
      void await callAdminOk("disableEndpoint", {
        token: world.fixture.admin.token,
        params: { endpoint_id: world.subjectId },
        body: { reason: "Moving to a new ERP" },
      }),
    disabledBy: (fixture) => fixture.admin.userId,
    actor: (fixture) => ["user", fixture.admin.userId],
  },
];

for (const { cause, how, subjectAnswers, disable, disabledBy, actor } of causes) {
  integrationTest(
    `when ${how}, endpoint.disabled (${cause}) reaches the organization's other endpoint, not it, and is audited`,
    async () => {
      const sql = connect(2);
      const world = await organizationWithTwoEndpoints(sql, `disabled-${cause}`, subjectAnswers);
      try {
        await disable(sql, world);
        const [event] = await eventually(() => {
          const bodies = bodiesOf(world.watcher).filter((body) => body.event === "endpoint.disabled");
          return bodies.length > 0 ? bodies : undefined;
        }, { what: "the other endpoint to be told" });

        const [endpoint] = await sql`select url, disabled_reason, disabled_cause from webhooks.endpoints
                                      where id = ${world.subjectId}`;
        assert.equal(endpoint.disabled_cause, cause);
        assert.equal(event.org_id, world.fixture.orgId);
        assert.deepEqual(
          [event.endpoint.id, event.endpoint.url, event.endpoint.disabled_reason, event.reason, event.disabled_by],
          [world.subjectId, endpoint.url, endpoint.disabled_reason, cause, disabledBy(world.fixture)],
        );
        assert.deepEqual(await recipientsOf(sql, world.fixture.orgId, "endpoint.disabled"), [world.watcherId]);
        assert.deepEqual(
          bodiesOf(world.subject).filter((body) => OPERATIONAL.includes(body.event)),
          [],
          "the disabled endpoint is not told about itself",
        );

        const entries = await auditEntries(sql, world.fixture.orgId, "endpoint.disabled");
        assert.deepEqual(
          entries.map((entry) => [entry.target_id, entry.actor_kind, entry.actor_id, entry.details.reason]),
          [[world.subjectId, ...actor(world.fixture), endpoint.disabled_reason]],
        );
      } finally {
        await world.remove();
        await sql.end();
      }
    },
  );
}

/**
 * Waits for the endpoint's first failed attempt of an event type, then moves its first attempt back
 * past settings.delivery_window (and its retry an hour ahead, so no dispatcher sends it meanwhile)
 * and runs the minute job, which exhausts it. Returns the delivery's id.
 */
async function exhaustAfterOneFailure(sql: ReturnType<typeof connect>, endpointId: string, eventType: string) {
  const [{ id }] = await eventually(async () => {
    const moved = await sql<{ id: string }[]>`
      update webhooks.deliveries d
         set first_attempt_at = now() - (select delivery_window from webhooks.settings) - interval '1 minute',
             next_attempt_at = now() + interval '1 hour'
        from webhooks.events e
       where e.id = d.event_id and e.event_type = ${eventType}
         and d.endpoint_id = ${endpointId} and d.status = 'pending' and d.attempt_count = 1
      returning d.id`;
    return moved.length === 1 ? moved : undefined;
  }, { what: `a failed attempt of ${eventType}` });
  await sql`select webhooks.run_every_minute()`;
  const [delivery] = await sql`select status from webhooks.deliveries where id = ${id}`;
  assert.equal(delivery.status, "exhausted");
  return id;
}

integrationTest(
  "an exhausted delivery publishes delivery.exhausted to the organization's other endpoint, not the failing one, audited",
  async () => {
    const sql = connect(2);
    const world = await organizationWithTwoEndpoints(sql, "exhausted", () => new Response("broken", { status: 500 }));
    try {
      await insertJob(sql, world.owner, "Never delivered");
      const deliveryId = await exhaustAfterOneFailure(sql, world.subjectId, "job.created");

      const [event] = await eventually(() => {
        const bodies = bodiesOf(world.watcher).filter((body) => body.event === "delivery.exhausted");
        return bodies.length > 0 ? bodies : undefined;
      }, { what: "the other endpoint to be told" });
      const [jobCreated] = await sql`select d.event_id from webhooks.deliveries d where d.id = ${deliveryId}`;
      assert.deepEqual(
        [
          event.delivery.id,
          event.delivery.event_id,
          event.delivery.event_type,
          event.delivery.endpoint_id,
          event.delivery.endpoint_url,
          event.delivery.attempt_count,
          event.delivery.last_response_status,
          event.delivery.last_error,
        ],
        [
          Number(deliveryId),
          jobCreated.event_id,
          "job.created",
          world.subjectId,
          world.subject.url,
          1,
          500,
          "HTTP 500",
        ],
      );
      assert.deepEqual(await recipientsOf(sql, world.fixture.orgId, "delivery.exhausted"), [world.watcherId]);
      assert.deepEqual(
        bodiesOf(world.subject).map((body) => body.event),
        ["job.created"],
        "the failing endpoint, though subscribed to every type, is not told about its own delivery",
      );

      const entries = await auditEntries(sql, world.fixture.orgId, "delivery.exhausted");
      assert.deepEqual(
        entries.map((
          entry,
        ) => [entry.target_id, entry.actor_kind, entry.details.endpoint_id, entry.details.event_type]),
        [[String(deliveryId), "system", world.subjectId, "job.created"]],
      );
    } finally {
      await world.remove();
      await sql.end();
    }
  },
);

integrationTest("a delivery of an operational event that exhausts publishes no delivery.exhausted", async () => {
  const sql = connect(2);
  // The subject is disabled by an admin; the watcher is told and fails until its delivery exhausts.
  const fixture = await createAdminFixture(sql, "exhausted-loop");
  const owner = { userId: fixture.owner.userId, orgId: fixture.orgId };
  const failingWatcher = startReceiver(() => new Response("broken", { status: 500 }));
  const healthyWatcher = startReceiver();
  const subject = startReceiver();
  try {
    const { endpointId: failingId } = await registerEndpoint(sql, owner, failingWatcher.url, OPERATIONAL);
    await registerEndpoint(sql, owner, healthyWatcher.url, OPERATIONAL);
    const { endpointId: subjectId } = await registerEndpoint(sql, owner, subject.url);
    await callAdminOk("disableEndpoint", { token: fixture.admin.token, params: { endpoint_id: subjectId } });

    await exhaustAfterOneFailure(sql, failingId, "endpoint.disabled");
    // Publishing is part of the exhaustion's transaction: had it published, the event would be
    // in the outbox or (fanned out since) among the events now.
    const [published] = await sql<{ count: number }[]>`
      select (select count(*) from webhooks.outbox where org_id = ${fixture.orgId} and event_type = 'delivery.exhausted')
           + (select count(*) from webhooks.events where org_id = ${fixture.orgId} and event_type = 'delivery.exhausted')
             as count`;
    assert.equal(Number(published.count), 0);
    assert.equal((await auditEntries(sql, fixture.orgId, "delivery.exhausted")).length, 0);
    await eventually(() => healthyWatcher.requests.length === 1 || undefined, {
      what: "the healthy watcher's delivery",
    });
    assert.deepEqual(bodiesOf(healthyWatcher).map((body) => body.event), ["endpoint.disabled"]);
  } finally {
    await failingWatcher.close();
    await healthyWatcher.close();
    await subject.close();
    await fixture.remove();
    await sql.end();
  }
});
