// What the geocoding tests share: a functions gateway of their own (local/gateway.ts) serving the
// real mapbox-geocode function with its own settings (MAPBOX_API_ORIGIN pointed at a Mapbox
// stand-in the test controls and counts), real supabase-js clients for members, and a tenant with
// the users and properties a test needs. Each test file gets its own gateway and stand-in, so
// files running in parallel never see each other's upstream calls; they share only the database,
// where every test works in fresh organizations.
import { createClient, FunctionsHttpError, type SupabaseClient } from "npm:@supabase/supabase-js@2.119.0";
import type postgres from "npm:postgres@3.4.9";
import { pathToFileURL } from "node:url";
import { type MapboxStandIn, startMapboxStandIn } from "../../local/mapbox-stand-in.ts";
import { type FixtureGateway, startGateway } from "./gateway.ts";
import { createTenant, mintJwt, ROOT, stack } from "./stack.ts";

export { type FixtureGateway, type MapboxStandIn, startMapboxStandIn };

/**
 * A gateway on a free port whose only function is the project's mapbox-geocode (imported from
 * supabase/functions, unchanged), with the project's config.toml and `functionEnv` as its .env.
 */
export async function startGeocodeGateway(functionEnv: Record<string, string>): Promise<FixtureGateway> {
  const dir = await Deno.makeTempDir({ prefix: "cjh-geocode-gateway-" });
  await Deno.mkdir(`${dir}/functions/mapbox-geocode`, { recursive: true });
  await Deno.copyFile(`${ROOT}/supabase/config.toml`, `${dir}/config.toml`);
  const entry = pathToFileURL(`${ROOT}/supabase/functions/mapbox-geocode/index.ts`).href;
  await Deno.writeTextFile(`${dir}/functions/mapbox-geocode/index.ts`, `import ${JSON.stringify(entry)};\n`);
  await Deno.writeTextFile(
    `${dir}/functions/.env`,
    Object.entries(functionEnv).map(([name, value]) => `${name}=${value}\n`).join(""),
  );
  const gateway = await startGateway({ supabaseDir: dir });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    gateway.close();
    Deno.removeSync(dir, { recursive: true });
  };
  globalThis.addEventListener("unload", close, { once: true });
  return { ...gateway, close };
}

/** The token the stack keeps in Vault for the function; a test's stand-in accepts it. */
export async function vaultMapboxToken(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ token: string | null }[]>`
    select decrypted_secret as token from vault.decrypted_secrets where name = 'mapbox_access_token'`;
  if (!row?.token) throw new Error("the stack stores mapbox_access_token in Vault; restart it with `npm start`");
  return row.token;
}

export interface Invocation {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, unknown> } };
}

/** supabase-js for a user, as the React client creates it after sign-in. */
export async function clientFor(url: string, userId: string): Promise<SupabaseClient> {
  const jwt = await mintJwt({ sub: userId });
  return createClient(url, stack.publishableKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${jwt}` } },
  });
}

/** `functions.invoke('mapbox-geocode', { body })`, with the status and body whether it succeeded or not. */
export async function invokeGeocode(client: SupabaseClient, body: unknown): Promise<Invocation> {
  const { data, error, response } = await client.functions.invoke("mapbox-geocode", {
    body: body as Record<string, unknown>,
  });
  if (error instanceof FunctionsHttpError) {
    const failed = error.context as Response;
    return { status: failed.status, headers: failed.headers, body: await failed.json() };
  }
  if (error) throw error;
  return { status: response!.status, headers: response!.headers, body: data };
}

/** A fresh organization (owner = `userId`) with members in other roles and one property without coordinates. */
export async function createGeocodeTenant(sql: postgres.Sql, label: string) {
  const tenant = await createTenant(sql, label);
  const addUser = async (role: "member" | "integration", scopes: string[] = []) => {
    const userId = crypto.randomUUID();
    await sql`insert into auth.users (id, aud, role, email, created_at, updated_at)
              values (${userId}, 'authenticated', 'authenticated', ${`${label}-${role}-${
      userId.slice(0, 8)
    }@example.test`},
                      now(), now())`;
    await sql`insert into public.organization_members (org_id, user_id, role, scopes)
              values (${tenant.orgId}, ${userId}, ${role}, ${scopes})`;
    return userId;
  };
  const memberId = await addUser("member");
  const readOnlyIntegrationId = await addUser("integration", ["properties:read"]);
  const [property] = await sql<{ id: string }[]>`
    insert into public.properties (org_id, address1, city, region, postal_code)
    values (${tenant.orgId}, ${`${Math.floor(Math.random() * 9000) + 100} Quarry Road`}, 'Boulder', 'CO', '80302')
    returning id`;
  return {
    ...tenant,
    memberId,
    readOnlyIntegrationId,
    propertyId: property.id,
    remove: async () => {
      await tenant.remove();
      await sql`delete from auth.users where id in (${memberId}, ${readOnlyIntegrationId})`;
    },
  };
}

/** A search text no other test uses, so the stand-in's count for it is this test's alone. */
export function uniqueAddress(street = "Main Street"): string {
  return `${Math.floor(Math.random() * 9000) + 100} ${street} ${crypto.randomUUID().slice(0, 8)}, Springfield`;
}
