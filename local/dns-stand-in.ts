// The functions' DNS server on the local stack: hosted functions resolve receivers' names through
// the platform's resolver; here the gateway runs this one and every function host points
// Deno.resolveDns at it (local/function-host.ts), so a test decides what a name resolves to and the
// dispatcher's SSRF check judges that answer exactly as on hosted. It answers, over UDP (RFC 1035,
// packets by dns-packet):
// - A 127.0.0.1 for every name under `loopback.cjh.test` (the local https receivers; the receiver
//   certificate covers *.loopback.cjh.test), and an empty answer for their AAAA;
// - A 0.0.0.0 for every name under `refused.cjh.test`: a receiver name whose address the SSRF check
//   must refuse ("this network", 0.0.0.0/8). Linux delivers a connection to 0.0.0.0 to this
//   machine, so a test can see that nothing was sent, and a broken check still sends nothing away;
// - NXDOMAIN for everything else: nothing on the local stack resolves a real name through it.
import dgram from "node:dgram";
import dnsPacket from "npm:dns-packet@5.6.1";
import { Buffer } from "node:buffer";

/** The zones the stand-in answers, and the IPv4 address every name under each resolves to. */
export const LOCAL_ZONES: Readonly<Record<string, string>> = {
  "loopback.cjh.test": "127.0.0.1",
  "refused.cjh.test": "0.0.0.0",
};
const TTL_SECONDS = 5;

/** The A record for `name` under one of LOCAL_ZONES, null when it is in a zone without one, undefined outside them. */
function lookup(name: string): string | null | undefined {
  const lower = name.toLowerCase().replace(/\.$/, "");
  for (const [zone, address] of Object.entries(LOCAL_ZONES)) {
    if (lower === zone || lower.endsWith(`.${zone}`)) return address;
  }
  return undefined;
}

/** What the stand-in reads of a decoded packet (dns-packet ships no types). */
interface QueryPacket {
  type?: string;
  id?: number;
  questions?: { type: string; name: string; class?: string }[];
}

/** The answer to one query packet (or null for one that is not a query). */
export function answer(query: Buffer): Buffer | null {
  let packet: QueryPacket;
  try {
    packet = dnsPacket.decode(query) as QueryPacket;
  } catch {
    return null;
  }
  if (packet.type !== "query" || !packet.questions?.length) return null;
  const [question] = packet.questions;
  const address = lookup(question.name);
  const answers = address && question.type === "A"
    ? [{ type: "A", name: question.name, class: "IN", ttl: TTL_SECONDS, data: address }]
    : [];
  return dnsPacket.encode({
    type: "response",
    id: packet.id,
    // Authoritative answer, recursion desired copied, recursion available; RCODE 3 = NXDOMAIN.
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE |
      (address === undefined ? 3 : 0),
    questions: [question],
    answers,
  });
}

export interface DnsStandIn {
  port: number;
  close(): void;
}

/** Listens on 127.0.0.1:`port` (0: a free port) over UDP. */
export function startDnsStandIn(port: number): Promise<DnsStandIn> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (message, remote) => {
    const response = answer(message);
    if (response) socket.send(response, remote.port, remote.address);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, "127.0.0.1", () => {
      socket.off("error", reject);
      resolve({ port: socket.address().port, close: () => socket.close() });
    });
  });
}
