-- =============================================================================================
-- Fewer writes per event in the business transaction (issue 6, SPEC §7).
--
-- Every job insert writes an event and a delivery. Measured one transaction at a time (a
-- procedure committing each one-job insert, synchronous_commit off, dispatcher paused; see
-- bench/RESULTS.md): 108 µs with the outbox off, 220 µs on; with the four items below 211 µs.
-- Under pgbench (4 clients, 2 cores) postgres CPU per transaction went from about 480 to 464 µs.
-- None of them served a query or protected anything the rest of the schema does not:
--
-- * events.event_type → event_types: every event is written by this schema's own functions with
--   a literal type, and pgTAP checks each type against the catalog (10-webhook-events.sql). The
--   foreign key cost a check query and a KEY SHARE lock on one catalog row per event, a row that
--   every writing transaction in every organization locks (one MultiXact per concurrent writer).
--   Its index goes with it.
-- * deliveries.org_id → organizations: a delivery already goes when its event or its endpoint
--   goes, and both belong to the same organization (the fan-out joins them on org_id).
-- * events (org_id, created_at desc) and deliveries (org_id, created_at desc): the admin lists
--   page by (org_id, id desc) and filter created_at within that order (ids grow with time);
--   retention purges by the BRIN index on created_at.
-- =============================================================================================

-- =============================================================================================
-- Tables
-- =============================================================================================

alter table webhooks.events drop constraint events_event_type_fkey;
drop index webhooks.events_event_type_idx;
drop index webhooks.events_org_id_created_at_idx;

alter table webhooks.deliveries drop constraint deliveries_org_id_fkey;
drop index webhooks.deliveries_org_id_created_at_idx;
