-- =============================================================================================
-- Demo data for the local stack: two field-service companies with a user in every role.
-- Runs once after the migrations (`supabase db push --include-seed`, `npm run db:reset`) as
-- postgres, which bypasses RLS. Every id is fixed so tests, docs and curl examples can name them.
--
-- Id scheme: 00000000-0000-4000-a0TT-00000000OSSS, TT = kind, O = organization (1 Acme, 2 Brightside,
-- 9 none), SSS = sequence.   TT: 00 user, 01 organization, 02 client, 03 property, 04 job,
--                              05 estimate, 06 invoice, 07 payment, 08 inspection.
--
-- Organizations
--   00000000-0000-4000-a001-000000001000  Acme Plumbing        (slug acme-plumbing)
--   00000000-0000-4000-a001-000000002000  Brightside Electric  (slug brightside-electric)
--
-- Users (password for all: password123)
--   00000000-0000-4000-a000-000000001001  olivia.owner@acme-plumbing.test        Acme owner
--   00000000-0000-4000-a000-000000001002  adam.admin@acme-plumbing.test          Acme admin
--   00000000-0000-4000-a000-000000001003  mia.member@acme-plumbing.test          Acme member
--   00000000-0000-4000-a000-000000001004  dispatch-bot@acme-plumbing.test        Acme integration {jobs:read}
--   00000000-0000-4000-a000-000000001005  erp-sync@acme-plumbing.test            Acme integration {jobs:read, jobs:write,
--                                                                                clients:read, properties:read, invoices:read, payments:read}
--   00000000-0000-4000-a000-000000002001  bianca.owner@brightside-electric.test  Brightside owner
--   00000000-0000-4000-a000-000000002002  ben.admin@brightside-electric.test     Brightside admin
--   00000000-0000-4000-a000-000000002003  max.member@brightside-electric.test    Brightside member
--   00000000-0000-4000-a000-000000002004  crm-sync@brightside-electric.test      Brightside integration {jobs:read}
--   00000000-0000-4000-a000-000000009001  nora.nobody@example.test               in no organization
--
-- Numbers: job_no and invoice_no are assigned by triggers in insertion order (J-1…, INV-1001…).
-- Acme's INV-1001 is paid by two payments, INV-1002 is open and partly paid, INV-1003 open,
-- INV-1004 a draft; Brightside's INV-1001 is paid, INV-1002 open.
-- =============================================================================================

-- Users --------------------------------------------------------------------------------------
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at
)
select '00000000-0000-0000-0000-000000000000', u.id::uuid, 'authenticated', 'authenticated', u.email,
       extensions.crypt('password123', extensions.gen_salt('bf')), now(),
       '{"provider": "email", "providers": ["email"]}'::jsonb,
       jsonb_build_object('full_name', u.full_name), now(), now()
  from (values
    ('00000000-0000-4000-a000-000000001001', 'olivia.owner@acme-plumbing.test', 'Olivia Owens'),
    ('00000000-0000-4000-a000-000000001002', 'adam.admin@acme-plumbing.test', 'Adam Alvarez'),
    ('00000000-0000-4000-a000-000000001003', 'mia.member@acme-plumbing.test', 'Mia Moreno'),
    ('00000000-0000-4000-a000-000000001004', 'dispatch-bot@acme-plumbing.test', 'Dispatch board (integration)'),
    ('00000000-0000-4000-a000-000000001005', 'erp-sync@acme-plumbing.test', 'ERP sync (integration)'),
    ('00000000-0000-4000-a000-000000002001', 'bianca.owner@brightside-electric.test', 'Bianca Brooks'),
    ('00000000-0000-4000-a000-000000002002', 'ben.admin@brightside-electric.test', 'Ben Baptiste'),
    ('00000000-0000-4000-a000-000000002003', 'max.member@brightside-electric.test', 'Max Müller'),
    ('00000000-0000-4000-a000-000000002004', 'crm-sync@brightside-electric.test', 'CRM sync (integration)'),
    ('00000000-0000-4000-a000-000000009001', 'nora.nobody@example.test', 'Nora Nobody')
  ) as u (id, email, full_name);

-- Organizations and members --------------------------------------------------------------------
insert into public.organizations (id, name, slug) values
  ('00000000-0000-4000-a001-000000001000', 'Acme Plumbing', 'acme-plumbing'),
  ('00000000-0000-4000-a001-000000002000', 'Brightside Electric', 'brightside-electric');

insert into public.organization_members (org_id, user_id, role, scopes) values
  ('00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a000-000000001001', 'owner', '{}'),
  ('00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a000-000000001002', 'admin', '{}'),
  ('00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a000-000000001003', 'member', '{}'),
  ('00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a000-000000001004', 'integration', '{jobs:read}'),
  ('00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a000-000000001005', 'integration',
   '{jobs:read,jobs:write,clients:read,properties:read,invoices:read,payments:read}'),
  ('00000000-0000-4000-a001-000000002000', '00000000-0000-4000-a000-000000002001', 'owner', '{}'),
  ('00000000-0000-4000-a001-000000002000', '00000000-0000-4000-a000-000000002002', 'admin', '{}'),
  ('00000000-0000-4000-a001-000000002000', '00000000-0000-4000-a000-000000002003', 'member', '{}'),
  ('00000000-0000-4000-a001-000000002000', '00000000-0000-4000-a000-000000002004', 'integration', '{jobs:read}');

-- Clients ------------------------------------------------------------------------------------
insert into public.clients (id, org_id, name, email, phone, notes) values
  ('00000000-0000-4000-a002-000000001001', '00000000-0000-4000-a001-000000001000',
   'Harper Family', 'harper.family@example.test', '+1 512 555 0142', 'Side gate code 4471.'),
  ('00000000-0000-4000-a002-000000001002', '00000000-0000-4000-a001-000000001000',
   'Riverside Cafe', 'manager@riverside-cafe.test', '+1 512 555 0178', 'Deliveries before 10am; work after 3pm.'),
  ('00000000-0000-4000-a002-000000001003', '00000000-0000-4000-a001-000000001000',
   'Oakwood Property Management', 'maintenance@oakwood-pm.test', '+1 512 555 0190', null),
  ('00000000-0000-4000-a002-000000002001', '00000000-0000-4000-a001-000000002000',
   'Greenfield Elementary School', 'facilities@greenfield-elem.test', '+1 303 555 0111', null),
  ('00000000-0000-4000-a002-000000002002', '00000000-0000-4000-a001-000000002000',
   'Diaz Residence', 'l.diaz@example.test', '+1 303 555 0164', 'Dog in the backyard.');

-- Properties ---------------------------------------------------------------------------------
insert into public.properties (
  id, org_id, client_id, address1, address2, city, region, postal_code, country, lat, lng, geocoded_at, geocode_source
) values
  ('00000000-0000-4000-a003-000000001001', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a002-000000001001',
   '1402 Elm Street', null, 'Austin', 'TX', '78702', 'US', 30.262481, -97.727936, now() - interval '20 days', 'mapbox'),
  ('00000000-0000-4000-a003-000000001002', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a002-000000001002',
   '88 Riverside Drive', 'Suite 2', 'Austin', 'TX', '78704', 'US', 30.252037, -97.748314, now() - interval '18 days', 'mapbox'),
  ('00000000-0000-4000-a003-000000001003', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a002-000000001003',
   '2210 Oak Hollow Lane', 'Unit 4B', 'Austin', 'TX', '78741', 'US', null, null, null, null),
  ('00000000-0000-4000-a003-000000001004', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a002-000000001003',
   '2210 Oak Hollow Lane', 'Unit 7A', 'Austin', 'TX', '78741', 'US', null, null, null, null),
  ('00000000-0000-4000-a003-000000002001', '00000000-0000-4000-a001-000000002000', '00000000-0000-4000-a002-000000002001',
   '500 Greenfield Avenue', null, 'Denver', 'CO', '80205', 'US', 39.758451, -104.965012, now() - interval '9 days', 'mapbox'),
  ('00000000-0000-4000-a003-000000002002', '00000000-0000-4000-a001-000000002000', '00000000-0000-4000-a002-000000002002',
   '77 Sunflower Court', null, 'Lakewood', 'CO', '80226', 'US', 39.711002, -105.081507, now() - interval '3 days', 'manual');

-- Jobs (rows are numbered in this order: J-1, J-2, … per organization) ------------------------
insert into public.jobs (id, org_id, title, description, status, property_id, client_id, assigned_to, scheduled_at) values
  ('00000000-0000-4000-a004-000000001001', '00000000-0000-4000-a001-000000001000', 'Replace kitchen sink',
   'Cracked basin; client supplies the new sink.', 'completed',
   '00000000-0000-4000-a003-000000001001', '00000000-0000-4000-a002-000000001001',
   '00000000-0000-4000-a000-000000001003', now() - interval '14 days'),
  ('00000000-0000-4000-a004-000000001002', '00000000-0000-4000-a001-000000001000', 'Water heater inspection',
   'Annual service of the 50-gallon tank.', 'completed',
   '00000000-0000-4000-a003-000000001002', '00000000-0000-4000-a002-000000001002',
   '00000000-0000-4000-a000-000000001003', now() - interval '10 days'),
  ('00000000-0000-4000-a004-000000001003', '00000000-0000-4000-a001-000000001000', 'Fix leaking shower valve',
   null, 'scheduled',
   '00000000-0000-4000-a003-000000001003', '00000000-0000-4000-a002-000000001003',
   '00000000-0000-4000-a000-000000001002', now() + interval '2 days'),
  ('00000000-0000-4000-a004-000000001004', '00000000-0000-4000-a001-000000001000', 'Clear main drain line',
   'Tenant reports slow drains in both bathrooms.', 'in_progress',
   '00000000-0000-4000-a003-000000001004', '00000000-0000-4000-a002-000000001003',
   '00000000-0000-4000-a000-000000001003', now() - interval '2 hours'),
  ('00000000-0000-4000-a004-000000001005', '00000000-0000-4000-a001-000000001000', 'Quote: repipe cafe restroom',
   null, 'new',
   '00000000-0000-4000-a003-000000001002', '00000000-0000-4000-a002-000000001002', null, null),
  ('00000000-0000-4000-a004-000000002001', '00000000-0000-4000-a001-000000002000', 'Replace gym lighting with LED',
   '24 high-bay fixtures.', 'completed',
   '00000000-0000-4000-a003-000000002001', '00000000-0000-4000-a002-000000002001',
   '00000000-0000-4000-a000-000000002003', now() - interval '7 days'),
  ('00000000-0000-4000-a004-000000002002', '00000000-0000-4000-a001-000000002000', 'Install EV charger',
   'Level 2, 48 A, garage wall.', 'scheduled',
   '00000000-0000-4000-a003-000000002002', '00000000-0000-4000-a002-000000002002',
   '00000000-0000-4000-a000-000000002003', now() + interval '5 days'),
  ('00000000-0000-4000-a004-000000002003', '00000000-0000-4000-a001-000000002000', 'Panel upgrade assessment',
   null, 'cancelled',
   '00000000-0000-4000-a003-000000002002', '00000000-0000-4000-a002-000000002002', null, null);

-- Estimates ----------------------------------------------------------------------------------
insert into public.estimates (id, org_id, estimate_no, job_id, client_id, total, status) values
  ('00000000-0000-4000-a005-000000001001', '00000000-0000-4000-a001-000000001000', 'EST-2026-001',
   '00000000-0000-4000-a004-000000001001', '00000000-0000-4000-a002-000000001001', 480.00, 'accepted'),
  ('00000000-0000-4000-a005-000000001002', '00000000-0000-4000-a001-000000001000', 'EST-2026-002',
   '00000000-0000-4000-a004-000000001005', '00000000-0000-4000-a002-000000001002', 6250.00, 'sent'),
  ('00000000-0000-4000-a005-000000001003', '00000000-0000-4000-a001-000000001000', null,
   null, '00000000-0000-4000-a002-000000001003', 320.50, 'draft'),
  ('00000000-0000-4000-a005-000000002001', '00000000-0000-4000-a001-000000002000', 'Q-17',
   '00000000-0000-4000-a004-000000002001', '00000000-0000-4000-a002-000000002001', 9840.00, 'accepted'),
  ('00000000-0000-4000-a005-000000002002', '00000000-0000-4000-a001-000000002000', 'Q-18',
   '00000000-0000-4000-a004-000000002003', '00000000-0000-4000-a002-000000002002', 2100.00, 'declined');

-- Invoices (INV-1001, INV-1002, … per organization, in this order) ----------------------------
insert into public.invoices (id, org_id, job_id, estimate_id, client_id, total, status, issued_at, due_at) values
  ('00000000-0000-4000-a006-000000001001', '00000000-0000-4000-a001-000000001000',
   '00000000-0000-4000-a004-000000001001', '00000000-0000-4000-a005-000000001001', '00000000-0000-4000-a002-000000001001',
   480.00, 'open', now() - interval '13 days', now() + interval '17 days'),
  ('00000000-0000-4000-a006-000000001002', '00000000-0000-4000-a001-000000001000',
   '00000000-0000-4000-a004-000000001002', null, '00000000-0000-4000-a002-000000001002',
   189.00, 'open', now() - interval '9 days', now() + interval '21 days'),
  ('00000000-0000-4000-a006-000000001003', '00000000-0000-4000-a001-000000001000',
   '00000000-0000-4000-a004-000000001004', null, '00000000-0000-4000-a002-000000001003',
   275.25, 'open', now() - interval '1 day', now() + interval '29 days'),
  ('00000000-0000-4000-a006-000000001004', '00000000-0000-4000-a001-000000001000',
   '00000000-0000-4000-a004-000000001003', null, '00000000-0000-4000-a002-000000001003',
   140.00, 'draft', null, null),
  ('00000000-0000-4000-a006-000000002001', '00000000-0000-4000-a001-000000002000',
   '00000000-0000-4000-a004-000000002001', '00000000-0000-4000-a005-000000002001', '00000000-0000-4000-a002-000000002001',
   9840.00, 'open', now() - interval '6 days', now() + interval '24 days'),
  ('00000000-0000-4000-a006-000000002002', '00000000-0000-4000-a001-000000002000',
   '00000000-0000-4000-a004-000000002002', null, '00000000-0000-4000-a002-000000002002',
   350.00, 'open', now() - interval '1 day', now() + interval '14 days');

-- Payments (the trigger adds them to amount_paid and marks fully paid invoices paid) -----------
insert into public.payments (id, org_id, invoice_id, amount, method, received_at, reference) values
  ('00000000-0000-4000-a007-000000001001', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a006-000000001001',
   200.00, 'card', now() - interval '12 days', 'ch_3PzDemoAcme0001'),
  ('00000000-0000-4000-a007-000000001002', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a006-000000001001',
   280.00, 'check', now() - interval '5 days', 'check #1187'),
  ('00000000-0000-4000-a007-000000001003', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a006-000000001002',
   89.00, 'cash', now() - interval '8 days', null),
  ('00000000-0000-4000-a007-000000002001', '00000000-0000-4000-a001-000000002000', '00000000-0000-4000-a006-000000002001',
   9840.00, 'ach', now() - interval '2 days', 'ACH trace 091000019876543');

-- Inspections --------------------------------------------------------------------------------
insert into public.inspections (id, org_id, job_id, status, answers) values
  ('00000000-0000-4000-a008-000000001001', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a004-000000001002',
   'submitted', '{"tank_age_years": 6, "anode_rod": "replaced", "pressure_relief_valve": "ok", "notes": "Sediment flushed."}'),
  ('00000000-0000-4000-a008-000000001002', '00000000-0000-4000-a001-000000001000', '00000000-0000-4000-a004-000000001004',
   'draft', '{"camera_inspection": true}'),
  ('00000000-0000-4000-a008-000000002001', '00000000-0000-4000-a001-000000002000', '00000000-0000-4000-a004-000000002001',
   'submitted', '{"fixtures_replaced": 24, "emergency_lighting_tested": true}');
