// HTTP/1.1 requests over connections that go only to addresses the SSRF check approved.
//
// fetch cannot be told which address to dial for a name, and the edge runtime gives a function no
// listening socket through which a proxy could pin it (its listen op opens nothing). What the
// runtime does give a user worker (docs/platform.md, "APIs the functions use") is Deno.connect to
// an address, Deno.startTls on that connection with the name the certificate must match (and the
// SNI it sends), and Deno.resolveDns. So a request here connects to one of the checked addresses,
// does TLS with the URL's host name when the URL is https, and speaks HTTP/1.1 over that
// connection; the response is read by http-parser-js (Node's HTTP parser interface in plain
// JavaScript, so it runs unchanged on the runtime; undici's Client would take a custom connector
// too, but only as a node:net socket, which puts Node's stream emulation on every byte).
//
// Connections are kept per (scheme, host, port, checked address) and reused while idle for less
// than IDLE_CONNECTION_MS, so a TLS handshake is paid once per connection, not once per request.
import { Buffer } from "node:buffer";
import { HTTPParser } from "npm:http-parser-js@0.5.10";

/** An idle connection older than this is closed rather than reused: under common servers' keep-alive timeouts (5 s). */
export const IDLE_CONNECTION_MS = 4_000;
/**
 * Idle connections kept per destination and address; more are closed when their request ends. At
 * least an endpoint's requests in flight (webhooks.settings.endpoint_concurrency, 32 by default),
 * or each wave of requests would open new connections, each a full TLS handshake: Deno.startTls has
 * no session cache to resume one (bench/RESULTS.md, "https delivery").
 */
export const MAX_IDLE_CONNECTIONS = 64;
/**
 * A keep-alive response body is read to its end (and dropped past `maxBodyBytes`) up to this many
 * bytes so its connection can be reused; a longer one closes its connection instead.
 */
export const MAX_DRAIN_BYTES = 64 * 1024;
const READ_BUFFER_BYTES = 16 * 1024;

/** One request: where (the URL and the checked addresses to connect to, in order) and what. */
export interface PinnedRequest {
  /** http: or https: URL; its host name is what TLS verifies and the Host header names. */
  url: URL;
  /** Addresses the SSRF check approved for the URL's host; the only ones ever dialled. */
  addresses: readonly string[];
  method: string;
  headers: HeadersInit;
  body: Uint8Array;
  /** Aborting closes the connection; the request then rejects with the signal's reason. */
  signal: AbortSignal;
  /** How much of the response body to keep (bytes). */
  maxBodyBytes: number;
}

/** The final (non-1xx) response: status, headers, and at most `maxBodyBytes` of the body. */
export interface PinnedResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Sends one request; PinnedHttpClient.request, or a test's stand-in with the same contract. */
export type PinnedPost = (request: PinnedRequest) => Promise<PinnedResponse>;

interface Connection {
  conn: Deno.Conn;
  key: string;
  idleSince: number;
  /** The connection's read buffer, allocated once for every response it carries. */
  buffer?: Uint8Array;
}

const encoder = new TextEncoder();

/** Thrown when a reused connection ends before any byte of the response: the request may be retried on a new one. */
class StaleConnection extends Error {}

/** A pool of pinned connections; one per worker (module scope), shared by every request it sends. */
export class PinnedHttpClient {
  #idle = new Map<string, Connection[]>();
  #lastSweep = 0;

  /** `idleConnectionMs`: how long a connection may wait for its next request (tests shorten it). */
  constructor(readonly idleConnectionMs = IDLE_CONNECTION_MS) {}

  /** Sends `request` and reads its response; rejects on connection, TLS, protocol or abort failures. */
  request = async (request: PinnedRequest): Promise<PinnedResponse> => {
    if (request.url.protocol !== "https:" && request.url.protocol !== "http:") {
      throw new TypeError(`unsupported scheme ${request.url.protocol}`);
    }
    if (request.addresses.length === 0) throw new TypeError("no checked address to connect to");
    const head = requestHead(request);
    this.#sweep();
    const reused = this.#takeIdle(request);
    if (reused) {
      try {
        return await this.#exchange(reused, head, request, true);
      } catch (error) {
        // A server may close an idle connection just as it is reused; nothing of the response
        // arrived, so the request goes once more on a new connection (the receiver deduplicates
        // by webhook-id should the first copy have been processed after all).
        if (!(error instanceof StaleConnection) || request.signal.aborted) throw error;
      }
    }
    return await this.#exchange(await this.#connect(request), head, request, false);
  };

  /** Closes every idle connection (tests; a worker keeps its client for life). */
  close(): void {
    for (const connections of this.#idle.values()) for (const { conn } of connections) closeQuietly(conn);
    this.#idle.clear();
  }

  #takeIdle(request: PinnedRequest): Connection | undefined {
    const now = Date.now();
    for (const address of request.addresses) {
      const connections = this.#idle.get(connectionKey(request.url, address));
      while (connections && connections.length > 0) {
        const connection = connections.pop()!;
        if (now - connection.idleSince < this.idleConnectionMs) return connection;
        closeQuietly(connection.conn);
      }
    }
    return undefined;
  }

  /** Only the connections of `connections` still fresh; the others are closed. */
  #fresh(connections: Connection[], now: number): Connection[] {
    return connections.filter((connection) => {
      if (now - connection.idleSince < this.idleConnectionMs) return true;
      closeQuietly(connection.conn);
      return false;
    });
  }

  /**
   * Closes the idle connections of every destination once they are stale, at most once per idle
   * period: a worker that sent to many hosts once keeps no socket open for each of them.
   */
  #sweep(): void {
    const now = Date.now();
    if (now - this.#lastSweep < this.idleConnectionMs) return;
    this.#lastSweep = now;
    for (const [key, connections] of this.#idle) {
      const fresh = this.#fresh(connections, now);
      if (fresh.length > 0) this.#idle.set(key, fresh);
      else this.#idle.delete(key);
    }
  }

  #release(connection: Connection): void {
    const now = Date.now();
    const fresh = this.#fresh(this.#idle.get(connection.key) ?? [], now);
    if (fresh.length >= MAX_IDLE_CONNECTIONS) {
      closeQuietly(connection.conn);
    } else {
      connection.idleSince = now;
      fresh.push(connection);
    }
    if (fresh.length > 0) this.#idle.set(connection.key, fresh);
    else this.#idle.delete(connection.key);
  }

  /** A new connection to the first checked address that accepts one, with TLS for https. */
  async #connect(request: PinnedRequest): Promise<Connection> {
    const { url, signal } = request;
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    let lastError: unknown = new Error("no checked address to connect to");
    for (const address of request.addresses) {
      signal.throwIfAborted();
      let tcp: Deno.TcpConn;
      try {
        tcp = await abortable(Deno.connect({ hostname: address, port, transport: "tcp" }), signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        lastError = error;
        continue;
      }
      const key = connectionKey(url, address);
      if (url.protocol === "http:") return { conn: tcp, key, idleSince: 0 };
      // TLS with the URL's name, not the address: the certificate is checked against the name and
      // the name is sent as SNI, exactly as fetch would for that URL.
      const closeOnAbort = () => closeQuietly(tcp);
      signal.addEventListener("abort", closeOnAbort, { once: true });
      try {
        const tls = await Deno.startTls(tcp, { hostname: hostnameOf(url) });
        return { conn: tls, key, idleSince: 0 };
      } catch (error) {
        closeQuietly(tcp);
        if (signal.aborted) throw signal.reason;
        throw error;
      } finally {
        signal.removeEventListener("abort", closeOnAbort);
      }
    }
    throw lastError;
  }

  /** Writes the request, reads the response, and puts the connection back when it can be reused. */
  async #exchange(connection: Connection, head: Uint8Array, request: PinnedRequest, reused: boolean) {
    const { conn } = connection;
    const onAbort = () => closeQuietly(conn);
    request.signal.addEventListener("abort", onAbort, { once: true });
    let received = false;
    try {
      if (reused && request.signal.aborted) throw request.signal.reason;
      try {
        await writeAll(conn, head, request.body);
      } catch (error) {
        if (reused) throw new StaleConnection(String(error));
        throw error;
      }
      const reader = new ResponseReader(request.maxBodyBytes);
      const buffer = connection.buffer ??= new Uint8Array(READ_BUFFER_BYTES);
      while (!reader.done) {
        let count: number | null;
        try {
          count = await conn.read(buffer);
        } catch (error) {
          if (reused && !received && !request.signal.aborted) throw new StaleConnection(String(error));
          throw error;
        }
        if (count === null) {
          if (reused && !received) throw new StaleConnection("the connection was closed");
          reader.end();
          break;
        }
        received = true;
        reader.feed(buffer.subarray(0, count));
        if (reader.shouldStopReading()) break;
      }
      const response = reader.response();
      if (reader.reusable) {
        request.signal.removeEventListener("abort", onAbort);
        this.#release(connection);
      } else {
        closeQuietly(conn);
      }
      return response;
    } catch (error) {
      closeQuietly(conn);
      if (request.signal.aborted) throw request.signal.reason;
      throw error;
    } finally {
      request.signal.removeEventListener("abort", onAbort);
    }
  }
}

/**
 * Feeds response bytes to http-parser-js and keeps what an attempt needs: the final status, the
 * headers, the body's first bytes, and whether the connection may carry another request.
 */
class ResponseReader {
  done = false;
  #parser = new HTTPParser(HTTPParser.RESPONSE);
  #status = 0;
  #headers = new Headers();
  #keepAlive = false;
  #interim = false;
  #bodyChunks: Uint8Array[] = [];
  #bodyKept = 0;
  #bodySeen = 0;

  constructor(readonly maxBodyBytes: number) {
    this.#parser[HTTPParser.kOnHeadersComplete] = (info) => {
      // 1xx (100 Continue, 103 Early Hints) precede the real answer.
      this.#interim = info.statusCode >= 100 && info.statusCode < 200 && info.statusCode !== 101;
      if (this.#interim) return;
      this.#status = info.statusCode;
      this.#keepAlive = info.shouldKeepAlive;
      for (let i = 0; i < info.headers.length; i += 2) {
        try {
          this.#headers.append(info.headers[i], info.headers[i + 1]);
        } catch {
          // A header the Headers class refuses (invalid characters) is not kept.
        }
      }
    };
    this.#parser[HTTPParser.kOnBody] = (chunk: Buffer, offset: number, length: number) => {
      this.#bodySeen += length;
      const room = this.maxBodyBytes - this.#bodyKept;
      if (room <= 0) return;
      const kept = Math.min(room, length);
      this.#bodyChunks.push(new Uint8Array(chunk.subarray(offset, offset + kept)));
      this.#bodyKept += kept;
    };
    this.#parser[HTTPParser.kOnMessageComplete] = () => {
      if (this.#interim) this.#interim = false;
      else this.done = true;
    };
  }

  feed(bytes: Uint8Array): void {
    const result = this.#parser.execute(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (result instanceof Error) throw new Error(`invalid HTTP response: ${result.message}`);
  }

  /** The connection ended: a body delimited by the close is complete, anything else is cut off. */
  end(): void {
    const result = this.#parser.finish();
    if (result instanceof Error || !this.done) {
      if (this.#status === 0) throw new Error("the connection was closed before a response");
      // A body cut off mid-way still leaves its status and what arrived of it.
    }
    this.done = true;
  }

  /**
   * Whether to stop before the message ends: once the excerpt is full, a body that would end only
   * with the connection, or one longer than MAX_DRAIN_BYTES, is not worth reading on.
   */
  shouldStopReading(): boolean {
    if (this.#status === 0 || this.#bodyKept < this.maxBodyBytes) return false;
    return !this.#keepAlive || this.#bodySeen > MAX_DRAIN_BYTES;
  }

  /** Whether the connection may carry another request: the message ended and the server keeps it open. */
  get reusable(): boolean {
    return this.done && this.#keepAlive && this.#status !== 101;
  }

  response(): PinnedResponse {
    if (this.#status === 0) throw new Error("the connection was closed before a response");
    const body = new Uint8Array(this.#bodyKept);
    let offset = 0;
    for (const chunk of this.#bodyChunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return { status: this.#status, headers: this.#headers, body };
  }
}

/** The URL's host name as TLS and DNS see it: no IPv6 brackets, no trailing dot. */
export function hostnameOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "");
}

function connectionKey(url: URL, address: string): string {
  return `${url.protocol}//${url.host} ${address}`;
}

/** The request line and headers; Headers refuses names and values with CR, LF or NUL. */
function requestHead(request: PinnedRequest): Uint8Array {
  const headers = new Headers(request.headers);
  headers.set("host", request.url.host);
  headers.set("content-length", String(request.body.byteLength));
  let head = `${request.method} ${request.url.pathname}${request.url.search} HTTP/1.1\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  return encoder.encode(`${head}\r\n`);
}

async function writeAll(conn: Deno.Conn, head: Uint8Array, body: Uint8Array): Promise<void> {
  // One write for a small request, so head and body leave in one segment (and one TLS record).
  const bytes = body.byteLength <= READ_BUFFER_BYTES ? concat(head, body) : head;
  for (let written = 0; written < bytes.byteLength;) written += await conn.write(bytes.subarray(written));
  if (bytes !== head) return;
  for (let written = 0; written < body.byteLength;) written += await conn.write(body.subarray(written));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a);
  joined.set(b, a.byteLength);
  return joined;
}

/** `promise`, or the signal's reason once it aborts (a connection that opens after that is closed). */
function abortable<T extends Deno.Conn>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.then(closeQuietly, () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.then(closeQuietly, () => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) closeQuietly(value);
        else resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
