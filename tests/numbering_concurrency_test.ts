// Numbers and balances under real concurrency: many connections inserting at once, as members
// through RLS. pgTAP runs in one session and cannot show this; these tests can.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { asUser, connect, createTenant, integrationTest } from "./_support/stack.ts";

const CONNECTIONS = 16;
const sql = connect(CONNECTIONS);
globalThis.addEventListener("unload", () => void sql.end());

const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => from + index);

integrationTest(
  "concurrent job inserts get gapless, unique job numbers, and rolled-back ones give theirs back",
  async () => {
    const tenant = await createTenant(sql, "numbering-jobs");
    try {
      const attempts = range(0, 240).map((index) =>
        asUser(sql, tenant.userId, async (tx) => {
          await tx`insert into public.jobs (org_id, title) values (${tenant.orgId}, ${`Job ${index}`})`;
          if (index % 4 === 3) throw new Error("roll back");
        }).then(() => "committed", () => "rolled back")
      );
      const outcomes = await Promise.all(attempts);
      assertEquals(outcomes.filter((outcome) => outcome === "committed").length, 180);
      const rows = await sql<{ job_no: string }[]>`select job_no from public.jobs where org_id = ${tenant.orgId}`;
      const numbers = rows.map((row) => Number(row.job_no.slice(2))).sort((a, b) => a - b);
      assertEquals(numbers, range(1, 180));
    } finally {
      await tenant.remove();
    }
  },
);

integrationTest("concurrent invoice inserts in two organizations number each organization independently", async () => {
  const tenants = await Promise.all([createTenant(sql, "numbering-inv-a"), createTenant(sql, "numbering-inv-b")]);
  try {
    const clients = await Promise.all(
      tenants.map((tenant) =>
        asUser(sql, tenant.userId, (tx) =>
          tx<
            { id: string }[]
          >`insert into public.clients (org_id, name) values (${tenant.orgId}, 'Client') returning id`)
      ),
    );
    await Promise.all(
      range(0, 100).map((index) => {
        const tenant = tenants[index % 2];
        const [client] = clients[index % 2];
        return asUser(
          sql,
          tenant.userId,
          (tx) => tx`insert into public.invoices (org_id, client_id, total) values (${tenant.orgId}, ${client.id}, 10)`,
        );
      }),
    );
    for (const tenant of tenants) {
      const rows = await sql<{ invoice_no: string }[]>`
        select invoice_no from public.invoices where org_id = ${tenant.orgId}`;
      const numbers = rows.map((row) => Number(row.invoice_no.slice(4))).sort((a, b) => a - b);
      assertEquals(numbers, range(1001, 50));
    }
  } finally {
    await Promise.all(tenants.map((tenant) => tenant.remove()));
  }
});

integrationTest("concurrent payments settle an invoice exactly once and never overpay it", async () => {
  const tenant = await createTenant(sql, "numbering-payments");
  try {
    const [invoice] = await asUser(sql, tenant.userId, async (tx) => {
      const [client] = await tx<{ id: string }[]>`
        insert into public.clients (org_id, name) values (${tenant.orgId}, 'Client') returning id`;
      return await tx<{ id: string }[]>`
        insert into public.invoices (org_id, client_id, total, status)
        values (${tenant.orgId}, ${client.id}, 100.00, 'open') returning id`;
    });
    // Twelve payments of 10.00 race for a balance of 100.00: exactly ten fit.
    const outcomes = await Promise.all(
      range(0, 12).map(() =>
        asUser(sql, tenant.userId, (tx) =>
          tx`insert into public.payments (org_id, invoice_id, amount, method)
           values (${tenant.orgId}, ${invoice.id}, 10.00, 'card')`).then(
            () => "recorded",
            (error: Error) => error.message,
          )
      ),
    );
    assertEquals(outcomes.filter((outcome) => outcome === "recorded").length, 10);
    const refusals = outcomes.filter((outcome) => outcome !== "recorded");
    for (const refusal of refusals) {
      // The tenth payment made the invoice paid; later ones see a paid invoice or no balance.
      assertEquals(
        ["cannot record a payment on a paid invoice", "payment exceeds the invoice balance"].includes(refusal),
        true,
        refusal,
      );
    }
    const [state] = await sql`select status, amount_paid, paid_at is not null as has_paid_at
                                from public.invoices where id = ${invoice.id}`;
    assertEquals({ ...state }, { status: "paid", amount_paid: "100.00", has_paid_at: true });
  } finally {
    await tenant.remove();
  }
});
