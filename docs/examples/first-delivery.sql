-- The first verified delivery on a new project (docs/deploying.md, step 7): an organization of
-- its own, an endpoint subscribed to webhook.test at your receiver, and a test event to it.
-- Replace the receiver URL (https, public), then run:
--   npx supabase db query --linked -f docs/examples/first-delivery.sql
-- The answer holds the endpoint's signing secret, shown this once. Start the receiver with it:
--   CJH_WEBHOOK_SECRET=whsec_… node docs/examples/verify-node.mjs
-- It prints the event once its signature verifies; until the receiver answers 2xx the delivery
-- is retried (after about 5 s, 30 s, 2 min, …).
with deployment_check as (
  insert into public.organizations (name, slug)
  values ('Deployment check', 'deployment-check-' || to_char(clock_timestamp(), 'YYYYMMDDHH24MISSMS'))
  returning id
),
endpoint as (
  select e.endpoint_id, e.signing_secret
    from deployment_check o,
         webhooks.create_endpoint(o.id, 'https://receiver.example.com/cjh', 'first delivery', '{webhook.test}') e
)
select endpoint_id, signing_secret, webhooks.send_test_event(endpoint_id) as test_event_id
  from endpoint;
