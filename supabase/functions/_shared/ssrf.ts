// Where webhooks may go (docs/security.md, SSRF): https to public addresses only. Registration checks the
// URL's form and literal addresses (webhooks.endpoint_url_problem in SQL, same ranges); before
// every request the dispatcher resolves the host and checks every address again, so a name that
// later resolves inside the network (DNS rebinding) is still refused. The local stack may allow
// loopback receivers, and plain http to them, and nothing else.

export type Resolver = (hostname: string) => Promise<string[]>;

export interface DestinationPolicy {
  /** Local development only: accept loopback addresses (and http to them). */
  allowLoopback: boolean;
}

export type DestinationCheck = { ok: true; url: URL; addresses: string[] } | { ok: false; reason: string };

const MAX_URL_LENGTH = 2048;

interface Range {
  family: 4 | 6;
  network: bigint;
  prefix: number;
  cidr: string;
  label: string;
}

function range(cidr: string, label: string): Range {
  const [address, prefix] = cidr.split("/");
  const family = address.includes(":") ? 6 : 4;
  return { family, network: parseAddress(address)!.value, prefix: Number(prefix), cidr, label };
}

const BLOCKED: Range[] = [
  range("127.0.0.0/8", "loopback"),
  range("::1/128", "loopback"),
  range("0.0.0.0/8", '"this network"'),
  range("::/128", "unspecified"),
  range("10.0.0.0/8", "private"),
  range("172.16.0.0/12", "private"),
  range("192.168.0.0/16", "private"),
  range("fc00::/7", "private (unique local)"),
  range("100.64.0.0/10", "carrier-grade NAT"),
  range("169.254.0.0/16", "link-local"),
  range("fe80::/10", "link-local"),
  range("192.0.0.0/24", "IETF protocol assignments"),
  range("192.0.2.0/24", "documentation"),
  range("198.51.100.0/24", "documentation"),
  range("203.0.113.0/24", "documentation"),
  range("2001:db8::/32", "documentation"),
  range("3fff::/20", "documentation"),
  range("198.18.0.0/15", "benchmarking"),
  range("224.0.0.0/4", "multicast"),
  range("ff00::/8", "multicast"),
  range("255.255.255.255/32", "broadcast"),
  range("240.0.0.0/4", "reserved"),
  range("100::/64", "discard-only"),
  range("2001::/23", "IETF protocol assignments"),
  range("2002::/16", "6to4 relay"),
];

/**
 * Everything IANA has allocated for public IPv6 unicast. Outside it are only special or unassigned blocks
 * (SIIT ::ffff:0:0:0/96, local-use NAT64 64:ff9b:1::/48, site-local fec0::/10, …) that a translator or
 * router inside our network could carry to an internal IPv4 host, so they are refused whole.
 */
const GLOBAL_UNICAST = range("2000::/3", "global unicast");

/** IPv4 addresses carried inside IPv6 ones, judged as the IPv4 address. */
const EMBEDDING: Range[] = [
  range("::ffff:0:0/96", "IPv4-mapped"),
  range("64:ff9b::/96", "NAT64"),
  range("::/96", "IPv4-compatible"),
];

function parseIPv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) {
    return null;
  }
  return parts.reduce((value, part) => (value << 8n) | BigInt(part), 0n);
}

function parseIPv6(text: string): bigint | null {
  let head = text;
  let tailGroups: number[] = [];
  const v4 = head.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const value = parseIPv4(v4[2]);
    if (value === null) return null;
    head = v4[1].endsWith("::") ? v4[1] : v4[1].slice(0, -1);
    tailGroups = [Number(value >> 16n), Number(value & 0xffffn)];
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  if (![...left, ...right].every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return null;
  const explicit = left.length + right.length + tailGroups.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return null;
  const all = [
    ...left.map((group) => parseInt(group, 16)),
    ...new Array(8 - explicit).fill(0),
    ...right.map((group) => parseInt(group, 16)),
    ...tailGroups,
  ];
  return all.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** An address literal (IPv4 dotted quad, or IPv6 with or without brackets), or null. */
export function parseAddress(text: string): { family: 4 | 6; value: bigint } | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = parseIPv4(bare);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = bare.includes(":") ? parseIPv6(bare.split("%")[0]) : null;
  return v6 === null ? null : { family: 6, value: v6 };
}

function contains(block: Range, address: { family: 4 | 6; value: bigint }): boolean {
  if (block.family !== address.family) return false;
  const bits = BigInt(block.family === 4 ? 32 : 128);
  const shift = bits - BigInt(block.prefix);
  return address.value >> shift === block.network >> shift;
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

/** The name of the refused range `address` is in, or null when it may be contacted. */
export function blockedRange(address: string, policy: DestinationPolicy): string | null {
  let parsed = parseAddress(address);
  if (!parsed) return `${address} is not an IP address`;
  let shown = address.replace(/^\[|\]$/g, "");
  if (
    parsed.family === 6 && EMBEDDING.some((block) => contains(block, parsed!)) && parsed.value > 1n
  ) {
    parsed = { family: 4, value: parsed.value & 0xffffffffn };
    shown = formatIPv4(parsed.value);
  }
  const block = BLOCKED.find((candidate) => contains(candidate, parsed!));
  if (!block) {
    if (parsed.family === 6 && !contains(GLOBAL_UNICAST, parsed)) {
      return `destination ${shown} is outside the global unicast range (${GLOBAL_UNICAST.cidr})`;
    }
    return null;
  }
  if (block.label === "loopback" && policy.allowLoopback) return null;
  return `destination ${shown} is in a ${block.label} range (${block.cidr})`;
}

function isLoopback(address: string): boolean {
  return blockedRange(address, { allowLoopback: false })?.includes("loopback") ?? false;
}

/** The URL's form, without DNS: what registration can check synchronously. */
export function checkEndpointUrl(url: string, policy: DestinationPolicy): { ok: true; url: URL } | {
  ok: false;
  reason: string;
} {
  if (url.length > MAX_URL_LENGTH) return { ok: false, reason: `the URL is longer than ${MAX_URL_LENGTH} characters` };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "the URL is not valid" };
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return { ok: false, reason: "the URL must use https" };
  }
  if (parsed.username || parsed.password) return { ok: false, reason: "the URL must not contain credentials" };
  const literal = parseAddress(parsed.hostname);
  if (literal) {
    const blocked = blockedRange(parsed.hostname, policy);
    if (blocked) return { ok: false, reason: blocked };
  }
  const loopbackHost = literal ? isLoopback(parsed.hostname) : isLocalhostName(parsed.hostname);
  if (loopbackHost && !policy.allowLoopback) return { ok: false, reason: `${parsed.hostname} is a loopback host` };
  if (parsed.protocol === "http:" && !(loopbackHost && policy.allowLoopback)) {
    return { ok: false, reason: "the URL must use https" };
  }
  return { ok: true, url: parsed };
}

function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

export const defaultResolver: Resolver = async (hostname) => {
  if (isLocalhostName(hostname)) return ["127.0.0.1", "::1"];
  const lookups = await Promise.allSettled([
    Deno.resolveDns(hostname, "A"),
    Deno.resolveDns(hostname, "AAAA"),
  ]);
  // "No such record" is an empty answer; any other failure (a timeout, SERVFAIL) means an address
  // family went unchecked, and fetch could still dial it: refuse rather than judge half the host.
  for (const lookup of lookups) {
    if (lookup.status === "rejected" && !(lookup.reason instanceof Deno.errors.NotFound)) throw lookup.reason;
  }
  return lookups.flatMap((lookup) => (lookup.status === "fulfilled" ? lookup.value : []));
};

/** The URL's form and every address its host resolves to. */
export async function checkDestination(
  url: string,
  policy: DestinationPolicy,
  resolve: Resolver = defaultResolver,
): Promise<DestinationCheck> {
  const form = checkEndpointUrl(url, policy);
  if (!form.ok) return form;
  const literal = parseAddress(form.url.hostname);
  let addresses: string[];
  try {
    addresses = literal ? [form.url.hostname.replace(/^\[|\]$/g, "")] : await resolve(form.url.hostname);
  } catch {
    // A failed lookup is a refusal, not an exception, so the guard caches it like any verdict and
    // the dispatcher records a failed attempt instead of crashing the batch.
    return { ok: false, reason: `${form.url.hostname} could not be resolved` };
  }
  if (addresses.length === 0) return { ok: false, reason: `${form.url.hostname} does not resolve` };
  for (const address of addresses) {
    const blocked = blockedRange(address, policy);
    if (blocked) return { ok: false, reason: `${form.url.hostname} resolves to a refused address: ${blocked}` };
  }
  if (form.url.protocol === "http:" && !addresses.every(isLoopback)) {
    return { ok: false, reason: "the URL must use https" };
  }
  return { ok: true, url: form.url, addresses };
}

/** checkDestination with results kept per URL origin for `ttlMs` (a dispatcher sends to few hosts, often). */
export class DestinationGuard {
  #cache = new Map<string, { result: Promise<DestinationCheck>; expiresAt: number }>();

  constructor(
    readonly policy: DestinationPolicy,
    readonly resolve: Resolver = defaultResolver,
    readonly ttlMs = 30_000,
  ) {}

  check(url: string): Promise<DestinationCheck> {
    let key: string;
    try {
      const parsed = new URL(url);
      key = `${parsed.protocol}//${parsed.username}:${parsed.password}@${parsed.host}`;
    } catch {
      return checkDestination(url, this.policy, this.resolve);
    }
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt > now) return cached.result;
    const result = checkDestination(url, this.policy, this.resolve);
    this.#cache.set(key, { result, expiresAt: now + this.ttlMs });
    if (this.#cache.size > 10_000) this.#cache.clear();
    return result;
  }
}
