// The destination guard: https to public addresses only, every resolved address checked, the
// loopback opt-in for local stacks and nothing more. Resolvers are injected so DNS rebinding can
// be played out; `localhost` goes through the real default resolver.
import assert from "node:assert/strict";
import {
  blockedRange,
  checkDestination,
  checkEndpointUrl,
  DestinationGuard,
  type Resolver,
} from "../supabase/functions/_shared/ssrf.ts";
import { PinnedHttpClient } from "../supabase/functions/_shared/pinned-http.ts";

const strict = { allowLoopback: false };
const local = { allowLoopback: true };
const resolvesTo = (...addresses: string[]): Resolver => () => Promise.resolve(addresses);

async function reason(url: string, policy = strict, resolve: Resolver = resolvesTo("93.184.216.34")) {
  const result = await checkDestination(url, policy, resolve);
  return result.ok ? null : result.reason;
}

const refusedLiterals: [string, RegExp][] = [
  ["https://127.0.0.1/", /loopback range \(127\.0\.0\.0\/8\)/],
  ["https://[::1]/", /loopback range \(::1\/128\)/],
  ["https://10.20.30.40/", /private range \(10\.0\.0\.0\/8\)/],
  ["https://172.31.255.255/", /private range \(172\.16\.0\.0\/12\)/],
  ["https://192.168.0.10/", /private range \(192\.168\.0\.0\/16\)/],
  ["https://[fd12:3456::1]/", /unique local/],
  ["https://169.254.169.254/latest/meta-data/", /link-local range \(169\.254\.0\.0\/16\)/],
  ["https://[fd00:ec2::254]/", /unique local/],
  ["https://[fe80::1]/", /link-local range \(fe80::\/10\)/],
  ["https://100.100.100.200/", /carrier-grade NAT/],
  ["https://0.0.0.0/", /"this network"/],
  ["https://[::]/", /unspecified/],
  ["https://224.0.0.1/", /multicast/],
  ["https://[ff02::1]/", /multicast/],
  ["https://255.255.255.255/", /broadcast/],
  ["https://240.0.0.1/", /reserved/],
  ["https://192.0.2.1/", /documentation/],
  ["https://198.18.0.1/", /benchmarking/],
  ["https://[2002:a00:1::]/", /6to4/],
];
for (const [url, expected] of refusedLiterals) {
  Deno.test(`${url} is refused`, async () => {
    assert.match((await reason(url)) ?? "allowed", expected);
    const form = checkEndpointUrl(url, strict);
    assert.equal(form.ok, false, "registration refuses it too");
  });
}

// WHATWG URL parsing turns these into 127.0.0.1 or 10.0.0.1; the check sees what will be dialled.
const disguised = [
  "https://2130706433/",
  "https://0x7f.1/",
  "https://0177.0.0.1/",
  "https://127.1/",
  "https://[::ffff:127.0.0.1]/",
  "https://[::ffff:7f00:1]/",
  "https://[::ffff:10.0.0.1]/",
  "https://[64:ff9b::a9fe:a9fe]/",
];
for (const url of disguised) {
  Deno.test(`a disguised internal address is refused: ${url}`, async () => {
    assert.match((await reason(url)) ?? "allowed", /loopback|private|link-local|four decimal octets/);
  });
}

Deno.test("a public https URL is allowed", async () => {
  assert.equal(await reason("https://hooks.example.com/cjh"), null);
  assert.equal(await reason("https://93.184.216.34:8443/cjh"), null);
  assert.equal(await reason("https://[2606:4700::1111]/cjh"), null);
});

Deno.test("plain http to a public host is refused", async () => {
  assert.equal(await reason("http://hooks.example.com/cjh"), "the URL must use https");
});

Deno.test("other schemes, credentials and overlong URLs are refused", async () => {
  assert.equal(await reason("ftp://hooks.example.com/"), "the URL must use https");
  assert.equal(await reason("https://user:secret@hooks.example.com/"), "the URL must not contain credentials");
  assert.match((await reason(`https://hooks.example.com/${"a".repeat(2100)}`)) ?? "", /longer than 2048/);
  assert.equal(await reason("not-a-url"), "the URL must be absolute, like https://example.com/webhooks");
});

Deno.test("loopback is refused without the local setting and allowed, with plain http, with it", async () => {
  assert.match((await reason("http://127.0.0.1:8080/hook")) ?? "", /loopback/);
  assert.match((await reason("http://localhost:8080/hook", strict, undefined)) ?? "", /loopback/);
  assert.equal(await reason("http://127.0.0.1:8080/hook", local), null);
  assert.equal(await reason("https://[::1]:8443/hook", local), null);
});

Deno.test("localhost resolves to loopback without asking DNS, and only loopback is allowed by the local setting", async () => {
  const result = await checkDestination("http://localhost:9000/hook", local);
  assert.ok(result.ok);
  assert.deepEqual(result.addresses.toSorted(), ["127.0.0.1", "::1"]);
  assert.match((await reason("https://10.0.0.1/", local)) ?? "", /private/);
});

Deno.test("a name that resolves to a private address is refused at delivery (DNS rebinding)", async () => {
  assert.match(
    (await reason("https://hooks.example.com/cjh", strict, resolvesTo("10.0.0.5"))) ?? "",
    /^hooks\.example\.com resolves to a refused address: destination 10\.0\.0\.5 is in a private range/,
  );
});

Deno.test("one internal address among public ones refuses the whole host", async () => {
  assert.match(
    (await reason("https://hooks.example.com/", strict, resolvesTo("93.184.216.34", "169.254.169.254"))) ?? "",
    /link-local/,
  );
  assert.match((await reason("https://hooks.example.com/", strict, resolvesTo("::ffff:192.168.1.1"))) ?? "", /private/);
});

Deno.test("http to a name that resolves to a public address is refused even with the local setting", async () => {
  assert.equal(await reason("http://hooks.example.com/", local, resolvesTo("93.184.216.34")), "the URL must use https");
});

Deno.test("a name that does not resolve is refused", async () => {
  assert.equal(await reason("https://nowhere.example/", strict, resolvesTo()), "nowhere.example does not resolve");
});

Deno.test("blockedRange judges single addresses", () => {
  assert.equal(blockedRange("8.8.8.8", strict), null);
  assert.equal(blockedRange("127.0.0.1", local), null);
  assert.match(blockedRange("127.0.0.1", strict) ?? "", /loopback/);
  assert.match(blockedRange("not-an-ip", strict) ?? "", /not an IP address/);
});

Deno.test("IPv6 outside global unicast is refused, since a translator could carry it to an internal host", () => {
  for (const address of ["::ffff:0:7f00:1", "64:ff9b:1::a00:1", "fec0::1", "5f00::1", "4000::1"]) {
    assert.match(blockedRange(address, strict) ?? "", /outside the global unicast range \(2000::\/3\)/, address);
    assert.match(blockedRange(address, local) ?? "", /outside the global unicast range/, address);
  }
  assert.match(blockedRange("3fff::1", strict) ?? "", /documentation range \(3fff::\/20\)/);
  for (const address of ["2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"]) {
    assert.equal(blockedRange(address, strict), null, address);
  }
});

Deno.test("a resolver failure refuses the host instead of throwing", async () => {
  const failing: Resolver = () => Promise.reject(new Error("SERVFAIL"));
  assert.deepEqual(await checkDestination("https://hooks.example.com/", strict, failing), {
    ok: false,
    reason: "hooks.example.com could not be resolved",
  });
});

Deno.test("the guard caches a host's verdict for its ttl, then asks again", async () => {
  let lookups = 0;
  const counting: Resolver = () => {
    lookups++;
    return Promise.resolve(["93.184.216.34"]);
  };
  const guard = new DestinationGuard(strict, counting, 50);
  for (let i = 0; i < 5; i++) assert.ok((await guard.check(`https://hooks.example.com/path/${i}`)).ok);
  assert.equal(lookups, 1);
  await new Promise((resolve) => setTimeout(resolve, 60));
  await guard.check("https://hooks.example.com/again");
  assert.equal(lookups, 2);
});

// Forms a WHATWG parser (fetch's) reads as another host than the text shows: refused, never read.
const misread: [string, RegExp][] = [
  ["https://169\u3002254\u3002169\u3002254/", /printable ASCII/], // ideographic full stops: 169.254.169.254
  ["https://\uff11\uff12\uff17.0.0.1/", /printable ASCII/], // full-width digits: 127.0.0.1
  ["https://10.0.0.1\\.hooks.example.com/", /backslash/], // a backslash is a slash: host 10.0.0.1
  ["https://hooks.example.com\\@10.0.0.1/", /backslash/],
  ["https://hooks.exa\tmple.com/", /printable ASCII/], // the tab is dropped
  ["https://%31%32%37.0.0.1/", /no valid host/], // percent-decoded: 127.0.0.1
  ["https://hooks.example.com:70000/", /no valid host/],
  ["https://[1:2]/", /no valid host|not valid/],
];
for (const [url, expected] of misread) {
  Deno.test(`a URL the sender would read as another host is refused: ${JSON.stringify(url)}`, () => {
    const form = checkEndpointUrl(url, local);
    assert.equal(form.ok, false);
    assert.match(form.ok ? "" : form.reason, expected);
  });
}

Deno.test("the connection goes to the address that was checked, never to a second lookup's answer", async () => {
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => new Response(`reached ${new URL(request.url).hostname}`),
  );
  // A resolver whose answer changes between lookups: a checked loopback address first, then an
  // internal one (DNS rebinding). (Plain http is allowed to *.localhost names by the local setting;
  // the name's answers come from the resolver given, not from the system.)
  const answers = [["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]];
  let lookups = 0;
  const rebinding: Resolver = () => Promise.resolve(answers[Math.min(lookups++, answers.length - 1)]);
  const guard = new DestinationGuard(local, rebinding);
  const client = new PinnedHttpClient();
  try {
    const url = `http://rebind.localhost:${receiver.addr.port}/hook`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const destination = await guard.check(url);
      assert.ok(destination.ok);
      assert.deepEqual(destination.addresses, ["127.0.0.1"]);
      const response = await client.request({
        url: new URL(url),
        addresses: destination.addresses,
        method: "POST",
        headers: {},
        body: new TextEncoder().encode("{}"),
        signal: new AbortController().signal,
        maxBodyBytes: 1024,
      });
      assert.equal(new TextDecoder().decode(response.body), "reached rebind.localhost");
    }
    assert.equal(lookups, 1, "one lookup, checked, and every connection went to its answer");
  } finally {
    client.close();
    await receiver.shutdown();
  }
});

Deno.test("a name whose checked answer is refused gets no connection at all", async () => {
  let connections = 0;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) {
      connections++;
      conn.close();
    }
  })();
  const guard = new DestinationGuard(local, resolvesTo("10.0.0.1"));
  try {
    const destination = await guard.check(`https://internal.cjh.invalid:${listener.addr.port}/`);
    assert.equal(destination.ok, false);
    assert.match(destination.ok ? "" : destination.reason, /private range/);
    assert.equal(connections, 0);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
});
