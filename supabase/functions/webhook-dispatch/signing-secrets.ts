// The signing secrets of the endpoints this worker sends to, decrypted once per secret version:
// each claimed delivery carries its endpoint's secrets_version, which changes with every rotation.
import type { ClaimedDelivery, DeliveryStore } from "./store.ts";

/** Endpoints whose secrets one worker keeps in memory. */
const SECRET_CACHE_LIMIT = 1_000;

export class SigningSecretCache {
  #entries = new Map<string, { version: string; secrets: string[] }>();

  /** Fetches the secrets of every endpoint in `deliveries` whose cached version is stale. */
  async refresh(store: DeliveryStore, deliveries: ClaimedDelivery[]): Promise<void> {
    const stale = [
      ...new Set(
        deliveries.filter((d) => this.#entries.get(d.endpointId)?.version !== d.secretsVersion).map((d) =>
          d.endpointId
        ),
      ),
    ];
    if (stale.length === 0) return;
    const fresh = await store.signingSecrets(stale);
    for (const [endpointId, entry] of fresh) {
      this.#entries.delete(endpointId);
      this.#entries.set(endpointId, entry);
    }
    while (this.#entries.size > SECRET_CACHE_LIMIT) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** The secrets that sign for an endpoint, newest first (none if unknown). */
  secretsOf(endpointId: string): string[] {
    return this.#entries.get(endpointId)?.secrets ?? [];
  }
}
