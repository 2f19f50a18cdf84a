-- Payments and the invoice lifecycle: a payment adds to amount_paid in the same transaction, the
-- payment that clears the balance marks the invoice paid, overpayments and payments on draft,
-- void or paid invoices are refused, and the columns payments own cannot be written directly.
begin;
select plan(31);

\ir _helpers.psql

-- Fixture: one organization, a member who does the bookkeeping, invoices in every status.
insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_member']) as n;
insert into public.organizations (id, name, slug) values (pg_temp.id('org a'), 'Org A', 'test-org-a');
insert into public.organization_members (org_id, user_id, role) values (pg_temp.id('org a'), pg_temp.id('a_member'), 'member');
insert into public.clients (id, org_id, name) values (pg_temp.id('client'), pg_temp.id('org a'), 'Riverside Cafe');
insert into public.invoices (id, org_id, client_id, total, status) values
  (pg_temp.id('open'), pg_temp.id('org a'), pg_temp.id('client'), 250.00, 'open'),
  (pg_temp.id('draft'), pg_temp.id('org a'), pg_temp.id('client'), 100.00, 'draft'),
  (pg_temp.id('void'), pg_temp.id('org a'), pg_temp.id('client'), 100.00, 'void'),
  (pg_temp.id('batch'), pg_temp.id('org a'), pg_temp.id('client'), 100.00, 'open'),
  (pg_temp.id('lowered'), pg_temp.id('org a'), pg_temp.id('client'), 100.00, 'open');

create function pg_temp.invoice(p_name text) returns public.invoices language sql as $$
  select * from public.invoices where id = pg_temp.id(p_name)
$$;

create function pg_temp.pay(p_invoice text, p_amount numeric, p_received_at timestamptz default now())
returns text language sql as $$
  select format('insert into public.payments (org_id, invoice_id, amount, method, received_at) values (%L, %L, %s, ''card'', %L)',
                pg_temp.id('org a'), pg_temp.id(p_invoice), p_amount, p_received_at)
$$;

select pg_temp.act_as('a_member');

-- Partial and final payments ----------------------------------------------------------------
select lives_ok(pg_temp.pay('open', 100.00), 'a member records a partial payment');
select is((pg_temp.invoice('open')).amount_paid, 100.00::numeric(12, 2), 'the partial payment is added to amount_paid');
select is((pg_temp.invoice('open')).status, 'open'::public.invoice_status, 'a partly paid invoice stays open');
select is((pg_temp.invoice('open')).paid_at, null::timestamptz, 'a partly paid invoice has no paid_at');

select throws_ok(pg_temp.pay('open', 150.01), '23514', 'payment exceeds the invoice balance',
  'a payment larger than the balance is refused');
select is((pg_temp.invoice('open')).amount_paid, 100.00::numeric(12, 2), 'the refused payment changed nothing');

select lives_ok(pg_temp.pay('open', 150.00, '2026-11-20 09:30+00'), 'the payment of the remaining balance is recorded');
select is((pg_temp.invoice('open')).amount_paid, 250.00::numeric(12, 2), 'amount_paid reaches the total');
select is((pg_temp.invoice('open')).status, 'paid'::public.invoice_status, 'the invoice is paid');
select is((pg_temp.invoice('open')).paid_at, '2026-11-20 09:30+00'::timestamptz, 'paid_at is when the final payment was received');
select is((select count(*) from public.payments where invoice_id = pg_temp.id('open')), 2::bigint,
  'both payments are on record');

select throws_ok(pg_temp.pay('open', 0.01), '23514', 'cannot record a payment on a paid invoice',
  'a paid invoice takes no more payments');
select throws_ok(pg_temp.pay('draft', 10), '23514', 'cannot record a payment on a draft invoice',
  'a draft invoice takes no payments');
select throws_ok(pg_temp.pay('void', 10), '23514', 'cannot record a payment on a void invoice',
  'a void invoice takes no payments');
select throws_ok(pg_temp.pay('batch', 0), '23514', 'new row for relation "payments" violates check constraint "payments_amount_positive"',
  'a payment is a positive amount');
select throws_ok(pg_temp.pay('batch', -5), '23514', 'new row for relation "payments" violates check constraint "payments_amount_positive"',
  'a refund is not a negative payment');

-- Several payments in one statement are applied one after the other -------------------------
select throws_ok(format('insert into public.payments (org_id, invoice_id, amount, method) values (%1$L, %2$L, 60, ''cash''), (%1$L, %2$L, 60, ''cash'')',
                        pg_temp.id('org a'), pg_temp.id('batch')),
  '23514', 'payment exceeds the invoice balance', 'two payments that together overpay are refused together');
select is((pg_temp.invoice('batch')).amount_paid, 0.00::numeric(12, 2), 'and leave the invoice untouched');
select lives_ok(format('insert into public.payments (org_id, invoice_id, amount, method) values (%1$L, %2$L, 60, ''cash''), (%1$L, %2$L, 40, ''check'')',
                       pg_temp.id('org a'), pg_temp.id('batch')),
  'two payments that together settle the balance are accepted');
select is((pg_temp.invoice('batch')).status, 'paid'::public.invoice_status, 'and mark the invoice paid');

-- What payments own cannot be written directly ------------------------------------------------
select throws_ok(format('update public.invoices set amount_paid = 100 where id = %L', pg_temp.id('lowered')),
  '23514', 'amount_paid is maintained by payments', 'amount_paid cannot be set directly');
select throws_ok(format('update public.invoices set status = ''paid'' where id = %L', pg_temp.id('lowered')),
  '23514', 'an invoice becomes paid only through payments', 'an invoice cannot be marked paid by hand');
select throws_ok(format('update public.invoices set paid_at = now() where id = %L', pg_temp.id('lowered')),
  '23514', 'paid_at is maintained by payments', 'paid_at cannot be set directly');
select throws_ok(format('insert into public.invoices (org_id, client_id, total, amount_paid, status) values (%L, %L, 10, 10, ''open'')',
                        pg_temp.id('org a'), pg_temp.id('client')),
  '23514', 'amount_paid is maintained by payments', 'an invoice cannot be created with an amount already paid');
select throws_ok(format('insert into public.invoices (org_id, client_id, total, status) values (%L, %L, 10, ''paid'')',
                        pg_temp.id('org a'), pg_temp.id('client')),
  '23514', 'an invoice becomes paid only through payments', 'an invoice cannot be created paid');
select throws_ok(format('update public.invoices set total = 300 where id = %L', pg_temp.id('open')),
  '23514', 'a paid invoice cannot be changed', 'a paid invoice is final');

-- Lifecycle around payments -----------------------------------------------------------------
select lives_ok(pg_temp.pay('lowered', 60), 'a partial payment on another invoice');
select throws_ok(format('update public.invoices set status = ''void'' where id = %L', pg_temp.id('lowered')),
  '23514', 'an invoice with payments cannot be voided or returned to draft', 'an invoice with payments cannot be voided');
select throws_ok(format('update public.invoices set total = 50 where id = %L', pg_temp.id('lowered')),
  '23514', 'new row for relation "invoices" violates check constraint "invoices_amount_paid_within_total"',
  'the total cannot drop below what was paid');
update public.invoices set total = 60 where id = pg_temp.id('lowered');
select is((pg_temp.invoice('lowered')).status, 'paid'::public.invoice_status,
  'lowering the total to what was paid settles the invoice');

update public.invoices set status = 'open' where id = pg_temp.id('draft');
select isnt((pg_temp.invoice('draft')).issued_at, null::timestamptz, 'issuing a draft stamps issued_at');

select * from finish();
rollback;
