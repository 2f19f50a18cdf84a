// The benchmarks' webhook receiver, seen from the bench: bench/receiver_worker.ts on its own thread
// (a Web Worker), so that receiving never competes with the senders measured for one event loop.
// It serves plain http on 127.0.0.1 always, and https too when started with a certificate.

/** What the receiver counted since its last reset. */
export interface ReceiverStats {
  requests: number;
  /** Distinct webhook-ids: duplicates are `requests - distinct`. */
  distinct: number;
  /** Per job title, the absolute arrival time (ms, performance.timeOrigin-based), when tracked. */
  arrivals: [string, number][];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();

export class Receiver {
  #worker = new Worker(new URL("./receiver_worker.ts", import.meta.url), { type: "module" });
  #waiting: ((data: Record<string, unknown>) => void)[] = [];
  /** The plain http server's port. */
  port = 0;
  /** The https server's port (0 unless started with a certificate). */
  httpsPort = 0;

  /** Starts the servers; with `certificate` (PEM), an https one beside the http one. */
  async start(certificate?: { cert: string; key: string }) {
    this.#worker.onmessage = (event) => this.#waiting.shift()?.(event.data);
    const ready = await this.#ask({ kind: "start", ...certificate });
    this.port = ready.port as number;
    this.httpsPort = (ready.httpsPort as number | undefined) ?? 0;
  }
  #ask(message: unknown): Promise<Record<string, unknown>> {
    const answer = new Promise<Record<string, unknown>>((resolve) => this.#waiting.push(resolve));
    this.#worker.postMessage(message);
    return answer;
  }
  get url() {
    return `http://127.0.0.1:${this.port}/hook`;
  }
  /** Forgets what arrived; with `trackTitles`, records each job title's first arrival time. */
  async reset(trackTitles = false) {
    await this.#ask({ kind: "reset", trackTitles });
  }
  async stats(): Promise<ReceiverStats> {
    return await this.#ask({ kind: "stats" }) as unknown as ReceiverStats;
  }
  /** Waits until `count` distinct webhook-ids arrived; the time of the poll that saw them. */
  async waitForDistinct(count: number, timeoutMs: number): Promise<{ at: number; stats: ReceiverStats }> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const stats = await this.stats();
      if (stats.distinct >= count) return { at: now(), stats };
      if (Date.now() > deadline) throw new Error(`only ${stats.distinct} of ${count} deliveries arrived`);
      await sleep(5);
    }
  }
  async stop() {
    await this.#ask({ kind: "stop" });
    this.#worker.terminate();
  }
}
