// Where webhooks may go (docs/security.md, SSRF): https to public addresses only.
//
// - Registration (webhooks.endpoint_url_problem in SQL) judges the URL's form and literal
//   addresses. It accepts only URLs whose host every reader reads alike (printable ASCII, no
//   backslash, a host of letters, digits, dots and hyphens or a bracketed IPv6 literal), so the
//   host it checks is the host this module's WHATWG parser, and so fetch, will use.
// - Before every request the dispatcher resolves the host and checks every address, and the
//   connection then goes to one of those checked addresses and nowhere else (_shared/pinned-http.ts
//   dials the address itself and does TLS with the host's name), so a DNS answer that changes
//   after the check (DNS rebinding) is never dialled. A literal address needs no lookup.
// - ADDRESS_RANGES is the one list of ranges; webhooks.address_ranges() in SQL holds the same
//   rows, and tests/ssrf_test.ts fails when the two differ.
// The local stack may allow loopback receivers, and plain http to them, and nothing else.
import ipaddr from "npm:ipaddr.js@2.5.0";

export type Resolver = (hostname: string) => Promise<string[]>;

export interface DestinationPolicy {
  /** Local development only: accept loopback addresses (and http to them). */
  allowLoopback: boolean;
}

/**
 * A destination that may be contacted: the parsed URL and every address its host resolved to
 * (all checked; the literal itself for an address literal), the only addresses to connect to.
 */
export type DestinationCheck =
  | { ok: true; url: URL; addresses: string[] }
  | { ok: false; reason: string };

const MAX_URL_LENGTH = 2048;

/**
 * Address ranges and what they mean for a destination:
 * - `refused`: never contacted (`loopback` only with the local setting);
 * - `ipv4_embedding`: an IPv6 range carrying an IPv4 address in its last 32 bits, judged as that
 *   IPv4 address;
 * - `ipv6_unicast`: the only IPv6 range that may be contacted at all. Outside it are only special
 *   or unassigned blocks (SIIT ::ffff:0:0:0/96, local-use NAT64 64:ff9b:1::/48, site-local
 *   fec0::/10, …) that a translator or router inside our network could carry to an internal host.
 * Sources: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) and RFC 6598.
 */
export const ADDRESS_RANGES: readonly { cidr: string; label: string; kind: AddressRangeKind }[] = [
  ...([
    ["127.0.0.0/8", "loopback"],
    ["::1/128", "loopback"],
    ["0.0.0.0/8", '"this network"'],
    ["::/128", "unspecified"],
    ["10.0.0.0/8", "private"],
    ["172.16.0.0/12", "private"],
    ["192.168.0.0/16", "private"],
    ["fc00::/7", "private (unique local)"],
    ["100.64.0.0/10", "carrier-grade NAT"],
    ["169.254.0.0/16", "link-local"],
    ["fe80::/10", "link-local"],
    ["192.0.0.0/24", "IETF protocol assignments"],
    ["192.0.2.0/24", "documentation"],
    ["198.51.100.0/24", "documentation"],
    ["203.0.113.0/24", "documentation"],
    ["2001:db8::/32", "documentation"],
    ["3fff::/20", "documentation"],
    ["198.18.0.0/15", "benchmarking"],
    ["224.0.0.0/4", "multicast"],
    ["ff00::/8", "multicast"],
    ["255.255.255.255/32", "broadcast"],
    ["240.0.0.0/4", "reserved"],
    ["100::/64", "discard-only"],
    ["2001::/23", "IETF protocol assignments"],
    ["2002::/16", "6to4 relay"],
  ] as const).map(([cidr, label]) => ({ cidr, label, kind: "refused" as const })),
  { cidr: "::ffff:0:0/96", label: "IPv4-mapped", kind: "ipv4_embedding" },
  { cidr: "64:ff9b::/96", label: "NAT64", kind: "ipv4_embedding" },
  { cidr: "::/96", label: "IPv4-compatible", kind: "ipv4_embedding" },
  { cidr: "2000::/3", label: "global unicast", kind: "ipv6_unicast" },
];

export type AddressRangeKind = "refused" | "ipv4_embedding" | "ipv6_unicast";

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

const parsedRanges = ADDRESS_RANGES.map((range) => ({ ...range, parsed: ipaddr.parseCIDR(range.cidr) as Cidr }));
const REFUSED = parsedRanges.filter((range) => range.kind === "refused");
const EMBEDDING = parsedRanges.filter((range) => range.kind === "ipv4_embedding");
const [IPV6_UNICAST] = parsedRanges.filter((range) => range.kind === "ipv6_unicast");

function inRange(address: Address, [network, prefix]: Cidr): boolean {
  return address.kind() === network.kind() && address.match(network, prefix);
}

/**
 * An address literal, or null: IPv4 only as four decimal octets (the other forms URL parsers
 * accept, such as 0x7f.1 or 2130706433, are refused before this is asked), IPv6 with or without
 * brackets and with or without a zone.
 */
export function parseAddress(text: string): Address | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (bare.includes(":") && ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare);
  return null;
}

/** The IPv4 address an IPv6 address carries (mapped, NAT64, compatible), or the address itself. */
function judgedAddress(address: Address): Address {
  if (address.kind() !== "ipv6") return address;
  const carrier = EMBEDDING.find((range) => inRange(address, range.parsed));
  const bytes = address.toByteArray();
  // :: and ::1 are themselves (unspecified, loopback), not IPv4 addresses.
  if (!carrier || bytes.slice(0, 15).every((byte) => byte === 0) && bytes[15] <= 1) return address;
  return ipaddr.fromByteArray(bytes.slice(12));
}

/** The reason `address` may not be contacted, or null when it may. */
export function blockedRange(address: string, policy: DestinationPolicy): string | null {
  const parsed = parseAddress(address);
  if (!parsed) return `${address} is not an IP address`;
  const judged = judgedAddress(parsed);
  const shown = judged.kind() === "ipv6" ? (judged as ipaddr.IPv6).toRFC5952String() : judged.toString();
  const block = REFUSED.find((range) => inRange(judged, range.parsed));
  if (block) {
    if (block.label === "loopback" && policy.allowLoopback) return null;
    return `destination ${shown} is in a ${block.label} range (${block.cidr})`;
  }
  if (judged.kind() === "ipv6" && !inRange(judged, IPV6_UNICAST.parsed)) {
    return `destination ${shown} is outside the global unicast range (${IPV6_UNICAST.cidr})`;
  }
  return null;
}

function isLoopback(address: string): boolean {
  return blockedRange(address, { allowLoopback: false })?.includes("loopback") ?? false;
}

function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

// The URL forms registration accepts (see the header), checked in the order, and with the
// messages, of webhooks.endpoint_url_problem: whatever a WHATWG parser would read differently
// from the text (a tab it drops, a backslash it reads as a slash, a full-width digit or an
// ideographic full stop it maps to ASCII, a percent-encoded host it decodes) is refused instead.
const PRINTABLE_ASCII = /^[!-~]*$/;
const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([/?#].*)?$/s;
const HOST = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::([0-9]{1,5}))?(?:[/?#]|$)/;
const NUMERIC_LAST_LABEL = /(^|\.)(0x[0-9a-f]*|[0-9]+)$/;
const FOUR_DECIMAL_OCTETS = /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$/;

/** The host registration checks (lowercased, without brackets or trailing dots), or null. */
export function endpointUrlHost(url: string): string | null {
  if (!PRINTABLE_ASCII.test(url) || url.includes("\\")) return null;
  const match = HOST.exec(url);
  if (!match || Number(match[3] ?? 0) > 65535) return null;
  return (match[1] ?? match[2]).replace(/\.+$/, "").toLowerCase();
}

type FormCheck = { ok: true; url: URL } | { ok: false; reason: string };

/** The URL's form, without DNS: what registration checks, by the same rules as the SQL check. */
export function checkEndpointUrl(url: string, policy: DestinationPolicy): FormCheck {
  if (url.length > MAX_URL_LENGTH) return { ok: false, reason: `the URL is longer than ${MAX_URL_LENGTH} characters` };
  if (!PRINTABLE_ASCII.test(url)) {
    return {
      ok: false,
      reason: "the URL must be printable ASCII without spaces (percent-encode the path, write an " +
        "internationalized host name in its xn-- form)",
    };
  }
  if (url.includes("\\")) return { ok: false, reason: "the URL must not contain a backslash" };
  const parts = ABSOLUTE.exec(url);
  if (!parts) return { ok: false, reason: "the URL must be absolute, like https://example.com/webhooks" };
  const scheme = parts[1].toLowerCase();
  if (scheme !== "https" && scheme !== "http") return { ok: false, reason: "the URL must use https" };
  if (parts[2].includes("@")) return { ok: false, reason: "the URL must not contain credentials" };
  const host = endpointUrlHost(url);
  if (!host) return { ok: false, reason: "the URL has no valid host" };
  if (!host.includes(":") && NUMERIC_LAST_LABEL.test(host) && !FOUR_DECIMAL_OCTETS.test(host)) {
    return { ok: false, reason: "numeric hosts must be written as four decimal octets" };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "the URL is not valid" };
  }
  const literal = parseAddress(host);
  if (literal === null && host.includes(":")) return { ok: false, reason: "the URL has no valid host" };
  const loopbackHost = literal ? isLoopback(host) : isLocalhostName(host);
  if (literal) {
    const blocked = blockedRange(host, policy);
    if (blocked) return { ok: false, reason: blocked };
  } else if (loopbackHost && !policy.allowLoopback) {
    return { ok: false, reason: `${host} is a loopback host` };
  }
  if (scheme === "http" && !(loopbackHost && policy.allowLoopback)) {
    return { ok: false, reason: "the URL must use https" };
  }
  return { ok: true, url: parsed };
}

/**
 * A resolver asking Deno.resolveDns for A and AAAA records, with `options` (a name server; by
 * default the platform's resolver). `localhost` names are loopback without a lookup.
 */
export function dnsResolver(options?: Deno.ResolveDnsOptions): Resolver {
  return async (hostname) => {
    if (isLocalhostName(hostname)) return ["127.0.0.1", "::1"];
    const lookups = await Promise.allSettled([
      Deno.resolveDns(hostname, "A", options),
      Deno.resolveDns(hostname, "AAAA", options),
    ]);
    // "No such record" is an empty answer; any other failure (a timeout, SERVFAIL) means an address
    // family went unchecked: refuse rather than judge half the host.
    for (const lookup of lookups) {
      if (lookup.status === "rejected" && !(lookup.reason instanceof Deno.errors.NotFound)) throw lookup.reason;
    }
    return lookups.flatMap((lookup) => (lookup.status === "fulfilled" ? lookup.value : []));
  };
}

export const defaultResolver: Resolver = dnsResolver();

/** The URL's form and every address its host resolves to (no connection is made). */
export async function checkDestination(
  url: string,
  policy: DestinationPolicy,
  resolve: Resolver = defaultResolver,
): Promise<DestinationCheck> {
  const form = checkEndpointUrl(url, policy);
  if (!form.ok) return form;
  const hostname = form.url.hostname.replace(/^\[|\]$/g, "");
  const literal = parseAddress(hostname.replace(/\.$/, ""));
  let addresses: string[];
  try {
    addresses = literal ? [hostname.replace(/\.$/, "")] : await resolve(form.url.hostname);
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

/**
 * checkDestination with verdicts kept per host for `ttlMs` (a dispatcher sends to few hosts,
 * often). A passing verdict's addresses are the ones its requests connect to until it expires.
 */
export class DestinationGuard {
  #verdicts = new Map<string, { result: Promise<DestinationCheck>; expiresAt: number }>();

  constructor(
    readonly policy: DestinationPolicy,
    readonly resolve: Resolver = defaultResolver,
    readonly ttlMs = 30_000,
  ) {}

  /**
   * The verdict for a URL's scheme and host, with the checked addresses to connect to when it
   * passes (its `url` is the URL the verdict was first given for: same scheme and host, maybe
   * another path).
   */
  check(url: string): Promise<DestinationCheck> {
    let key: string;
    try {
      const parsed = new URL(url);
      key = `${parsed.protocol}//${parsed.username}:${parsed.password}@${parsed.hostname}`;
    } catch {
      return checkDestination(url, this.policy, this.resolve);
    }
    const now = Date.now();
    const cached = this.#verdicts.get(key);
    if (cached && cached.expiresAt > now) return cached.result;
    const result = checkDestination(url, this.policy, this.resolve);
    this.#verdicts.set(key, { result, expiresAt: now + this.ttlMs });
    if (this.#verdicts.size > 10_000) this.#verdicts.clear();
    return result;
  }
}
