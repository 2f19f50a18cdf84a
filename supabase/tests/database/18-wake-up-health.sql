-- Wake-up path health: dispatch_health() says when wake-ups cannot leave the database (not
-- configured, the scheduler not running, pg_net's worker down, a request stuck in its queue) or
-- leave without deliveries being taken, with the fix; tenant admins see the same problem and fix
-- (webhooks.wake_up_problem and the endpoint health view), none of the counts. Time is
-- controlled, not waited for: the queue watch's first sighting is moved back.
begin;
select plan(17);

\ir _helpers.psql

-- The diagnosis, one cause at a time --------------------------------------------------------
select matches((select problem from webhooks.wake_up_diagnosis(false, true, true, null, null)), '^Wake-ups are not configured',
               'missing Vault secrets are reported first');
select matches((select fix from webhooks.wake_up_diagnosis(false, true, true, null, null)), 'vault.create_secret',
               'with the secret to create');
select matches((select problem from webhooks.wake_up_diagnosis(true, false, true, null, null)), '^The scheduler is not running',
               'a scheduler that is not running is reported next');
select matches((select fix from webhooks.wake_up_diagnosis(true, false, true, null, null)), 'cron.job_run_details',
               'with where pg_cron says why');
select matches((select problem from webhooks.wake_up_diagnosis(true, true, false, null, null)), 'worker is not running',
               'a pg_net worker that is not running is reported');
select matches((select fix from webhooks.wake_up_diagnosis(true, true, false, null, null)), 'net.worker_restart\(\)',
               'with the restart to apply');
select is((select problem from webhooks.wake_up_diagnosis(true, true, true, interval '45 seconds', null)),
          'Wake-ups are not leaving the database: the oldest request in pg_net''s queue has waited 00:00:45.',
          'a request waiting in pg_net''s queue for 30 s or more is reported with its age');
select is((select problem from webhooks.wake_up_diagnosis(true, true, true, interval '5 seconds', now())), null,
          'a request on its way and a delivery just due are not a problem');
select matches((select problem from webhooks.wake_up_diagnosis(true, true, true, null, now() - interval '5 minutes')),
               'not being taken: webhook-dispatch is not draining',
               'deliveries due for minutes while wake-ups leave point at webhook-dispatch');

-- dispatch_health observes the queue ---------------------------------------------------------
insert into auth.users (id, email, aud, role) values (pg_temp.id('a_admin'), 'a_admin@test.local', 'authenticated', 'authenticated');
insert into public.organizations (id, name, slug) values (pg_temp.id('org a'), 'Org A', 'test-org-a');
insert into public.organization_members (org_id, user_id, role) values (pg_temp.id('org a'), pg_temp.id('a_admin'), 'admin');
select endpoint_id as ep from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a') \gset

-- A request nobody sends (this transaction never commits, so pg_net never sees it), alone in the
-- queue for this transaction. What the diagnosis makes of the rest (pg_net's worker, the
-- scheduler) depends on the project the test runs on, so the problem is checked against it.
delete from net.http_request_queue;
select net.http_post('https://hooks.example.com/never') as request_id \gset
select webhooks.watch_pg_net_queue();
select is((select oldest_request_id from webhooks.pg_net_queue_watch), (select min(id) from net.http_request_queue),
          'the minute job notes the oldest queued request');
select cmp_ok((select oldest_unsent_waiting from webhooks.dispatch_health()), '<', interval '30 seconds',
              'just queued, it has not waited long enough to be a problem');
update webhooks.pg_net_queue_watch set seen_since = now() - interval '5 minutes';
select webhooks.watch_pg_net_queue();
select cmp_ok((select oldest_unsent_waiting from webhooks.dispatch_health()), '>=', interval '5 minutes',
              'a later look at the same oldest request keeps its first sighting: it has waited 5 minutes');
select is((select unsent_requests from webhooks.dispatch_health()), 1::bigint, 'the unsent requests are counted');
create temporary table health on commit drop as select * from webhooks.dispatch_health();
select is((select problem from health),
          (select d.problem
             from health h,
                  webhooks.wake_up_diagnosis(h.wake_ups_configured, h.scheduler_running, h.pg_net_worker_up,
                                             interval '5 minutes', h.oldest_due_at) d),
          'dispatch_health''s problem is the diagnosis of what it observed, a request waiting 5 minutes included');
grant select on health to authenticated;

select pg_temp.act_as('a_admin');
select is((select problem from webhooks.wake_up_problem()), (select problem from health),
          'a tenant admin sees the same problem');
select is((select wake_up_fix from public.webhook_endpoint_health where endpoint_id = :'ep'), (select fix from health),
          'and the endpoint health view (Studio) carries its fix');

select pg_temp.act_as_postgres();
-- Every queued request goes, not only this file's: the scheduler may queue a wake-up of its own
-- meanwhile (a project whose wake-ups nobody answers is asked again every few seconds).
delete from net.http_request_queue;
select webhooks.watch_pg_net_queue();
select is((select oldest_unsent_waiting from webhooks.dispatch_health()), null, 'once the queue drains, nothing waits');

select * from finish();
rollback;
