// The local stack's sign-in: the page server (local/dashboard-server.ts in the repository) lists
// the seed users and mints a session for the one chosen, signed with the local JWT secret it alone
// holds. Tokens live in this
// module's memory only, never in storage. Hosted builds never call this: their config.json has no
// local_sign_in, and no page server answers these routes there.

export interface LocalMembership {
  org_id: string;
  org_name: string;
  role: string;
}

export interface LocalUser {
  user_id: string;
  email: string;
  memberships: LocalMembership[];
}

const RENEW_BEFORE_EXPIRY_MS = 60_000;

async function localRoute<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(new URL(path, document.baseURI), init);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (body as { error?: { message?: string } } | null)?.error?.message;
    throw new Error(message ?? `The local page server answered ${response.status}.`);
  }
  return body as T;
}

/** Everyone the local database knows with an email address, and their memberships. */
export async function fetchLocalUsers(): Promise<LocalUser[]> {
  return (await localRoute<{ users: LocalUser[] }>("local/users")).users;
}

/**
 * A session for `userId`, as supabase-js's `accessToken` option wants it: resolves with a valid
 * access token, minting a new one shortly before the current one expires.
 */
export function localAccessToken(userId: string): () => Promise<string> {
  let current: { token: string; expiresAtMs: number } | undefined;
  return async () => {
    if (!current || current.expiresAtMs - Date.now() < RENEW_BEFORE_EXPIRY_MS) {
      const session = await localRoute<{ access_token: string; expires_at: number }>("local/session", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user_id: userId }),
      });
      current = { token: session.access_token, expiresAtMs: session.expires_at * 1000 };
    }
    return current.token;
  };
}
