// Automatic geocoding end to end on the running stack: an owner opts the organization in, a member
// inserts a property without coordinates, and after commit the trigger's pg_net request reaches the
// stack's mapbox-geocode (with the service role key from Vault), which asks the stack's Mapbox
// stand-in and stores the result. Also: the stack's own function answers a member through supabase-js.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { asUser, connect, eventually, integrationTest, stack } from "./_support/stack.ts";
import { clientFor, createGeocodeTenant, invokeGeocode, uniqueAddress } from "./_support/geocoding.ts";

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

integrationTest("an opted-in organization's new property without coordinates is geocoded after commit", async () => {
  const tenant = await createGeocodeTenant(sql, "geocode-auto");
  try {
    await asUser(sql, tenant.userId, (tx) => tx`select public.set_auto_geocoding(${tenant.orgId}, true)`);
    const [property] = await asUser(sql, tenant.memberId, (tx) =>
      tx<{ id: string; lat: number | null }[]>`
        insert into public.properties (org_id, address1, city, region, postal_code)
        values (${tenant.orgId}, '1402 Elm Street', 'Austin', 'TX', '78702')
        returning id, lat`);
    assertEquals(property.lat, null);
    const geocoded = await eventually(async () => {
      const [row] = await sql`select lat, lng, geocode_source, geocoded_at from public.properties
                               where id = ${property.id} and lat is not null`;
      return row;
    }, { what: "the property's coordinates" });
    // The stand-in knows the demo data's addresses by their real coordinates.
    assertEquals([geocoded.lat, geocoded.lng, geocoded.geocode_source], [30.262481, -97.727936, "mapbox"]);
    assert(geocoded.geocoded_at instanceof Date);
  } finally {
    await tenant.remove();
  }
});

integrationTest("without the opt-in, or with coordinates given, a new property is left as inserted", async () => {
  const tenant = await createGeocodeTenant(sql, "geocode-manual");
  try {
    const [unrequested] = await sql<{ id: string }[]>`
      insert into public.properties (org_id, address1, city) values (${tenant.orgId}, '9 Larch Lane', 'Austin')
      returning id`;
    await asUser(sql, tenant.userId, (tx) => tx`select public.set_auto_geocoding(${tenant.orgId}, true)`);
    const [manual] = await sql<{ id: string }[]>`
      insert into public.properties (org_id, address1, city, lat, lng, geocode_source)
      values (${tenant.orgId}, '10 Larch Lane', 'Austin', 30.1, -97.1, 'manual')
      returning id`;
    // A property inserted after both shows when the function has run; the other two must be untouched by then.
    const [marker] = await sql<{ id: string }[]>`
      insert into public.properties (org_id, address1, city) values (${tenant.orgId}, '11 Larch Lane', 'Austin')
      returning id`;
    await eventually(async () => {
      const [row] = await sql`select 1 from public.properties where id = ${marker.id} and lat is not null`;
      return row;
    }, { what: "the marker property's coordinates" });
    const rows =
      await sql`select id, lat, lng, geocode_source from public.properties where id in (${unrequested.id}, ${manual.id})`;
    const byId = Object.fromEntries(rows.map((row) => [row.id, { ...row }]));
    assertEquals(byId[unrequested.id], { id: unrequested.id, lat: null, lng: null, geocode_source: null });
    assertEquals(byId[manual.id], { id: manual.id, lat: 30.1, lng: -97.1, geocode_source: "manual" });
  } finally {
    await tenant.remove();
  }
});

integrationTest("the stack's own mapbox-geocode answers a member through supabase-js", async () => {
  const tenant = await createGeocodeTenant(sql, "geocode-stack");
  try {
    const client = await clientFor(stack.SUPABASE_URL, tenant.memberId);
    const { status, body } = await invokeGeocode(client, { address: uniqueAddress() });
    assertEquals([status, body.source], [200, "mapbox"], JSON.stringify(body));
  } finally {
    await tenant.remove();
  }
});
