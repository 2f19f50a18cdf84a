-- =============================================================================================
-- A stopping drain waits only for the transactions that could have counted on it (issue 6).
--
-- To stop, a drain clears its announcement (stop_draining), waits until every transaction that
-- may have read the announcement and skipped its wake-up has ended, and claims once more. It
-- waited by polling for the wake lock in exclusive mode. Under a steady stream of writers some
-- transaction nearly always holds that lock in shared mode (each from its insert to its commit),
-- so the poll starved: in the latency benchmark (200 single-job transactions per second in four
-- organizations) drains spent 1.6–1.9 s in await_skipped_wake_ups, claiming nothing, and the
-- commit → receiver p50 rose to 2.2 s.
--
-- Only the transactions holding the wake lock when the announcement was cleared can have read it:
-- a writer takes the lock before it reads, and one that reads later sees the cleared state and
-- wakes a dispatcher itself. So the drain now notes those holders (pg_locks) and waits for them
-- alone to end; writers that come later never delay it, and it never blocks one.
-- =============================================================================================

-- =============================================================================================
-- Functions
-- =============================================================================================

create or replace function webhooks.await_skipped_wake_ups(p_timeout_ms integer default 5000)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_deadline timestamptz := clock_timestamp() + make_interval(secs => p_timeout_ms / 1000.0);
  v_key bigint := webhooks.wake_lock_key();
  v_waiting text[];
begin
  loop
    -- The holders now, the first time; then those of them still holding it. (pg_locks shows a
    -- bigint advisory key as two 32-bit halves.)
    v_waiting := array(
      select l.virtualtransaction
        from pg_catalog.pg_locks l
       where l.locktype = 'advisory'
         and l.classid = (v_key >> 32)::oid
         and l.objid = (v_key & 4294967295)::oid
         and l.objsubid = 1
         and l.granted
         and l.pid <> pg_catalog.pg_backend_pid()
         and (v_waiting is null or l.virtualtransaction = any (v_waiting))
    );
    exit when cardinality(v_waiting) = 0 or clock_timestamp() >= v_deadline;
    perform pg_catalog.pg_sleep(0.002);
  end loop;
  return cardinality(v_waiting) = 0;
end
$$;
comment on function webhooks.await_skipped_wake_ups(integer) is
  'Waits (at most p_timeout_ms) for the transactions that held the wake lock when called; true once all have ended.';
comment on function webhooks.wake_lock_key() is
  'Held shared by a transaction from before it reads the heartbeat and wake_requests until it ends; a stopping drain waits for the holders it finds (await_skipped_wake_ups).';
