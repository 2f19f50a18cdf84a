-- =============================================================================================
-- Recording attempts takes its locks in the same order as deleting an organization.
--
-- Deleting an organization locks its row, then (cascade) its deliveries. webhooks.record_attempts
-- updated the deliveries first and only then took the organization's key lock, for the attempts'
-- foreign key: the opposite order, so the two could deadlock. PostgreSQL then aborted one side,
-- and when that was the dispatcher, the whole batch (other tenants' deliveries included) waited
-- for its 60 s lease. Now the organizations of a batch are key-share locked first, in id order:
-- a concurrent delete either finishes first (and the batch finds its deliveries gone) or waits
-- for the batch to commit.
-- =============================================================================================

-- =============================================================================================
-- Functions
-- =============================================================================================

alter function webhooks.record_attempts(jsonb) rename to record_attempts_in_order;
comment on function webhooks.record_attempts_in_order(jsonb) is
  'The body of webhooks.record_attempts, called with the organizations already locked.';

create function webhooks.record_attempts(p_results jsonb)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  perform
    from public.organizations o
   where o.id in (
           select d.org_id
             from webhooks.deliveries d
            where d.id in (select (r ->> 'delivery_id')::bigint from jsonb_array_elements(p_results) as r)
         )
   order by o.id
     for key share of o;
  return webhooks.record_attempts_in_order(p_results);
end
$$;
comment on function webhooks.record_attempts(jsonb) is
  'Records a batch of attempt outcomes (lease holder only): attempts, retries, exhaustion, endpoint health.';

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on function webhooks.record_attempts(jsonb), webhooks.record_attempts_in_order(jsonb)
  from public, anon, authenticated, service_role;
grant execute on function webhooks.record_attempts(jsonb) to service_role;
