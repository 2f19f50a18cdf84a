-- =============================================================================================
-- Billing: invoices and the payments recorded against them.
--
-- The money rules live in the database so that every client (React app, integrations, edge
-- functions) gets the same answer:
--   * invoice_no is INV-1001, INV-1002, … per organization, assigned on insert, never changes;
--   * amount_paid and paid_at are maintained by payments only, never written directly;
--   * a payment locks its invoice (select … for no key update), is refused unless the invoice is open
--     and the amount fits the balance, and adds to amount_paid in the same transaction; an open
--     invoice whose balance reaches zero becomes paid, with paid_at set;
--   * a paid invoice is final; an invoice with payments can be neither voided nor made a draft.
--   * payments are an append-only ledger: nobody updates or deletes them (tenants have no
--     update/delete privilege at all; a trigger also stops the service role). A mistaken payment
--     is a business event to record, not a row to edit.
-- Deleting invoices is reserved to owners and admins; an invoice with payments cannot be deleted.
-- =============================================================================================

-- =============================================================================================
-- Types
-- =============================================================================================

create type public.invoice_status as enum ('draft', 'open', 'paid', 'void');
create type public.payment_method as enum ('card', 'ach', 'cash', 'check', 'other');

-- =============================================================================================
-- Tables
-- =============================================================================================

create table public.invoices (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  invoice_no text not null default '', -- optional for clients; the insert trigger assigns it
  job_id uuid,
  estimate_id uuid,
  client_id uuid not null,
  total numeric(12, 2) not null,
  amount_paid numeric(12, 2) not null default 0,
  status public.invoice_status not null default 'draft',
  issued_at timestamptz,
  due_at timestamptz,
  paid_at timestamptz,
  event_sequence bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint invoices_org_id_id_key unique (org_id, id),
  constraint invoices_org_id_invoice_no_key unique (org_id, invoice_no),
  constraint invoices_job_fkey foreign key (org_id, job_id) references public.jobs (org_id, id),
  constraint invoices_estimate_fkey foreign key (org_id, estimate_id) references public.estimates (org_id, id),
  constraint invoices_client_fkey foreign key (org_id, client_id) references public.clients (org_id, id),
  constraint invoices_invoice_no_format check (invoice_no ~ '^INV-[1-9][0-9]*$'),
  constraint invoices_total_not_negative check (total >= 0),
  constraint invoices_amount_paid_within_total check (amount_paid >= 0 and amount_paid <= total),
  constraint invoices_paid_at_iff_paid check ((status = 'paid') = (paid_at is not null)),
  constraint invoices_due_after_issue check (due_at >= issued_at)
);
comment on table public.invoices is 'A bill to a client; becomes paid when its payments cover the total.';
comment on column public.invoices.event_sequence is 'The sequence number of the latest webhook event about this row (assigned by the database).';
comment on column public.invoices.invoice_no is 'INV-1001, INV-1002, … per organization, assigned on insert (a supplied value is replaced); never changes.';
comment on column public.invoices.amount_paid is 'Sum of the payments; maintained by the payments trigger, read-only otherwise.';

create table public.payments (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  invoice_id uuid not null,
  amount numeric(12, 2) not null,
  method public.payment_method not null,
  received_at timestamptz not null default now(),
  reference text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint payments_org_id_id_key unique (org_id, id),
  constraint payments_invoice_fkey foreign key (org_id, invoice_id) references public.invoices (org_id, id),
  constraint payments_amount_positive check (amount > 0)
);
comment on table public.payments is 'Money received against an invoice. Append-only.';
comment on column public.payments.reference is 'Check number, card transaction id, ACH trace, …';

-- =============================================================================================
-- Indexes
-- =============================================================================================

create index invoices_org_id_job_id_idx on public.invoices (org_id, job_id);
create index invoices_org_id_estimate_id_idx on public.invoices (org_id, estimate_id);
create index invoices_org_id_client_id_idx on public.invoices (org_id, client_id);
create index payments_org_id_invoice_id_idx on public.payments (org_id, invoice_id);

-- =============================================================================================
-- Functions
-- =============================================================================================

-- Same scheme as job numbers (see app_private.org_counters): a row lock, rolled back with the insert.
create function app_private.tg_invoices__assign_invoice_no()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_invoice_no bigint;
begin
  update app_private.org_counters c
     set next_invoice_no = c.next_invoice_no + 1
   where c.org_id = new.org_id
  returning c.next_invoice_no - 1 into v_invoice_no;
  if v_invoice_no is null then
    raise exception 'organization not found' using errcode = '23503';
  end if;
  new.invoice_no := 'INV-' || v_invoice_no;
  return new;
end
$$;

-- The invoice lifecycle. Direct statements (pg_trigger_depth() = 1) may not touch what payments
-- own; the payments trigger updates invoices one level deeper and is allowed to.
create function app_private.tg_invoices__enforce_lifecycle()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_direct boolean := pg_trigger_depth() = 1;
begin
  if tg_op = 'INSERT' then
    if new.amount_paid <> 0 then
      raise exception 'amount_paid is maintained by payments' using errcode = '23514';
    end if;
    if new.paid_at is not null then
      raise exception 'paid_at is maintained by payments' using errcode = '23514';
    end if;
    if new.status = 'paid' then
      raise exception 'an invoice becomes paid only through payments' using errcode = '23514';
    end if;
  else
    if v_direct then
      if old.status = 'paid' and new is distinct from old then
        raise exception 'a paid invoice cannot be changed' using errcode = '23514';
      end if;
      if new.amount_paid is distinct from old.amount_paid then
        raise exception 'amount_paid is maintained by payments' using errcode = '23514';
      end if;
      if new.paid_at is distinct from old.paid_at then
        raise exception 'paid_at is maintained by payments' using errcode = '23514';
      end if;
      if new.status = 'paid' and old.status <> 'paid' then
        raise exception 'an invoice becomes paid only through payments' using errcode = '23514';
      end if;
    end if;
    if new.amount_paid > 0 and new.status in ('draft', 'void') then
      raise exception 'an invoice with payments cannot be voided or returned to draft' using errcode = '23514';
    end if;
  end if;

  if new.status = 'open' then
    new.issued_at := coalesce(new.issued_at, now());
    -- A zero balance settles the invoice, whether the last payment or a lowered total got it there.
    if new.amount_paid > 0 and new.amount_paid >= new.total then
      new.status := 'paid';
      new.paid_at := coalesce(new.paid_at, now());
    end if;
  end if;
  return new;
end
$$;

-- Applies a payment to its invoice. An after-insert trigger, so it runs only for rows that have
-- passed the insert policy; security definer, so recording a payment does not also require
-- invoices:write. The invoice row lock serializes payments on one invoice: two concurrent
-- payments cannot both fit a balance that has room for one. It is FOR NO KEY UPDATE, not FOR
-- UPDATE: each payment's foreign-key check already holds FOR KEY SHARE on the invoice, which
-- FOR UPDATE would wait on - two concurrent payments then deadlock (seen in
-- tests/numbering_concurrency_test.ts); FOR NO KEY UPDATE only queues them.
create function app_private.tg_payments__apply_to_invoice()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_status public.invoice_status;
  v_balance numeric(12, 2);
begin
  select i.status, i.total - i.amount_paid
    into v_status, v_balance
    from public.invoices i
   where i.org_id = new.org_id
     and i.id = new.invoice_id
     for no key update;
  if not found then
    raise exception 'invoice not found' using errcode = '23503';
  end if;
  if v_status <> 'open' then
    raise exception 'cannot record a payment on a % invoice', v_status using errcode = '23514';
  end if;
  if new.amount > v_balance then
    raise exception 'payment exceeds the invoice balance' using
      errcode = '23514',
      detail = format('The balance is %s; the payment is %s.', v_balance, new.amount);
  end if;

  -- The invoice's lifecycle trigger turns it paid when this brings the balance to zero; paid_at
  -- is the date the money arrived.
  update public.invoices i
     set amount_paid = i.amount_paid + new.amount,
         paid_at = case when new.amount = v_balance then new.received_at end
   where i.org_id = new.org_id
     and i.id = new.invoice_id;
  return null;
end
$$;

-- Payments are an append-only ledger. Deletes cascading from the organization
-- (pg_trigger_depth() > 1) remove the whole tenant and are allowed.
create function app_private.tg_payments__forbid_changes()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' or pg_trigger_depth() = 1 then
    raise exception 'payments are immutable' using errcode = '23514';
  end if;
  return old;
end
$$;

-- =============================================================================================
-- Triggers
-- =============================================================================================

create trigger _100_assign_invoice_no
  before insert on public.invoices
  for each row execute function app_private.tg_invoices__assign_invoice_no();
create trigger _100_protect_immutable_columns
  before update on public.invoices
  for each row execute function app_private.tg__protect_immutable_columns('id', 'org_id', 'invoice_no');
create trigger _500_enforce_lifecycle
  before insert or update on public.invoices
  for each row execute function app_private.tg_invoices__enforce_lifecycle();
create trigger _900_set_updated_at
  before update on public.invoices
  for each row execute function app_private.tg__set_updated_at();

create trigger _100_forbid_changes
  before update or delete on public.payments
  for each row execute function app_private.tg_payments__forbid_changes();
create trigger _500_apply_to_invoice
  after insert on public.payments
  for each row execute function app_private.tg_payments__apply_to_invoice();

-- =============================================================================================
-- RLS policies
-- =============================================================================================

alter table public.invoices enable row level security;
alter table public.invoices force row level security;
alter table public.payments enable row level security;
alter table public.payments force row level security;

create policy "Invoices are visible to members with invoices:read"
  on public.invoices for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('invoices:read'))));
create policy "Invoices can be created by members with invoices:write"
  on public.invoices for insert to authenticated
  with check (org_id = any (array(select authz.org_ids_with_scope('invoices:write'))));
create policy "Invoices can be updated by members with invoices:write"
  on public.invoices for update to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('invoices:write'))))
  with check (org_id = any (array(select authz.org_ids_with_scope('invoices:write'))));
create policy "Invoices can be deleted by owners and admins"
  on public.invoices for delete to authenticated
  using (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))));

create policy "Payments are visible to members with payments:read"
  on public.payments for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('payments:read'))));
create policy "Payments can be recorded by members with payments:write"
  on public.payments for insert to authenticated
  with check (org_id = any (array(select authz.org_ids_with_scope('payments:write'))));

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on table public.invoices, public.payments from public, anon, authenticated, service_role;
grant select, update, delete on table public.invoices to authenticated;
-- Every column but event_sequence, which the database assigns.
grant insert (id, org_id, invoice_no, job_id, estimate_id, client_id, total, amount_paid, status, issued_at, due_at,
              paid_at, created_at, updated_at)
  on table public.invoices to authenticated;
grant select, insert on table public.payments to authenticated;
grant all on table public.invoices, public.payments to service_role;

revoke all on function
  app_private.tg_invoices__assign_invoice_no(),
  app_private.tg_invoices__enforce_lifecycle(),
  app_private.tg_payments__apply_to_invoice(),
  app_private.tg_payments__forbid_changes()
  from public, anon, authenticated, service_role;
