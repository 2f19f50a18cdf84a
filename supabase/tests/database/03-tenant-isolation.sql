-- Tenant isolation, table by table: org A's rows are visible to org A's members and invisible and
-- untouchable for a member of org B, for a signed-in user in no organization, and for anon.
begin;
select plan(105);

\ir _helpers.psql

-- Fixture: two organizations with a row in every tenant table, a member each, a user in no org.
insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_member', 'b_member', 'nobody']) as n;

insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');

insert into public.organization_members (org_id, user_id, role) values
  (pg_temp.id('org a'), pg_temp.id('a_member'), 'member'),
  (pg_temp.id('org b'), pg_temp.id('b_member'), 'member');

select pg_temp.fill('org a', 'a_member');
select pg_temp.fill('org b', 'b_member');

create function pg_temp.label(p_user text) returns text language sql immutable as $$
  select case p_user when 'b_member' then 'a member of org B' when 'nobody' then 'a user in no organization' end
$$;

-- The same fifteen checks for every tenant table. p_columns / p_values describe a row for org A
-- that a trespasser tries to insert.
create function pg_temp.isolation_tests(p_table text, p_columns text, p_values text)
returns setof text language plpgsql as $$
declare
  v_a uuid := pg_temp.id('org a');
  v_b uuid := pg_temp.id('org b');
  v_count_in text := 'select count(*) from public.%I where org_id = %L';
  v_insert text := format('insert into public.%I (org_id, %s) values (%L, %s)', p_table, p_columns, v_a, p_values);
  v_update text := format('update public.%I set org_id = org_id where org_id = %L', p_table, v_a);
  v_delete text := format('delete from public.%I where org_id = %L', p_table, v_a);
  v_rls_error text := format('new row violates row-level security policy for table "%s"', p_table);
  v_denied text := format('permission denied for table %s', p_table);
  v_mutable boolean := has_table_privilege('authenticated', format('public.%I', p_table), 'UPDATE, DELETE');
  v_snapshot_sql text := format('select md5(string_agg(t::text, '','' order by t.id)) from public.%I t', p_table);
  v_snapshot text;
  v_rows_in_a bigint;
  v_who text;
begin
  perform pg_temp.act_as_postgres();
  execute v_snapshot_sql into v_snapshot;
  v_rows_in_a := pg_temp.scalar(format(v_count_in, p_table, v_a));

  perform pg_temp.act_as('a_member');
  return next ok(v_rows_in_a > 0 and pg_temp.scalar(format(v_count_in, p_table, v_a)) = v_rows_in_a,
    format('%s: a member of org A sees org A''s rows', p_table));

  perform pg_temp.act_as('b_member');
  return next ok(pg_temp.scalar(format(v_count_in, p_table, v_a)) = 0
                 and pg_temp.scalar(format(v_count_in, p_table, v_b)) > 0,
    format('%s: a member of org B sees only org B''s rows', p_table));

  perform pg_temp.act_as('nobody');
  return next is(pg_temp.scalar(format('select count(*) from public.%I', p_table)), 0::bigint,
    format('%s: a user in no organization sees nothing', p_table));

  perform pg_temp.act_as_anon();
  return next throws_ok(format('select * from public.%I', p_table), '42501', v_denied,
    format('%s: anon cannot read', p_table));

  foreach v_who in array array['b_member', 'nobody'] loop
    perform pg_temp.act_as(v_who);
    return next throws_ok(v_insert, '42501', v_rls_error,
      format('%s: %s cannot insert into org A', p_table, pg_temp.label(v_who)));
  end loop;
  perform pg_temp.act_as_anon();
  return next throws_ok(v_insert, '42501', v_denied, format('%s: anon cannot insert', p_table));

  foreach v_who in array array['b_member', 'nobody'] loop
    perform pg_temp.act_as(v_who);
    if v_mutable then
      return next is(pg_temp.affected(v_update), 0::bigint,
        format('%s: %s updates none of org A''s rows', p_table, pg_temp.label(v_who)));
      return next is(pg_temp.affected(v_delete), 0::bigint,
        format('%s: %s deletes none of org A''s rows', p_table, pg_temp.label(v_who)));
    else
      return next throws_ok(v_update, '42501', v_denied,
        format('%s: %s cannot update', p_table, pg_temp.label(v_who)));
      return next throws_ok(v_delete, '42501', v_denied,
        format('%s: %s cannot delete', p_table, pg_temp.label(v_who)));
    end if;
  end loop;
  perform pg_temp.act_as_anon();
  return next throws_ok(v_update, '42501', v_denied, format('%s: anon cannot update', p_table));
  return next throws_ok(v_delete, '42501', v_denied, format('%s: anon cannot delete', p_table));

  perform pg_temp.act_as_postgres();
  return next is(pg_temp.scalar(format('select count(*) from (%s) s where s.md5 = %L', v_snapshot_sql, v_snapshot)),
    1::bigint, format('%s: every row is unchanged after the attempts', p_table));

  perform pg_temp.act_as('a_member');
  if v_mutable then
    return next is(pg_temp.affected(v_update), v_rows_in_a, format('%s: a member of org A can update org A''s rows', p_table));
  else
    return next throws_ok(v_update, '42501', v_denied,
      format('%s: not even org A''s members can update it (append-only)', p_table));
  end if;
  perform pg_temp.act_as_postgres();
end
$$;

select * from pg_temp.isolation_tests('clients', 'name', '''Trespass''');
select * from pg_temp.isolation_tests('properties', 'address1', '''1 Trespass Rd''');
select * from pg_temp.isolation_tests('jobs', 'title', '''Trespass''');
select * from pg_temp.isolation_tests('estimates', 'client_id, total', format('%L, 1', pg_temp.id('org a client')));
select * from pg_temp.isolation_tests('invoices', 'client_id, total', format('%L, 1', pg_temp.id('org a client')));
select * from pg_temp.isolation_tests('payments', 'invoice_id, amount, method', format('%L, 1, ''cash''', pg_temp.id('org a invoice')));
select * from pg_temp.isolation_tests('inspections', 'job_id', format('%L', pg_temp.id('org a job')));

select * from finish();
rollback;
