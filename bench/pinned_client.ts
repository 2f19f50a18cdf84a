// The dispatcher's HTTP client alone against fetch: CPU per request of this process (client and
// receiver together, the receiver on the same event loop, as both clients share it), for POSTs of a
// webhook-sized body over http, https with kept connections, and https with a new connection per
// request (the receiver answers `Connection: close`). No stack is needed besides its CA.
//
//   eval "$(npm run --silent env)"; node_modules/.bin/deno run -A bench/pinned_client.ts [--count=N]
//
// The pinned client connects to 127.0.0.1 and does TLS for `bench.loopback.cjh.test`; fetch is
// given https://127.0.0.1 (the certificate covers both) and a client trusting the local CA.
import process from "node:process";
import { PinnedHttpClient } from "../supabase/functions/_shared/pinned-http.ts";
import { benchCertificate } from "./local_certificate.ts";
import { stack } from "../tests/_support/stack.ts";

const options = Object.fromEntries(
  Deno.args.filter((arg) => arg.includes("=")).map((arg) => arg.replace(/^--/, "").split("=", 2)),
);
const COUNT = Number(options.count ?? 3_000);
const CONCURRENCY = 32;
const ROUNDS = 3;

const certificate = await benchCertificate();
const caCert = await Deno.readTextFile(stack.CJH_RECEIVER_CERT_FILE.replace(/receiver\.pem$/, "ca.pem"));
const answer = async (request: Request) => {
  await request.arrayBuffer();
  const close = new URL(request.url).pathname === "/close";
  return new Response(null, { status: 204, headers: close ? { connection: "close" } : {} });
};
const listen = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
const https = Deno.serve({ ...listen, ...certificate }, answer);
const http = Deno.serve(listen, answer);

const body = new TextEncoder().encode(JSON.stringify({ id: "evt_0", data: "x".repeat(700) }));
const headers = { "content-type": "application/json", "webhook-id": "evt_0" };
const pinned = new PinnedHttpClient();
const fetchClient = Deno.createHttpClient({ caCerts: [caCert] });

const viaPinned = (url: string) => {
  const parsed = new URL(url);
  return async () => {
    const response = await pinned.request({
      url: parsed,
      addresses: ["127.0.0.1"],
      method: "POST",
      headers,
      body,
      signal: new AbortController().signal,
      maxBodyBytes: 1024,
    });
    if (response.status !== 204) throw new Error(`status ${response.status}`);
  };
};
const viaFetch = (url: string) => async () => {
  const response = await fetch(url, { client: fetchClient, method: "POST", headers, body });
  await response.arrayBuffer();
  if (response.status !== 204) throw new Error(`status ${response.status}`);
};

/** CPU time of this process (µs) per request of `send`, `COUNT` requests `CONCURRENCY` at a time. */
async function cpuPerRequest(send: () => Promise<void>): Promise<number> {
  for (let i = 0; i < CONCURRENCY; i++) await send();
  const before = process.cpuUsage();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < COUNT) await send();
  }));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / COUNT;
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const name = `bench.${stack.CJH_RECEIVER_DOMAIN}`;
const cases = [
  ["http, kept", `http://127.0.0.1:${http.addr.port}/hook`, `http://127.0.0.1:${http.addr.port}/hook`],
  ["https, kept", `https://${name}:${https.addr.port}/hook`, `https://127.0.0.1:${https.addr.port}/hook`],
  [
    "https, new connection each",
    `https://${name}:${https.addr.port}/close`,
    `https://127.0.0.1:${https.addr.port}/close`,
  ],
] as const;
console.log(`${COUNT} POSTs per figure, ${CONCURRENCY} at a time, median of ${ROUNDS}; µs of CPU per request`);
const results: Record<string, number> = {};
for (const [label, pinnedUrl, fetchUrl] of cases) {
  const [a, b] = [[], []] as number[][];
  for (let round = 0; round < ROUNDS; round++) {
    a.push(await cpuPerRequest(viaPinned(pinnedUrl)));
    b.push(await cpuPerRequest(viaFetch(fetchUrl)));
  }
  results[`${label} pinned`] = median(a);
  results[`${label} fetch`] = median(b);
  console.log(`  ${label.padEnd(28)} pinned client ${median(a).toFixed(0)} µs, fetch ${median(b).toFixed(0)} µs`);
}
pinned.close();
fetchClient.close();
await Promise.all([https.shutdown(), http.shutdown()]);
console.log(`BENCH_JSON ${JSON.stringify(results)}`);
