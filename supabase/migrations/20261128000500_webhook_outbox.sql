-- =============================================================================================
-- Webhook outbox (docs/webhooks.md): endpoints registered by an organization's admins, the events its business
-- changes produce, one delivery per subscribed endpoint, and one attempt row per HTTP request.
-- Everything lives in schema `webhooks`, which PostgREST does not expose; tenant admins read it
-- through the views in 20261128000800_webhook_views.sql.
--
-- A business change writes one row into webhooks.outbox, in its own transaction
-- (20261128000600_webhook_events.sql), so a rollback emits nothing and a commit loses nothing:
-- every table here is logged. That row is all the writer pays for. The dispatcher then fans the
-- committed rows out (webhooks.fan_out, 20261128000700_webhook_dispatch.sql): it renders each
-- into its event, with the exact envelope receivers get, and creates one delivery per endpoint of
-- the organization subscribed to its type as the subscriptions stood for the statement that wrote
-- the row: every change to who gets what is kept as a version (webhooks.subscriptions), and the
-- fan-out takes, per endpoint, the latest version visible in the row's snapshot. So neither side
-- locks anything the other holds: no endpoint change waits for a writer in progress, however long
-- its transaction, and no writer waits for an endpoint change. Claims, attempts, backoff and
-- wake-ups are in 20261128000700_webhook_dispatch.sql as well.
--
-- Signing secrets are stored only in Vault; an endpoint holds the Vault id of its current secret,
-- and replaced_secrets those of the secrets it replaced that still sign (for settings.secret_overlap
-- after each replacement, however many rotations happen within it).
-- =============================================================================================

create schema webhooks;
comment on schema webhooks is 'Transactional outbox and delivery state for tenant webhooks. Not exposed through the API.';
revoke all on schema webhooks from public;

-- =============================================================================================
-- Types
-- =============================================================================================

create type webhooks.delivery_status as enum ('pending', 'sending', 'succeeded', 'failed', 'exhausted');
comment on type webhooks.delivery_status is
  'pending: waiting for its first or next attempt; sending: claimed by a dispatcher under a lease; '
  'succeeded: a 2xx arrived; failed: given up early (the endpoint was disabled); '
  'exhausted: still failing 24 h after the first attempt.';

-- =============================================================================================
-- Functions needed by the tables
-- =============================================================================================

-- Event ids: evt_ + 12 hex digits of Unix milliseconds + 20 random hex digits. Time-ordered, so
-- the primary key grows at its right edge instead of splitting pages all over (measurably faster
-- inserts than random ids), and ids sort by creation for cursor pagination.
create function webhooks.new_event_id()
returns text
language sql volatile
set search_path = ''
as $$
  select 'evt_'
      || lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0')
      || encode(extensions.gen_random_bytes(10), 'hex')
$$;

-- =============================================================================================
-- Tables
-- =============================================================================================

-- One row of operator settings. The defaults are the production ones; the local stack turns
-- allow_loopback_endpoints on (local/bootstrap/90-local-platform.sql).
create table webhooks.settings (
  singleton boolean primary key default true,
  retention interval not null default '30 days',
  delivery_window interval not null default '24 hours',
  auto_disable_after interval not null default '72 hours',
  retry_after_cap interval not null default '1 hour',
  secret_overlap interval not null default '24 hours',
  endpoint_concurrency integer not null default 32,
  dispatch_paused boolean not null default false,
  cron_history_retention interval not null default '7 days',
  allow_loopback_endpoints boolean not null default false,
  constraint settings_singleton check (singleton),
  constraint settings_retention_positive check (retention > interval '0'),
  constraint settings_delivery_window_positive check (delivery_window > interval '0'),
  constraint settings_auto_disable_after_positive check (auto_disable_after > interval '0'),
  constraint settings_retry_after_cap_positive check (retry_after_cap >= interval '1 second'),
  constraint settings_secret_overlap_positive check (secret_overlap >= interval '0'),
  constraint settings_endpoint_concurrency_range check (endpoint_concurrency between 1 and 1000),
  constraint settings_cron_history_retention_positive check (cron_history_retention > interval '0')
);
comment on table webhooks.settings is 'Operator settings for webhook delivery (one row).';
comment on column webhooks.settings.retention is 'Events and attempts older than this are purged daily.';
comment on column webhooks.settings.delivery_window is 'A delivery still failing this long after its first attempt is exhausted.';
comment on column webhooks.settings.auto_disable_after is 'An endpoint failing without a single success for this long is disabled.';
comment on column webhooks.settings.retry_after_cap is 'The longest Retry-After a receiver can ask for.';
comment on column webhooks.settings.secret_overlap is 'How long a replaced secret keeps signing after the rotation that replaced it.';
comment on column webhooks.settings.cron_history_retention is 'pg_cron run history (cron.job_run_details, every job) older than this is purged daily.';
comment on column webhooks.settings.endpoint_concurrency is
  'Requests in flight to one endpoint, all dispatchers together: a slow endpoint holds at most this many.';
comment on column webhooks.settings.dispatch_paused is
  'The scheduler stops waking webhook-dispatch: deliveries wait (an operator''s explicit dispatch request still drains).';
comment on column webhooks.settings.allow_loopback_endpoints is 'Local development only: accept http(s) endpoints on loopback addresses.';
insert into webhooks.settings default values;

-- The event catalog. The payload of each type is defined by its zod schema
-- (supabase/functions/_shared/events.ts); tests/event_catalog_test.ts keeps the two lists equal.
create table webhooks.event_types (
  name text primary key,
  description text not null,
  constraint event_types_name_format check (name ~ '^[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*$')
);
comment on table webhooks.event_types is 'The event types endpoints can subscribe to.';
insert into webhooks.event_types (name, description) values
  ('client.created', 'A client was created.'),
  ('client.updated', 'A client changed (name, email, phone, notes); never sent for a change that leaves them all as they were.'),
  ('client.deleted', 'A client was deleted; the payload is its last state.'),
  ('property.created', 'A property was created.'),
  ('property.updated', 'A property changed (client_id, address1, address2, city, region, postal_code, country, lat, lng, geocoded_at, geocode_source); never sent for a change that leaves them all as they were.'),
  ('property.deleted', 'A property was deleted; the payload is its last state.'),
  ('job.created', 'A job was created.'),
  ('job.updated', 'A job''s title, description, status, property, client, assignee or schedule changed; never sent for a change that leaves them all as they were.'),
  ('job.deleted', 'A job was deleted; the payload is its last state.'),
  ('job.completed', 'A job''s status became completed. Sent after the job.updated of the same change.'),
  ('job.cancelled', 'A job''s status became cancelled. Sent after the job.updated of the same change.'),
  ('estimate.created', 'An estimate was created.'),
  ('estimate.updated', 'An estimate changed (estimate_no, job_id, client_id, total, status); never sent for a change that leaves them all as they were.'),
  ('estimate.deleted', 'An estimate was deleted; the payload is its last state.'),
  ('estimate.sent', 'An estimate''s status became sent. Sent after the estimate.updated of the same change.'),
  ('estimate.accepted', 'An estimate''s status became accepted. Sent after the estimate.updated of the same change.'),
  ('estimate.declined', 'An estimate''s status became declined. Sent after the estimate.updated of the same change.'),
  ('invoice.created', 'An invoice was created.'),
  ('invoice.updated', 'An invoice changed (job_id, estimate_id, client_id, total, amount_paid, status, issued_at, due_at, paid_at); never sent for a change that leaves them all as they were.'),
  ('invoice.deleted', 'An invoice was deleted; the payload is its last state.'),
  ('invoice.issued', 'An invoice went from draft to open. Sent after the invoice.updated of the same change.'),
  ('invoice.voided', 'An invoice''s status became void. Sent after the invoice.updated of the same change.'),
  ('invoice.paid', 'An invoice became paid. Sent after the invoice.updated of the same change.'),
  ('payment.received', 'A payment was recorded against an invoice.'),
  ('inspection.created', 'An inspection was created.'),
  ('inspection.updated', 'An inspection changed (job_id, status, submitted_at, answers); never sent for a change that leaves them all as they were.'),
  ('inspection.deleted', 'An inspection was deleted; the payload is its last state.'),
  ('inspection.submitted', 'An inspection was submitted.'),
  ('endpoint.disabled', 'One of the organization''s webhook endpoints was disabled (sent to its other endpoints).'),
  ('delivery.exhausted', 'A delivery to one of the organization''s endpoints stopped being retried: its delivery window ended without a success (sent to its other endpoints).'),
  ('webhook.test', 'A test event an admin sent to one endpoint.');

create table webhooks.endpoints (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  url text not null,
  description text not null default '',
  event_types text[] not null default '{}',
  enabled boolean not null default true,
  disabled_reason text,
  disabled_cause text,
  disabled_at timestamptz,
  secret_id uuid not null,
  previous_secret_id uuid,
  previous_secret_expires_at timestamptz,
  failing_since timestamptz,
  subscription_version integer not null default 1,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint endpoints_url_length check (length(url) between 1 and 2048),
  constraint endpoints_description_length check (length(description) <= 500),
  constraint endpoints_event_types_count check (cardinality(event_types) <= 50),
  constraint endpoints_disabled_reason_iff_disabled check (enabled = (disabled_reason is null)),
  constraint endpoints_disabled_cause_iff_disabled check (enabled = (disabled_cause is null)),
  constraint endpoints_disabled_cause_known check (disabled_cause in ('gone', 'failing', 'admin')),
  constraint endpoints_previous_secret_paired check ((previous_secret_id is null) = (previous_secret_expires_at is null))
);
comment on table webhooks.endpoints is 'Where an organization wants its events delivered.';
comment on column webhooks.endpoints.event_types is 'Subscribed event types; empty means every type.';
comment on column webhooks.endpoints.secret_id is 'Vault id of the signing secret (whsec_…).';
comment on column webhooks.endpoints.previous_secret_id is
  'Vault id of the oldest replaced secret still signing (replaced_secrets); with secret_id it names the set of signing secrets.';
comment on column webhooks.endpoints.previous_secret_expires_at is
  'Until when replaced secrets sign: the end of the overlap of the last one replaced.';
comment on column webhooks.endpoints.disabled_cause is
  'Why it was disabled: gone (it answered 410), failing (settings.auto_disable_after without a success), admin.';
comment on column webhooks.endpoints.failing_since is 'Start of the current run of failed attempts; cleared by a success.';
comment on column webhooks.endpoints.subscription_version is
  'Numbers the endpoint''s changes to who gets what (enabled, event_types) in commit order: webhooks.subscriptions.';

-- Who got what, version by version: one row per endpoint creation and per change of enabled or
-- event_types, written by the change's own transaction (txid). The fan-out gives an event to an
-- endpoint by the latest version visible in the snapshot of the statement that wrote the event
-- (webhooks.outbox.snapshot), or, for a change made earlier in the writing transaction itself,
-- by the outbox ids it came after (after_outbox_id). Versions of one endpoint are numbered under
-- its row lock, so their order is their commit order. Superseded versions older than the
-- retention go with the daily purge.
create table webhooks.subscriptions (
  endpoint_id uuid not null references webhooks.endpoints (id) on delete cascade,
  version integer not null,
  txid xid8 not null default pg_current_xact_id(),
  after_outbox_id bigint not null,
  enabled boolean not null,
  event_types text[] not null,
  created_at timestamptz not null default now(),
  primary key (endpoint_id, version)
);
comment on table webhooks.subscriptions is
  'Every version of each endpoint''s subscription (enabled, event types), with the transaction that made it.';
comment on column webhooks.subscriptions.after_outbox_id is
  'The last outbox id taken when the version was written: the writing transaction''s own events above it see it.';

-- What business transactions write: one row per event, as cheap as a row can be (job inserts keep
-- about the throughput of a bare one-row trigger; bench/RESULTS.md). `data` is the event's body
-- before rendering: for resource events the table row as the trigger saw it (to_jsonb; before and
-- after for updates and transitions), which webhooks.render_event formats; for the others the
-- finished body. The primary key is the fan-out order: txid is the writing transaction's id, so
-- rows of one transaction stay together. A resource's events are fanned out in sequence order
-- (webhooks.fan_out holds back an event whose predecessor it has not fanned out yet).
-- webhooks.fan_out deletes the rows it has turned into events, so the table holds only what is
-- waiting.
create table webhooks.outbox (
  txid xid8 not null default pg_current_xact_id(),
  id bigint generated always as identity,
  org_id uuid not null,
  event_type text not null,
  data jsonb not null,
  resource_id uuid,
  sequence bigint,
  created_at timestamptz not null default now(),
  -- The writing statement's snapshot: which endpoint changes had committed when the event was
  -- written (webhooks.subscriptions). Free to take, and 24 bytes plus 8 per transaction then running.
  snapshot pg_snapshot not null default pg_current_snapshot(),
  primary key (txid, id),
  constraint outbox_sequence_iff_resource check ((resource_id is null) = (sequence is null))
);
comment on table webhooks.outbox is
  'Events committed by business transactions and not yet fanned out (webhooks.fan_out renders and deletes them).';
comment on column webhooks.outbox.created_at is 'The writing transaction''s time: the event''s timestamp.';
comment on column webhooks.outbox.resource_id is 'The row the event is about (client, property, job, …), or null for other events.';
comment on column webhooks.outbox.sequence is 'The event''s number among the resource''s events: 1, 2, 3 … in commit order.';
comment on column webhooks.outbox.snapshot is
  'The snapshot of the statement that wrote the row: the subscriptions it goes by.';

-- Every secret an endpoint's rotations replaced while it still signs: each for
-- settings.secret_overlap after the rotation that replaced it, so a receiver still on any of them
-- keeps verifying, however many rotations happen within the overlap (a double-clicked rotate
-- included). Deleting a row deletes its Vault secret (tg__delete_vault_secret).
create table webhooks.replaced_secrets (
  secret_id uuid primary key,
  endpoint_id uuid not null references webhooks.endpoints (id) on delete cascade,
  replaced_at timestamptz not null default clock_timestamp(),
  signs_until timestamptz not null,
  constraint replaced_secrets_signs_after_replacement check (signs_until >= replaced_at)
);
comment on table webhooks.replaced_secrets is 'Secrets replaced by a rotation that still sign until signs_until (Vault ids).';

create table webhooks.events (
  id text primary key default webhooks.new_event_id(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  -- No foreign key to event_types: every event is written by this schema's own functions with a
  -- literal type (pgTAP checks each against the catalog), and the key cost every writer a check
  -- query and a KEY SHARE lock on one catalog row shared by all organizations.
  event_type text not null,
  payload jsonb not null,
  resource_type text,
  resource_id uuid,
  sequence bigint,
  feed_position bigint,
  created_at timestamptz not null default now(),
  constraint events_id_format check (id ~ '^evt_[0-9a-f]{32}$'),
  constraint events_payload_object check (jsonb_typeof(payload) = 'object'),
  constraint events_resource_complete check ((resource_id is null) = (resource_type is null)
                                             and (resource_id is null) = (sequence is null))
);
comment on table webhooks.events is 'Every event, with the exact JSON envelope receivers get (rendered from webhooks.outbox).';
comment on column webhooks.events.resource_type is 'client, property, job, estimate, invoice, payment or inspection; null for other events.';
comment on column webhooks.events.sequence is 'The event''s number among its resource''s events: 1, 2, 3 … in commit order, without gaps.';
comment on column webhooks.events.feed_position is
  'Position in the organization''s event feed (public.webhook_events), increasing in the order events become '
  'visible: a reader that has seen a position has seen every smaller one. Null for test events, which are not in the feed.';

-- Feed positions: taken by the fan-out, one fan-out at a time, each committing before the next
-- starts, so positions become visible in increasing order.
create sequence webhooks.events_feed_position_seq as bigint;

create table webhooks.deliveries (
  id bigint generated always as identity primary key,
  -- No foreign key to organizations: a delivery goes with its event or its endpoint, both of the
  -- same organization.
  org_id uuid not null,
  event_id text not null references webhooks.events (id) on delete cascade,
  endpoint_id uuid not null references webhooks.endpoints (id) on delete cascade,
  -- The event's resource and sequence number: deliveries of one resource to one endpoint go out
  -- in sequence order (webhooks.claim_due_deliveries).
  resource_id uuid,
  sequence bigint,
  -- Pending and waiting for an earlier delivery of its resource (next_attempt_at is then only when
  -- to look again): the end of that delivery makes it due at once (webhooks.finish_deliveries).
  parked boolean not null default false,
  status webhooks.delivery_status not null default 'pending',
  attempt_count integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  first_attempt_at timestamptz,
  last_attempt_at timestamptz,
  last_response_status integer,
  last_error text,
  lease_token uuid,
  lease_expires_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  constraint deliveries_event_id_endpoint_id_key unique (event_id, endpoint_id),
  constraint deliveries_attempt_count_not_negative check (attempt_count >= 0),
  constraint deliveries_lease_iff_sending check ((status = 'sending') = (lease_token is not null and lease_expires_at is not null)),
  constraint deliveries_completed_iff_final check ((status in ('succeeded', 'failed', 'exhausted')) = (completed_at is not null))
);
comment on table webhooks.deliveries is 'One event for one endpoint, from fan-out to success or giving up.';
comment on column webhooks.deliveries.attempt_count is 'Attempts made so far; the next attempt carries it as X-Retry-Count.';
comment on column webhooks.deliveries.lease_token is 'Set while a dispatcher holds the delivery; only that dispatcher may record its outcome.';

-- Only the key to the delivery: record_attempts, the only writer, copies org_id and endpoint_id
-- from it, and an attempt goes when its delivery goes (measured: two more keys cost about 20 µs
-- per recorded attempt).
create table webhooks.attempts (
  id bigint generated always as identity primary key,
  org_id uuid not null,
  delivery_id bigint not null references webhooks.deliveries (id) on delete cascade,
  endpoint_id uuid not null,
  retry_count integer not null,
  started_at timestamptz not null,
  duration_ms integer not null,
  response_status integer,
  response_excerpt text,
  error text,
  payload_sha256 text not null,
  -- false for an attempt that got no answer at all (refused, timed out), not null.
  succeeded boolean generated always as (coalesce(response_status between 200 and 299, false)) stored,
  constraint attempts_duration_not_negative check (duration_ms >= 0),
  constraint attempts_response_excerpt_1kib check (octet_length(response_excerpt) <= 1024),
  constraint attempts_error_length check (length(error) <= 1000),
  constraint attempts_payload_sha256_hex check (payload_sha256 ~ '^[0-9a-f]{64}$'),
  constraint attempts_outcome_present check (response_status is not null or error is not null)
);
comment on table webhooks.attempts is 'One HTTP request to an endpoint and what came back.';
comment on column webhooks.attempts.retry_count is 'The X-Retry-Count header sent: 0 for the first attempt.';

-- =============================================================================================
-- Indexes
-- =============================================================================================

create index endpoints_org_id_idx on webhooks.endpoints (org_id);
create index endpoints_created_by_idx on webhooks.endpoints (created_by);
-- The daily purge looks for superseded versions by age.
create index subscriptions_created_at_idx on webhooks.subscriptions (created_at);
create index replaced_secrets_endpoint_id_idx on webhooks.replaced_secrets (endpoint_id, signs_until);
create index replaced_secrets_signs_until_idx on webhooks.replaced_secrets (signs_until);
-- Retention scans by age; rows arrive in time order, so a BRIN index serves it at almost no
-- insert cost.
create index events_created_at_idx on webhooks.events using brin (created_at);
-- Partial indexes keep every scan of the queue to the rows that can be due, however many finished
-- deliveries the table holds: the claim walks the endpoints with pending work and takes each one's
-- oldest due rows (endpoint_id, next_attempt_at), counts each endpoint's requests in flight and
-- finds expired leases (endpoint_id, lease_expires_at); the scheduler asks when the next retry is
-- due (next_attempt_at).
create index deliveries_due_idx on webhooks.deliveries (next_attempt_at) where status = 'pending';
create index deliveries_endpoint_id_next_attempt_at_idx on webhooks.deliveries (endpoint_id, next_attempt_at)
  where status = 'pending';
create index deliveries_endpoint_id_lease_expires_at_idx on webhooks.deliveries (endpoint_id, lease_expires_at)
  where status = 'sending';
create index deliveries_endpoint_id_status_idx on webhooks.deliveries (endpoint_id, status);
-- Per resource and endpoint, a delivery waits for the unfinished ones with a lower sequence
-- number: the claim looks for them, and finishing a delivery releases the next.
create index deliveries_endpoint_id_resource_id_sequence_idx on webhooks.deliveries (endpoint_id, resource_id, sequence)
  where status in ('pending', 'sending') and resource_id is not null;
-- Usually empty: recording a batch of outcomes asks whether anything is parked at all before it
-- looks for successors to release.
create index deliveries_parked_idx on webhooks.deliveries (endpoint_id, resource_id) where parked;
-- The feed: an organization's events after a position (positions are unique by construction: one
-- sequence, taken by one fan-out at a time); a resource's history by sequence number.
create index events_org_id_feed_position_idx on webhooks.events (org_id, feed_position) where feed_position is not null;
create index events_resource_id_sequence_idx on webhooks.events (resource_id, sequence) where resource_id is not null;
create index attempts_delivery_id_idx on webhooks.attempts (delivery_id);
create index attempts_endpoint_id_started_at_idx on webhooks.attempts (endpoint_id, started_at desc);
create index attempts_org_id_started_at_idx on webhooks.attempts (org_id, started_at desc);
create index attempts_started_at_idx on webhooks.attempts using brin (started_at);

-- Deliveries are a queue: every row is inserted, updated two or three times and finished within
-- seconds. With the default thresholds (20 % of the table) dead entries pile up in the due index
-- between vacuums and every claim wades through them: on the local stack, burst deliveries fell
-- from about 7,500 to 5,700 per second until a manual VACUUM restored them. Vacuum it early.
alter table webhooks.deliveries set (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_insert_scale_factor = 0.01,
  autovacuum_analyze_scale_factor = 0.01
);
-- The outbox is a queue too, and an empty one most of the time: every row is deleted within
-- milliseconds of its commit.
alter table webhooks.outbox set (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_insert_scale_factor = 0.01,
  autovacuum_analyze_scale_factor = 0.01
);

-- =============================================================================================
-- Functions: destination checks
-- =============================================================================================

-- The address ranges destinations are judged by (see supabase/functions/_shared/ssrf.ts, whose
-- ADDRESS_RANGES has the same rows; tests/ssrf_test.ts compares them):
--   refused         never contacted (loopback only with settings.allow_loopback_endpoints);
--   ipv4_embedding  IPv6 ranges carrying an IPv4 address in their last 32 bits, judged as it;
--   ipv6_unicast    the only IPv6 range that may be contacted at all: outside it are only special
--                   or unassigned blocks (SIIT, local-use NAT64, site-local, …) that a translator
--                   inside the network could carry to an internal host.
-- Sources: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) and RFC 6598.
create function webhooks.address_ranges()
returns table (cidr cidr, label text, kind text)
language sql immutable
set search_path = ''
as $$
  select r.cidr::cidr, r.label, r.kind
    from (values
      ('127.0.0.0/8', 'loopback', 'refused'), ('::1/128', 'loopback', 'refused'),
      ('0.0.0.0/8', '"this network"', 'refused'), ('::/128', 'unspecified', 'refused'),
      ('10.0.0.0/8', 'private', 'refused'), ('172.16.0.0/12', 'private', 'refused'),
      ('192.168.0.0/16', 'private', 'refused'), ('fc00::/7', 'private (unique local)', 'refused'),
      ('100.64.0.0/10', 'carrier-grade NAT', 'refused'),
      ('169.254.0.0/16', 'link-local', 'refused'), ('fe80::/10', 'link-local', 'refused'),
      ('192.0.0.0/24', 'IETF protocol assignments', 'refused'),
      ('192.0.2.0/24', 'documentation', 'refused'), ('198.51.100.0/24', 'documentation', 'refused'),
      ('203.0.113.0/24', 'documentation', 'refused'), ('2001:db8::/32', 'documentation', 'refused'),
      ('3fff::/20', 'documentation', 'refused'),
      ('198.18.0.0/15', 'benchmarking', 'refused'),
      ('224.0.0.0/4', 'multicast', 'refused'), ('ff00::/8', 'multicast', 'refused'),
      ('255.255.255.255/32', 'broadcast', 'refused'), ('240.0.0.0/4', 'reserved', 'refused'),
      ('100::/64', 'discard-only', 'refused'), ('2001::/23', 'IETF protocol assignments', 'refused'),
      ('2002::/16', '6to4 relay', 'refused'),
      ('::ffff:0:0/96', 'IPv4-mapped', 'ipv4_embedding'), ('64:ff9b::/96', 'NAT64', 'ipv4_embedding'),
      ('::/96', 'IPv4-compatible', 'ipv4_embedding'),
      ('2000::/3', 'global unicast', 'ipv6_unicast')
    ) as r (cidr, label, kind)
$$;
comment on function webhooks.address_ranges() is
  'The address ranges webhook destinations are judged by: refused, IPv4-embedding and IPv6 unicast.';

-- The host of an endpoint URL as registration reads it (lowercased, without brackets or a
-- trailing dot), or null when the URL is not in a form every reader reads alike: printable ASCII
-- without spaces or backslashes, `scheme://host[:port]` with a host of letters, digits, dots and
-- hyphens or a bracketed IPv6 literal, and a port up to 65535. A WHATWG URL parser (fetch's)
-- drops tabs, reads a backslash as a slash, maps full-width digits and ideographic full stops to
-- ASCII and decodes a percent-encoded host; such URLs are refused here instead of read another
-- way, so the host checked is the host the sender dials.
create function webhooks.endpoint_url_host(p_url text)
returns text
language sql immutable
set search_path = ''
as $$
  select lower(rtrim(coalesce(m[1], m[2]), '.'))
    from (select regexp_match(p_url, '^[A-Za-z][A-Za-z0-9+.-]*://(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::([0-9]{1,5}))?(?:[/?#]|$)') as m) parsed
   where p_url ~ '^[!-~]*$'
     and position('\' in p_url) = 0
     and coalesce(m[3]::integer, 0) <= 65535
$$;
comment on function webhooks.endpoint_url_host(text) is
  'The host registration checks in an endpoint URL, or null when the URL is not in the one form every URL parser reads alike.';

-- Why an endpoint URL is refused, or null when it is acceptable. Registration cannot resolve DNS,
-- so this judges the URL's form and literal addresses; the dispatcher checks every resolved
-- address again before each request, and connects only to those it checked.
create function webhooks.endpoint_url_problem(p_url text, p_allow_loopback boolean)
returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  v_parts text[];
  v_scheme text;
  v_host text;
  v_address inet;
  v_loopback boolean;
  v_range record;
begin
  if p_url is null or length(p_url) > 2048 then
    return 'the URL must be at most 2048 characters';
  end if;
  if p_url !~ '^[!-~]*$' then
    return 'the URL must be printable ASCII without spaces (percent-encode the path, write an '
        || 'internationalized host name in its xn-- form)';
  end if;
  if position('\' in p_url) > 0 then
    return 'the URL must not contain a backslash';
  end if;
  v_parts := regexp_match(p_url, '^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([/?#].*)?$');
  if v_parts is null then
    return 'the URL must be absolute, like https://example.com/webhooks';
  end if;
  v_scheme := lower(v_parts[1]);
  if v_scheme not in ('http', 'https') then
    return 'the URL must use https';
  end if;
  if position('@' in v_parts[2]) > 0 then
    return 'the URL must not contain credentials';
  end if;
  v_host := webhooks.endpoint_url_host(p_url);
  if v_host is null or v_host = '' then
    return 'the URL has no valid host';
  end if;

  -- URL parsers read a host whose last label is numeric (2130706433, 0x7f.1, 127.1, 0177.0.0.1)
  -- as an IPv4 address; only the canonical four decimal octets are accepted, so what is checked
  -- here is the address that will be dialled.
  if position(':' in v_host) = 0
     and v_host ~ '(^|\.)(0x[0-9a-f]*|[0-9]+)$'
     and v_host !~ '^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$' then
    return 'numeric hosts must be written as four decimal octets';
  end if;

  begin
    v_address := v_host::inet;
  exception when invalid_text_representation then
    v_address := null;
  end;
  if v_address is null and position(':' in v_host) > 0 then
    return 'the URL has no valid host';
  end if;
  if v_address is not null and masklen(v_address) <> (case family(v_address) when 4 then 32 else 128 end) then
    return 'the URL has no valid host';
  end if;

  if v_address is null then
    v_loopback := v_host = 'localhost' or v_host like '%.localhost';
    if v_loopback and not p_allow_loopback then
      return format('%s is a loopback host', v_host);
    end if;
    if v_scheme = 'http' and not v_loopback then
      return 'the URL must use https';
    end if;
    return null;
  end if;

  -- An IPv4 address inside an IPv6 one (mapped, compatible, NAT64) is judged as that IPv4 address.
  if family(v_address) = 6
     and exists (select from webhooks.address_ranges() r where r.kind = 'ipv4_embedding' and v_address <<= r.cidr)
     and v_address not in ('::'::inet, '::1'::inet) then
    v_address := '0.0.0.0'::inet + (v_address - network(set_masklen(v_address, 96)));
  end if;

  for v_range in
    select r.cidr, r.label from webhooks.address_ranges() r where r.kind = 'refused'
  loop
    if v_address <<= v_range.cidr then
      if v_range.label = 'loopback' and p_allow_loopback then
        return null;
      end if;
      return format('%s is in a %s range (%s)', host(v_address), v_range.label, v_range.cidr);
    end if;
  end loop;
  if family(v_address) = 6
     and not exists (select from webhooks.address_ranges() r where r.kind = 'ipv6_unicast' and v_address <<= r.cidr) then
    return format('%s is outside the global unicast range (2000::/3)', host(v_address));
  end if;
  if v_scheme = 'http' then
    return 'the URL must use https';
  end if;
  return null;
end
$$;
comment on function webhooks.endpoint_url_problem(text, boolean) is
  'Why a webhook URL is refused (scheme, credentials, loopback/private/link-local/CGNAT/metadata literals), or null.';

-- =============================================================================================
-- Functions: triggers
-- =============================================================================================

create function webhooks.tg_endpoints__check_destination()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_problem text;
begin
  v_problem := webhooks.endpoint_url_problem(
    new.url, (select s.allow_loopback_endpoints from webhooks.settings s)
  );
  if v_problem is not null then
    raise exception 'endpoint URL refused: %', v_problem using errcode = '22023', column = 'url';
  end if;
  return new;
end
$$;

create function webhooks.tg_endpoints__check_event_types()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_unknown text;
begin
  select t.name into v_unknown
    from unnest(new.event_types) as t (name)
   where not exists (select from webhooks.event_types e where e.name = t.name)
   limit 1;
  if v_unknown is not null then
    raise exception 'unknown event type: %', v_unknown using errcode = '22023', column = 'event_types';
  end if;
  new.event_types := array(select distinct t from unnest(new.event_types) as t order by t);
  return new;
end
$$;

-- Disabling an endpoint gives up on what it has queued; an admin can recover those deliveries
-- after fixing the receiver. Re-enabling clears the reason and the failure streak.
create function webhooks.tg_endpoints__track_enabled()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.enabled and not old.enabled then
    new.disabled_reason := null;
    new.disabled_cause := null;
    new.disabled_at := null;
    new.failing_since := null;
  elsif not new.enabled and old.enabled then
    new.disabled_reason := coalesce(new.disabled_reason, 'Disabled by an admin.');
    new.disabled_cause := coalesce(new.disabled_cause, 'admin');
    new.disabled_at := coalesce(new.disabled_at, now());
  end if;
  return new;
end
$$;

create function webhooks.tg_endpoints__fail_queued_deliveries()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  -- Never waits for a delivery a dispatcher holds right now (a claim parking it, or releasing it
  -- after its predecessor's end): waiting here while that claim waited for a row this update had
  -- already locked was a deadlock. Those rows are failed by the minute job (run_every_minute), or
  -- recorded as endpoint_disabled if they were being sent.
  update webhooks.deliveries d
     set status = 'failed',
         completed_at = now(),
         last_error = 'The endpoint was disabled: ' || new.disabled_reason
   where d.id in (
           select x.id
             from webhooks.deliveries x
            where x.endpoint_id = new.id
              and x.status = 'pending'
              for update skip locked
         );
  return null;
end
$$;

-- An endpoint disabled (by an admin, a 410 or a failure streak) publishes endpoint.disabled, which
-- the fan-out gives to the organization's other endpoints subscribed to it: a tenant learns of a
-- broken integration without looking. (The audit log records it too: tg_endpoints__audit.)
create function webhooks.tg_endpoints__publish_disabled()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  perform webhooks.publish_event(new.org_id, 'endpoint.disabled', jsonb_build_object(
    'endpoint', jsonb_build_object(
      'id', new.id,
      'url', new.url,
      'description', new.description,
      'event_types', to_jsonb(new.event_types),
      'disabled_at', webhooks.iso_time(new.disabled_at),
      'disabled_reason', new.disabled_reason
    ),
    'reason', new.disabled_cause,
    'disabled_by', case when new.disabled_cause = 'admin' then auth.uid() end
  ));
  return null;
end
$$;

-- Subscriptions are evaluated when the dispatcher fans an event out, and must give the answer they
-- gave to the statement that wrote the event: an endpoint created or subscribed after it does not
-- get it, one disabled after it does (and fails it, as it fails what it had queued). So a change
-- to who gets what (a new endpoint, its event types, enabling or disabling it) takes the next
-- version number under the row lock it holds anyway (before the row is written) and records the
-- version (after), in its own transaction: nothing waits for the organization's writers.
-- Deleting an endpoint needs no version: the fan-out skips an endpoint being deleted, and its
-- deliveries go with it.
create function webhooks.tg_endpoints__advance_subscription_version()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.subscription_version := old.subscription_version + 1;
  return new;
end
$$;

create function webhooks.tg_endpoints__record_subscription()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into webhooks.subscriptions (endpoint_id, version, after_outbox_id, enabled, event_types)
  select new.id, new.subscription_version, case when q.is_called then q.last_value else 0 end,
         new.enabled, new.event_types
    from webhooks.outbox_id_seq q;
  return null;
end
$$;

-- A deleted row's Vault secret (secret_id) goes with it: an endpoint's current secret, and a
-- replaced one whose overlap ended or whose endpoint was deleted (the cascade deletes its row).
create function webhooks.tg__delete_vault_secret()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  delete from vault.secrets s where s.id = old.secret_id;
  return null;
end
$$;

create function webhooks.tg_endpoints__set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger _100_protect_immutable_columns
  before update on webhooks.endpoints
  for each row execute function app_private.tg__protect_immutable_columns('id', 'org_id');
create trigger _200_check_destination
  before insert or update of url on webhooks.endpoints
  for each row execute function webhooks.tg_endpoints__check_destination();
create trigger _300_check_event_types
  before insert or update of event_types on webhooks.endpoints
  for each row execute function webhooks.tg_endpoints__check_event_types();
create trigger _400_track_enabled
  before update of enabled on webhooks.endpoints
  for each row execute function webhooks.tg_endpoints__track_enabled();
create trigger _900_set_updated_at
  before update on webhooks.endpoints
  for each row execute function webhooks.tg_endpoints__set_updated_at();
create trigger _450_advance_subscription_version
  before update of enabled, event_types on webhooks.endpoints
  for each row
  when (old.enabled is distinct from new.enabled or old.event_types is distinct from new.event_types)
  execute function webhooks.tg_endpoints__advance_subscription_version();
create trigger _450_record_subscription
  after insert on webhooks.endpoints
  for each row execute function webhooks.tg_endpoints__record_subscription();
create trigger _450_record_subscription_change
  after update of enabled, event_types on webhooks.endpoints
  for each row
  when (old.subscription_version is distinct from new.subscription_version)
  execute function webhooks.tg_endpoints__record_subscription();
create trigger _500_fail_queued_deliveries
  after update of enabled on webhooks.endpoints
  for each row when (old.enabled and not new.enabled)
  execute function webhooks.tg_endpoints__fail_queued_deliveries();
create trigger _800_publish_disabled
  after update of enabled on webhooks.endpoints
  for each row when (old.enabled and not new.enabled)
  execute function webhooks.tg_endpoints__publish_disabled();
create trigger _900_delete_secrets
  after delete on webhooks.endpoints
  for each row execute function webhooks.tg__delete_vault_secret();
create trigger _900_delete_secret
  after delete on webhooks.replaced_secrets
  for each row execute function webhooks.tg__delete_vault_secret();

-- =============================================================================================
-- Functions: publishing and endpoint management
-- =============================================================================================

-- Timestamps in payloads: UTC, ISO-8601, milliseconds, whatever the session's time zone.
create function webhooks.iso_time(p_time timestamptz)
returns text
language sql immutable
set search_path = ''
as $$
  select to_char(p_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;


-- The JSON envelope every receiver gets: id, event, api_version, timestamp (when the change was
-- committed, i.e. its transaction's time) and org_id, then the type's resource keys from p_data
-- (e.g. {"job": {...}}); see supabase/functions/_shared/events.ts.
create function webhooks.envelope(p_event_id text, p_event_type text, p_org_id uuid, p_data jsonb)
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_event_id,
    'event', p_event_type,
    'api_version', '2026-11-01',
    'timestamp', webhooks.iso_time(now()),
    'org_id', p_org_id
  ) || p_data
$$;

-- The id of the event an outbox row becomes: evt_, 12 hex digits of the row's Unix milliseconds
-- and its sequence number in 20, the same format and time order as webhooks.new_event_id, and
-- known before the fan-out.
create function webhooks.outbox_event_id(p_outbox_id bigint, p_created_at timestamptz)
returns text
language sql immutable
set search_path = ''
as $$
  select 'evt_' || lpad(to_hex((extract(epoch from p_created_at) * 1000)::bigint), 12, '0')
      || lpad(to_hex(p_outbox_id), 20, '0')
$$;

-- Publishes an event from SQL and returns its id. Without `p_endpoint_id` it goes through the
-- outbox like every business event (fanned out to the organization's subscribed endpoints after
-- commit); with it (test events) it is written as an event with one delivery, to that endpoint
-- alone, whatever it subscribes to. `p_data` is the finished body (e.g. {"test": {…}}).
create function webhooks.publish_event(
  p_org_id uuid,
  p_event_type text,
  p_data jsonb,
  p_endpoint_id uuid default null
)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  v_event_id text;
begin
  if p_endpoint_id is null then
    insert into webhooks.outbox (org_id, event_type, data)
    values (p_org_id, p_event_type, p_data)
    returning webhooks.outbox_event_id(id, created_at) into v_event_id;
    return v_event_id;
  end if;
  v_event_id := webhooks.new_event_id();
  insert into webhooks.events (id, org_id, event_type, payload)
  values (v_event_id, p_org_id, p_event_type, webhooks.envelope(v_event_id, p_event_type, p_org_id, p_data));
  insert into webhooks.deliveries (org_id, event_id, endpoint_id)
  select p_org_id, v_event_id, e.id
    from webhooks.endpoints e
   where e.id = p_endpoint_id
     and e.org_id = p_org_id
     and e.enabled;
  return v_event_id;
end
$$;
comment on function webhooks.publish_event(uuid, text, jsonb, uuid) is
  'Publishes an event in the current transaction (to the subscribed endpoints, or to one endpoint); returns its id.';

-- A fresh signing secret: whsec_ and the base64 of 32 random bytes (Standard Webhooks).
create function webhooks.new_signing_secret()
returns text
language sql volatile
set search_path = ''
as $$
  select 'whsec_' || encode(extensions.gen_random_bytes(32), 'base64')
$$;

-- Stores an endpoint's signing secret in Vault (a new entry per secret, so a rotation can keep
-- the previous one) and returns its Vault id.
create function webhooks.store_signing_secret(p_endpoint_id uuid, p_secret text)
returns uuid
language sql volatile security definer
set search_path = ''
as $$
  select vault.create_secret(p_secret, 'webhooks/endpoints/' || p_endpoint_id || '/' || gen_random_uuid(),
                             'Signing secret of webhook endpoint ' || p_endpoint_id)
$$;

-- The organization's owners and admins (or the platform) manage its endpoints; the check is the
-- one every organization-admin function uses (authz.require_org_admin).
create function webhooks.require_endpoint_admin(p_org_id uuid)
returns void
language sql stable
set search_path = ''
as $$
  select authz.require_org_admin(p_org_id, 'webhook endpoints')
$$;

-- The endpoint an owner or admin of its organization (or the platform) is about to change,
-- locked for the rest of the transaction.
create function webhooks.endpoint_for_admin(p_endpoint_id uuid)
returns webhooks.endpoints
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_endpoint webhooks.endpoints;
begin
  -- Not FOR UPDATE: a fan-out in progress holds KEY SHARE on the endpoints it creates deliveries
  -- for, and an admin's change never waits for a dispatcher.
  select e.* into v_endpoint from webhooks.endpoints e where e.id = p_endpoint_id for no key update;
  if not found then
    raise exception 'webhook endpoint not found' using errcode = 'P0002';
  end if;
  perform webhooks.require_endpoint_admin(v_endpoint.org_id);
  return v_endpoint;
end
$$;

-- Registers an endpoint and returns it with its signing secret, which is shown only here.
create function webhooks.create_endpoint(
  p_org_id uuid,
  p_url text,
  p_description text default '',
  p_event_types text[] default '{}'
)
returns table (endpoint_id uuid, signing_secret text)
language plpgsql security definer
set search_path = ''
as $$
declare
  v_endpoint_id uuid := gen_random_uuid();
  v_secret text := webhooks.new_signing_secret();
begin
  perform webhooks.require_endpoint_admin(p_org_id);
  insert into webhooks.endpoints (id, org_id, url, description, event_types, secret_id, created_by)
  values (
    v_endpoint_id, p_org_id, p_url, coalesce(p_description, ''), coalesce(p_event_types, '{}'),
    webhooks.store_signing_secret(v_endpoint_id, v_secret),
    auth.uid()
  );
  return query select v_endpoint_id, v_secret;
end
$$;
comment on function webhooks.create_endpoint(uuid, text, text, text[]) is
  'Registers a webhook endpoint for an organization (owners/admins) and returns its signing secret once.';

-- At most this many secrets sign an endpoint's deliveries at once (the current one and those
-- replaced within the overlap): every one adds a signature to every request's webhook-signature
-- header, so rotations beyond it wait until the oldest replaced secret's overlap ends.
create function webhooks.max_signing_secrets()
returns integer
language sql immutable
set search_path = ''
as $$
  select 10
$$;

-- Points the endpoint at its replaced secrets still signing: previous_secret_id the oldest of
-- them, previous_secret_expires_at the end of the last one's overlap (both null when none signs).
-- The dispatcher keeps an endpoint's decrypted secrets per (secret_id, previous_secret_id), so
-- that pair changes whenever the set of signing secrets does: a rotation changes secret_id, the
-- end of the oldest one's overlap changes previous_secret_id.
create function webhooks.refresh_replaced_secrets(p_endpoint_ids uuid[])
returns void
language sql volatile security definer
set search_path = ''
as $$
  update webhooks.endpoints e
     set previous_secret_id = signing.oldest_secret_id,
         previous_secret_expires_at = signing.last_signs_until
    from (
      select ids.id,
             (select r.secret_id from webhooks.replaced_secrets r
               where r.endpoint_id = ids.id and r.signs_until > now()
               order by r.signs_until, r.replaced_at limit 1) as oldest_secret_id,
             (select max(r.signs_until) from webhooks.replaced_secrets r
               where r.endpoint_id = ids.id and r.signs_until > now()) as last_signs_until
        from unnest(p_endpoint_ids) as ids (id)
    ) signing
   where e.id = signing.id
     and (e.previous_secret_id is distinct from signing.oldest_secret_id
          or e.previous_secret_expires_at is distinct from signing.last_signs_until)
$$;

-- Replaces an endpoint's secret and returns the new one (shown only here). The replaced secret
-- keeps signing alongside the others for settings.secret_overlap, however many rotations happen
-- within it; with max_signing_secrets() secrets signing already, the rotation is refused (55000)
-- until the oldest one's overlap ends.
create function webhooks.rotate_endpoint_secret(p_endpoint_id uuid)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  v_endpoint webhooks.endpoints := webhooks.endpoint_for_admin(p_endpoint_id);
  v_secret text := webhooks.new_signing_secret();
  v_signing integer;
  v_next_free timestamptz;
begin
  select count(*), min(r.signs_until) into v_signing, v_next_free
    from webhooks.replaced_secrets r
   where r.endpoint_id = p_endpoint_id
     and r.signs_until > now();
  if v_signing + 1 >= webhooks.max_signing_secrets() then
    raise exception using
      message = format('the endpoint already has %s secrets signing; rotate again after %s, when the oldest '
                       'replaced one stops', v_signing + 1, webhooks.iso_time(v_next_free)),
      errcode = '55000';
  end if;
  insert into webhooks.replaced_secrets (secret_id, endpoint_id, signs_until)
  select v_endpoint.secret_id, p_endpoint_id, now() + s.secret_overlap
    from webhooks.settings s;
  update webhooks.endpoints e
     set secret_id = webhooks.store_signing_secret(e.id, v_secret)
   where e.id = p_endpoint_id;
  -- A replaced secret past its overlap the minute job has not removed yet goes now.
  delete from webhooks.replaced_secrets r where r.endpoint_id = p_endpoint_id and r.signs_until <= now();
  perform webhooks.refresh_replaced_secrets(array[p_endpoint_id]);
  return v_secret;
end
$$;
comment on function webhooks.rotate_endpoint_secret(uuid) is
  'Gives an endpoint a new signing secret (returned once); each replaced one also signs for settings.secret_overlap.';

-- Minute job (webhooks.run_every_minute): replaced secrets past their overlap stop signing and
-- leave Vault. Returns how many endpoints' signing secrets changed.
create function webhooks.expire_replaced_secrets()
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_endpoint_ids uuid[];
begin
  with expired as (
    delete from webhooks.replaced_secrets r
     where r.signs_until <= now()
    returning r.endpoint_id
  )
  select array_agg(distinct x.endpoint_id) into v_endpoint_ids from expired x;
  -- An overlap cut short by hand (previous_secret_expires_at moved to the past) ends them all.
  with cut_short as (
    delete from webhooks.replaced_secrets r
     using webhooks.endpoints e
     where e.id = r.endpoint_id
       and (e.previous_secret_expires_at is null or e.previous_secret_expires_at <= now())
    returning r.endpoint_id
  )
  select coalesce(v_endpoint_ids, '{}') || coalesce(array_agg(distinct x.endpoint_id), '{}')
    into v_endpoint_ids from cut_short x;
  perform webhooks.refresh_replaced_secrets(v_endpoint_ids);
  return coalesce(cardinality(v_endpoint_ids), 0);
end
$$;
comment on function webhooks.expire_replaced_secrets() is
  'Minute job: deletes replaced signing secrets past their overlap (from Vault too).';

-- Sends a webhook.test event to one endpoint, whatever it subscribes to.
create function webhooks.send_test_event(p_endpoint_id uuid)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  v_endpoint webhooks.endpoints := webhooks.endpoint_for_admin(p_endpoint_id);
begin
  if not v_endpoint.enabled then
    raise exception 'the endpoint is disabled' using errcode = '55000';
  end if;
  return webhooks.publish_event(
    v_endpoint.org_id,
    'webhook.test',
    jsonb_build_object('test', jsonb_build_object(
      'endpoint_id', v_endpoint.id,
      'message', 'This is a test event from CJH.',
      'sent_by', auth.uid()
    )),
    v_endpoint.id
  );
end
$$;
comment on function webhooks.send_test_event(uuid) is 'Sends a webhook.test event to one endpoint; returns the event id.';

-- =============================================================================================
-- Row-level security: an organization's owners and admins read its webhook data; all changes go
-- through the functions above (or the platform).
-- =============================================================================================

alter table webhooks.settings enable row level security;
alter table webhooks.settings force row level security;
alter table webhooks.event_types enable row level security;
alter table webhooks.event_types force row level security;
alter table webhooks.endpoints enable row level security;
alter table webhooks.endpoints force row level security;
alter table webhooks.outbox enable row level security;
alter table webhooks.outbox force row level security;
alter table webhooks.events enable row level security;
alter table webhooks.events force row level security;
alter table webhooks.deliveries enable row level security;
alter table webhooks.deliveries force row level security;
alter table webhooks.attempts enable row level security;
alter table webhooks.attempts force row level security;
alter table webhooks.replaced_secrets enable row level security;
alter table webhooks.replaced_secrets force row level security;
alter table webhooks.subscriptions enable row level security;
alter table webhooks.subscriptions force row level security;

create policy "Event types are readable by everyone signed in"
  on webhooks.event_types for select to authenticated
  using (true);

create policy "Endpoints are visible to owners and admins"
  on webhooks.endpoints for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))));

create policy "Endpoints can be changed by owners and admins"
  on webhooks.endpoints for update to authenticated
  using (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))))
  with check (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))));

create policy "Endpoints can be deleted by owners and admins"
  on webhooks.endpoints for delete to authenticated
  using (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))));

-- Owners and admins read every event of their organization; anyone else in it (members, and
-- integrations through the feed, public.webhook_events) the events about the resources they may
-- read: a jobs:read integration job events only.
create policy "Events are visible to admins and to members who may read them"
  on webhooks.events for select to authenticated
  using (
    org_id = any (array(select authz.org_ids_with_role('owner', 'admin')))
    or (resource_type = 'job' and org_id = any (array(select authz.org_ids_with_scope('jobs:read'))))
    or (resource_type = 'client' and org_id = any (array(select authz.org_ids_with_scope('clients:read'))))
    or (resource_type = 'property' and org_id = any (array(select authz.org_ids_with_scope('properties:read'))))
    or (resource_type = 'estimate' and org_id = any (array(select authz.org_ids_with_scope('estimates:read'))))
    or (resource_type = 'invoice' and org_id = any (array(select authz.org_ids_with_scope('invoices:read'))))
    or (resource_type = 'payment' and org_id = any (array(select authz.org_ids_with_scope('payments:read'))))
    or (resource_type = 'inspection' and org_id = any (array(select authz.org_ids_with_scope('inspections:read'))))
  );

create policy "Deliveries are visible to owners and admins"
  on webhooks.deliveries for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))));

create policy "Attempts are visible to owners and admins"
  on webhooks.attempts for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))));

-- =============================================================================================
-- Grants
-- =============================================================================================

grant usage on schema webhooks to authenticated, service_role;
revoke all on all tables in schema webhooks from public, anon, authenticated, service_role;
revoke all on all sequences in schema webhooks from public, anon, authenticated, service_role;
revoke all on all functions in schema webhooks from public, anon, authenticated, service_role;

grant select on table webhooks.event_types, webhooks.events, webhooks.deliveries, webhooks.attempts to authenticated;
-- Not the Vault ids of the secrets: nothing a tenant reads leads to a secret.
grant select (id, org_id, url, description, event_types, enabled, disabled_reason, disabled_cause, disabled_at,
              previous_secret_expires_at, failing_since, created_by, created_at, updated_at)
  on table webhooks.endpoints to authenticated;
grant update (url, description, event_types, enabled) on table webhooks.endpoints to authenticated;
grant delete on table webhooks.endpoints to authenticated;

grant all on all tables in schema webhooks to service_role;
grant usage on all sequences in schema webhooks to service_role;

grant execute on function
  webhooks.create_endpoint(uuid, text, text, text[]),
  webhooks.rotate_endpoint_secret(uuid),
  webhooks.send_test_event(uuid),
  webhooks.endpoint_url_problem(text, boolean)
  to authenticated, service_role;
grant execute on function webhooks.require_endpoint_admin(uuid), webhooks.endpoint_for_admin(uuid)
  to authenticated, service_role;
grant execute on function webhooks.publish_event(uuid, text, jsonb, uuid) to service_role;
