// The dispatcher's HTTP client (supabase/functions/_shared/pinned-http.ts) against real local
// servers: connections go to the given checked addresses, TLS is done with the URL's name, a
// connection carries request after request, a stale one is replaced, a long body is not drained,
// and an abort ends the request. Servers sit behind a counting TCP relay so the tests see how many
// connections (so TLS handshakes) the client opened.
import assert from "node:assert/strict";
import { PinnedHttpClient, type PinnedRequest } from "../supabase/functions/_shared/pinned-http.ts";
import { stack } from "./_support/stack.ts";

const certificate = {
  cert: Deno.readTextFileSync(stack.CJH_RECEIVER_CERT_FILE),
  key: Deno.readTextFileSync(stack.CJH_RECEIVER_KEY_FILE),
};

/** A TCP relay on 127.0.0.1 in front of `targetPort`, counting and able to cut its connections. */
function countingRelay(targetPort: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let accepted = 0;
  let closedByClient = 0;
  void (async () => {
    for await (const conn of listener) {
      accepted++;
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      open.add(conn).add(upstream);
      void conn.readable.pipeTo(upstream.writable).then(() => closedByClient++, () => {});
      void upstream.readable.pipeTo(conn.writable).catch(() => {})
        .finally(() => {
          open.delete(conn);
          open.delete(upstream);
        });
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    get accepted() {
      return accepted;
    },
    /** Connections whose client side has ended (the client closed them). */
    get closedByClient() {
      return closedByClient;
    },
    /** Closes every relayed connection, as a server dropping its idle keep-alive connections. */
    cutAll() {
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      open.clear();
    },
    close() {
      this.cutAll();
      listener.close();
    },
  };
}

function serve(handler: (request: Request) => Response | Promise<Response>, https = true) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {}, ...(https ? certificate : {}) }, handler);
}

function post(url: string, addresses: string[], init: Partial<PinnedRequest> = {}): PinnedRequest {
  return {
    url: new URL(url),
    addresses,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: new TextEncoder().encode('{"hello":"world"}'),
    signal: new AbortController().signal,
    maxBodyBytes: 1024,
    ...init,
  };
}

const text = (body: Uint8Array) => new TextDecoder().decode(body);

Deno.test("requests to one host and address share one connection, so one TLS handshake", async () => {
  const server = serve(async (request) => new Response(`${request.headers.get("host")} ${await request.text()}`));
  const relay = countingRelay(server.addr.port);
  const client = new PinnedHttpClient();
  try {
    const url = `https://pool.${stack.CJH_RECEIVER_DOMAIN}:${relay.port}/hook`;
    for (let i = 0; i < 5; i++) {
      const response = await client.request(post(url, ["127.0.0.1"]));
      assert.equal(response.status, 200);
      assert.equal(text(response.body), `pool.${stack.CJH_RECEIVER_DOMAIN}:${relay.port} {"hello":"world"}`);
    }
    assert.equal(relay.accepted, 1);
  } finally {
    client.close();
    relay.close();
    await server.shutdown();
  }
});

Deno.test("a checked address that refuses is skipped for the next one, and only those are dialled", async () => {
  const server = serve(() => new Response("reached"));
  const client = new PinnedHttpClient();
  try {
    // 127.0.0.2 is loopback too, but nothing listens there on this port.
    const url = `https://order.${stack.CJH_RECEIVER_DOMAIN}:${server.addr.port}/`;
    const response = await client.request(post(url, ["127.0.0.2", "127.0.0.1"]));
    assert.equal(text(response.body), "reached");
    await assert.rejects(client.request(post(url, ["127.0.0.2"])), /refused/i);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("TLS is done with the URL's name: a certificate for another name is refused", async () => {
  const server = serve(() => new Response("never"));
  const client = new PinnedHttpClient();
  try {
    await assert.rejects(
      client.request(post(`https://elsewhere.cjh.test:${server.addr.port}/`, ["127.0.0.1"])),
      /certificate/i,
    );
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("a kept connection the server has closed is replaced, and the request goes through", async () => {
  const server = serve(() => new Response("ok"));
  const relay = countingRelay(server.addr.port);
  const client = new PinnedHttpClient();
  try {
    const url = `https://stale.${stack.CJH_RECEIVER_DOMAIN}:${relay.port}/`;
    assert.equal((await client.request(post(url, ["127.0.0.1"]))).status, 200);
    relay.cutAll();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await client.request(post(url, ["127.0.0.1"]))).status, 200);
    assert.equal(relay.accepted, 2);
  } finally {
    client.close();
    relay.close();
    await server.shutdown();
  }
});

Deno.test("idle connections past their time are closed at the next request, whatever its host", async () => {
  const server = serve(() => new Response("ok"), false);
  const [first, second] = [countingRelay(server.addr.port), countingRelay(server.addr.port)];
  const client = new PinnedHttpClient(50);
  try {
    await client.request(post(`http://127.0.0.1:${first.port}/`, ["127.0.0.1"]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(first.closedByClient, 0, "kept open while idle");
    await client.request(post(`http://127.0.0.1:${second.port}/`, ["127.0.0.1"]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(first.closedByClient, 1, "the other host's stale connection was closed");
  } finally {
    client.close();
    first.close();
    second.close();
    await server.shutdown();
  }
});

Deno.test("a body past the drain limit keeps 1 KiB and closes its connection; a short one leaves it open", async () => {
  const server = serve((request) =>
    new URL(request.url).pathname === "/long" ? new Response("x".repeat(200_000)) : new Response("short")
  );
  const relay = countingRelay(server.addr.port);
  const client = new PinnedHttpClient();
  try {
    const base = `https://drain.${stack.CJH_RECEIVER_DOMAIN}:${relay.port}`;
    const long = await client.request(post(`${base}/long`, ["127.0.0.1"]));
    assert.equal(text(long.body), "x".repeat(1024));
    assert.equal(text((await client.request(post(`${base}/short`, ["127.0.0.1"]))).body), "short");
    assert.equal(text((await client.request(post(`${base}/short`, ["127.0.0.1"]))).body), "short");
    assert.equal(relay.accepted, 2, "a new connection after the long body, then reused");
  } finally {
    client.close();
    relay.close();
    await server.shutdown();
  }
});

Deno.test("a chunked answer is read to its end, with its headers, and its connection reused", async () => {
  const server = serve(
    () =>
      new Response(ReadableStream.from(["one ", "two ", "three"]).pipeThrough(new TextEncoderStream()), {
        status: 503,
        headers: { "retry-after": "30" },
      }),
    false,
  );
  const relay = countingRelay(server.addr.port);
  const client = new PinnedHttpClient();
  try {
    for (let i = 0; i < 2; i++) {
      const response = await client.request(post(`http://127.0.0.1:${relay.port}/`, ["127.0.0.1"]));
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("retry-after"), "30");
      assert.equal(text(response.body), "one two three");
    }
    assert.equal(relay.accepted, 1);
  } finally {
    client.close();
    relay.close();
    await server.shutdown();
  }
});

Deno.test("an abort ends a request that gets no answer, with the signal's reason", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const server = serve(async () => {
    await held;
    return new Response("late");
  });
  const client = new PinnedHttpClient();
  try {
    const timeout = new AbortController();
    setTimeout(() => timeout.abort(new DOMException("timed out", "TimeoutError")), 100);
    await assert.rejects(
      client.request(post(`https://held.${stack.CJH_RECEIVER_DOMAIN}:${server.addr.port}/`, ["127.0.0.1"], {
        signal: timeout.signal,
      })),
      (error: unknown) => error instanceof DOMException && error.name === "TimeoutError",
    );
  } finally {
    release();
    client.close();
    await server.shutdown();
  }
});

Deno.test("header values with line breaks are refused before anything is sent", async () => {
  const client = new PinnedHttpClient();
  await assert.rejects(
    client.request(post("http://127.0.0.1:9/", ["127.0.0.1"], { headers: { "x-test": "a\r\nInjected: yes" } })),
    TypeError,
  );
});

/** A raw TCP server on 127.0.0.1 that reads one request and writes `reply`, then closes if asked. */
function rawServer(reply: string, closeAfter: boolean) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  void (async () => {
    for await (const conn of listener) {
      accepted++;
      void (async () => {
        const buffer = new Uint8Array(65536);
        let request = "";
        while (!request.includes("\r\n\r\n")) {
          const count = await conn.read(buffer);
          if (count === null) return conn.close();
          request += new TextDecoder().decode(buffer.subarray(0, count));
        }
        await conn.write(new TextEncoder().encode(reply));
        if (closeAfter) conn.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    get accepted() {
      return accepted;
    },
    close: () => listener.close(),
  };
}

Deno.test("an interim 1xx answer is passed over for the final one", async () => {
  const server = rawServer(
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 5\r\nretry-after: 7\r\n\r\nnoted",
    false,
  );
  const client = new PinnedHttpClient();
  try {
    const response = await client.request(post(`http://127.0.0.1:${server.port}/`, ["127.0.0.1"]));
    assert.equal(response.status, 202);
    assert.equal(response.headers.get("retry-after"), "7");
    assert.equal(text(response.body), "noted");
  } finally {
    client.close();
    server.close();
  }
});

Deno.test("a body that ends with the connection is read to the close, and the connection is not reused", async () => {
  const server = rawServer("HTTP/1.1 500 Internal Server Error\r\n\r\nit broke", true);
  const client = new PinnedHttpClient();
  try {
    for (let i = 0; i < 2; i++) {
      const response = await client.request(post(`http://127.0.0.1:${server.port}/`, ["127.0.0.1"]));
      assert.equal(response.status, 500);
      assert.equal(text(response.body), "it broke");
    }
    assert.equal(server.accepted, 2);
  } finally {
    client.close();
    server.close();
  }
});

Deno.test("a connection closed before any answer is an error, not a response", async () => {
  const server = rawServer("", true);
  const client = new PinnedHttpClient();
  try {
    await assert.rejects(
      client.request(post(`http://127.0.0.1:${server.port}/`, ["127.0.0.1"])),
      /closed before a response/,
    );
  } finally {
    client.close();
    server.close();
  }
});
