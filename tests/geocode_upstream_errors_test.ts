// Every way the upstream can fail, each mapped to its documented error (docs/geocoding.md): the
// Mapbox stand-in answers no match, 401, 429, 5xx or too slowly; a second gateway points at an
// origin where nothing listens; a third reads a Vault secret that does not exist. The token must
// never show up in a response or in the function's logs.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { connect, integrationTest } from "./_support/stack.ts";
import {
  clientFor,
  createGeocodeTenant,
  type Invocation,
  invokeGeocode,
  startGeocodeGateway,
  startMapboxStandIn,
  uniqueAddress,
  vaultMapboxToken,
} from "./_support/geocoding.ts";

const sql = connect(2);
const token = await vaultMapboxToken(sql);
const standIn = startMapboxStandIn({ tokens: [token] });
// A short timeout, so the slow upstream's test does not wait the production default.
const gateway = await startGeocodeGateway({ MAPBOX_API_ORIGIN: standIn.origin, MAPBOX_TIMEOUT_MS: "500" });

const closedPort = (() => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
})();
const unreachable = await startGeocodeGateway({ MAPBOX_API_ORIGIN: `http://127.0.0.1:${closedPort}` });
const missingSecret = `mapbox_missing_${crypto.randomUUID().replaceAll("-", "")}`;
const unconfigured = await startGeocodeGateway({
  MAPBOX_API_ORIGIN: standIn.origin,
  MAPBOX_TOKEN_SECRET_NAME: missingSecret,
});
const tenant = await createGeocodeTenant(sql, "geocode-errors");
globalThis.addEventListener("unload", () => {
  for (const fixture of [gateway, unreachable, unconfigured]) fixture.close();
  void standIn.close();
  void sql.end();
});

const responses: Invocation[] = [];

async function geocode(url: string, body: Record<string, unknown>): Promise<Invocation> {
  const result = await invokeGeocode(await clientFor(url, tenant.memberId), body);
  responses.push(result);
  return result;
}

/** Runs with the stand-in answering in `mode`, then back to normal. */
async function whileUpstream(mode: typeof standIn.mode, work: () => Promise<void>): Promise<void> {
  standIn.mode = mode;
  try {
    await work();
  } finally {
    standIn.mode = "normal";
  }
}

integrationTest("an address Mapbox does not know is 404 no_match", async () => {
  const result = await geocode(gateway.url, { address: `${uniqueAddress()} nowhere` });
  assertEquals([result.status, result.body.error?.code], [404, "no_match"]);
});

integrationTest("a token Mapbox rejects (401) is 502 geocoding_unavailable, logged with context", async () => {
  standIn.tokens = [];
  try {
    const address = uniqueAddress();
    const result = await geocode(gateway.url, { address, property_id: tenant.propertyId });
    assertEquals([result.status, result.body.error?.code], [502, "geocoding_unavailable"]);
    assertEquals(result.body.error?.details, { reason: "token_rejected" });
    assertEquals(standIn.callsFor(address), 1);
    const [logLine] = gateway.output().split("\n").filter((line) => line.includes("upstream token_rejected"));
    assert(logLine?.includes(tenant.orgId) && logLine.includes(tenant.propertyId), `logged with context: ${logLine}`);
    assert(logLine.includes("401") && logLine.includes("Not Authorized - Invalid Token"), logLine);
    const [row] = await sql`select lat from public.properties where id = ${tenant.propertyId}`;
    assertEquals(row.lat, null, "a failure writes nothing");
  } finally {
    standIn.tokens = [token];
  }
});

integrationTest("an upstream 5xx is 502 geocoding_unavailable", async () => {
  await whileUpstream("server_error", async () => {
    const result = await geocode(gateway.url, { address: uniqueAddress() });
    assertEquals([result.status, result.body.error?.code], [502, "geocoding_unavailable"]);
    assertEquals(result.body.error?.details, { reason: "upstream_error" });
  });
});

integrationTest("an upstream 429 is 503 geocoding_rate_limited with Retry-After", async () => {
  await whileUpstream("rate_limited", async () => {
    const result = await geocode(gateway.url, { address: uniqueAddress() });
    assertEquals([result.status, result.body.error?.code], [503, "geocoding_rate_limited"]);
    // The stand-in, like Mapbox, says its window resets within a minute.
    const retryAfter = Number(result.headers.get("retry-after"));
    assert(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  });
});

integrationTest("an upstream that does not answer in time is 502 geocoding_unavailable (timeout)", async () => {
  await whileUpstream("slow", async () => {
    const address = uniqueAddress();
    const result = await geocode(gateway.url, { address });
    assertEquals([result.status, result.body.error?.code], [502, "geocoding_unavailable"]);
    assertEquals(result.body.error?.details, { reason: "timeout" });
    assertEquals(standIn.callsFor(address), 1);
  });
});

integrationTest("an origin where nothing listens is 502 geocoding_unavailable (network error)", async () => {
  const result = await geocode(unreachable.url, { address: uniqueAddress() });
  assertEquals([result.status, result.body.error?.code], [502, "geocoding_unavailable"]);
  assertEquals(result.body.error?.details, { reason: "network_error" });
  assert(unreachable.output().includes("upstream network_error"), "the failure is logged");
});

integrationTest("a token missing from Vault is 503 geocoding_not_configured, without an upstream call", async () => {
  const address = uniqueAddress();
  const result = await geocode(unconfigured.url, { address });
  assertEquals([result.status, result.body.error?.code], [503, "geocoding_not_configured"]);
  assertEquals(standIn.callsFor(address), 0);
});

integrationTest("failures are not cached: once Mapbox answers again, the same address is geocoded", async () => {
  const address = uniqueAddress();
  await whileUpstream("server_error", async () => {
    assertEquals((await geocode(gateway.url, { address })).status, 502);
  });
  const recovered = await geocode(gateway.url, { address });
  assertEquals([recovered.status, recovered.body.source], [200, "mapbox"]);
  assertEquals(standIn.callsFor(address), 2);
});

integrationTest("the Mapbox token appears in no response and no log line", async () => {
  assert(responses.length >= 8, "the tests above ran first");
  assert(standIn.requests.some((request) => request.authorized), "the token did reach the stand-in");
  for (const response of responses) {
    assert(!JSON.stringify(response.body).includes(token), `response ${JSON.stringify(response.body)}`);
    for (const [, value] of response.headers) assert(!value.includes(token));
  }
  for (const fixture of [gateway, unreachable, unconfigured]) {
    assert(!fixture.output().includes(token), "a log line contains the token");
  }
  await tenant.remove();
});
