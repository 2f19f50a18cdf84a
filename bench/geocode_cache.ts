// Cache hit vs miss latency of mapbox-geocode, end to end through a gateway (supabase-js invoke),
// with the upstream a local Mapbox stand-in (so a miss costs our own work plus a loopback call,
// not Mapbox's real latency). Run against the stack:
//   eval "$(npm run --silent env)"; node_modules/.bin/deno run -A bench/geocode_cache.ts [rounds]
import { connect } from "../tests/_support/stack.ts";
import {
  clientFor,
  createGeocodeTenant,
  invokeGeocode,
  startGeocodeGateway,
  startMapboxStandIn,
  uniqueAddress,
  vaultMapboxToken,
} from "../tests/_support/geocoding.ts";

const ROUNDS = Number(Deno.args[0] ?? 300);
const sql = connect(2);
const standIn = startMapboxStandIn({ tokens: [await vaultMapboxToken(sql)] });
const gateway = await startGeocodeGateway({ MAPBOX_API_ORIGIN: standIn.origin });
const tenant = await createGeocodeTenant(sql, "geocode-bench");
await sql`insert into geocoding.rate_limit_overrides (org_id, burst, per_minute) values (${tenant.orgId}, 100000, 100000)`;
const client = await clientFor(gateway.url, tenant.memberId);

async function timed(body: Record<string, unknown>, expected: string): Promise<number> {
  const started = performance.now();
  const { status, body: answer } = await invokeGeocode(client, body);
  const elapsed = performance.now() - started;
  if (status !== 200 || answer.source !== expected) throw new Error(`${status} ${JSON.stringify(answer)}`);
  return elapsed;
}

const percentile = (values: number[], p: number) =>
  values.toSorted((a, b) => a - b)[Math.floor(p * (values.length - 1))];
const summary = (values: number[]) =>
  `p50 ${percentile(values, 0.5).toFixed(2)} ms, p95 ${percentile(values, 0.95).toFixed(2)} ms, n=${values.length}`;

try {
  for (let i = 0; i < 20; i++) await timed({ address: uniqueAddress() }, "mapbox"); // warm-up
  const misses: number[] = [];
  const hits: number[] = [];
  const cached = uniqueAddress();
  await timed({ address: cached }, "mapbox");
  for (let i = 0; i < ROUNDS; i++) {
    misses.push(await timed({ address: uniqueAddress() }, "mapbox"));
    hits.push(await timed({ address: cached }, "cache"));
  }
  console.log(`cache miss (stand-in upstream): ${summary(misses)}`);
  console.log(`cache hit:                      ${summary(hits)}`);
} finally {
  await tenant.remove();
  gateway.close();
  await standIn.close();
  await sql.end();
}
