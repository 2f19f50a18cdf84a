// The local gateway's authentication: what the edge runtime's verify_jwt does before a function
// runs, and the project's JWKS that Auth publishes. verify_jwt reads only `Authorization: Bearer
// <jwt>` (API keys are not JWTs and are refused), verifies HS256 tokens with the legacy secret
// while the project has one, and ES256 / RS256 tokens against the JWKS (as the Supabase CLI's
// edge-runtime template does, with its 401 bodies). Nothing is rewritten: functions receive the
// caller's headers as they came, as on hosted.
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type JSONWebKeySet,
  jwtVerify,
} from "npm:jose@6.2.17";

export interface GatewayAuth {
  /** GET <SUPABASE_URL>/auth/v1/.well-known/jwks.json: the public signing keys. */
  jwks: JSONWebKeySet;
  /** A 401 with the runtime's body when verify_jwt refuses the request, else null. */
  rejectUnauthorized(headers: Headers): Promise<Response | null>;
}

export const JWKS_PATH = "/auth/v1/.well-known/jwks.json";

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"];

/** The public half of a private JWK, with `key_ops: ["verify"]`. */
export function publicJwk(key: Record<string, unknown>): Record<string, unknown> {
  const entries = PUBLIC_MEMBERS.filter((name) => key[name] !== undefined).map((name) => [name, key[name]]);
  return { ...Object.fromEntries(entries), key_ops: ["verify"] };
}

/**
 * The gateway's verify_jwt from its environment: CJH_SIGNING_KEYS_FILE (the local signing keys,
 * private JWKs, of which the JWKS publishes the public halves) and CJH_JWT_SECRET (the legacy
 * secret; unset once the project has revoked it).
 */
export function loadGatewayAuth(env: Record<string, string | undefined> = Deno.env.toObject()): GatewayAuth {
  const keysFile = env.CJH_SIGNING_KEYS_FILE;
  if (!keysFile) throw new Error("CJH_SIGNING_KEYS_FILE is not set; start the gateway with scripts/stack.mjs");
  const privateKeys = Object.values(JSON.parse(Deno.readTextFileSync(keysFile))) as Record<string, unknown>[];
  const jwks = { keys: privateKeys.map(publicJwk) } as JSONWebKeySet;
  const legacySecret = env.CJH_JWT_SECRET ? new TextEncoder().encode(env.CJH_JWT_SECRET) : null;
  const keySet = createLocalJWKSet(jwks);
  const unauthorized = (msg: string) => Response.json({ msg }, { status: 401 });

  return {
    jwks,
    async rejectUnauthorized(headers) {
      const header = headers.get("authorization");
      if (!header) return unauthorized("Error: Missing authorization header");
      const [scheme, token] = header.split(" ");
      if (scheme !== "Bearer") return unauthorized("Error: Auth header is not 'Bearer {token}'");
      let algorithm: string | undefined;
      try {
        algorithm = decodeProtectedHeader(token ?? "").alg;
      } catch (error) {
        // The runtime reports an undecodable token by its error, as jose words it.
        return unauthorized(String(error));
      }
      try {
        if (algorithm === "HS256" && legacySecret !== null) {
          await jwtVerify(token, legacySecret, { algorithms: ["HS256"] });
          return null;
        }
        if (algorithm === "ES256" || algorithm === "RS256") {
          await jwtVerify(token, keySet, { algorithms: ["ES256", "RS256"] });
          return null;
        }
      } catch (error) {
        if (!(error instanceof joseErrors.JOSEError)) throw error;
      }
      return unauthorized("Invalid JWT");
    },
  };
}
