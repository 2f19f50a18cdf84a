// Deliveries by outcome over time, for the endpoint activity chart: pure bucketing, so the chart
// and its table alternative show the same numbers and tests can fix the clock.
import type { Delivery, DeliveryStatus } from "./api/client";

export const OUTCOMES = ["succeeded", "pending", "failed", "exhausted"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const OUTCOME_LABELS: Record<Outcome, string> = {
  succeeded: "Succeeded",
  pending: "Pending or retrying",
  failed: "Failed",
  exhausted: "Exhausted",
};

const HOUR_MS = 3_600_000;

/** The ranges the chart offers, with the bucket width (ms) each is drawn with. */
export const RANGES = {
  "24h": { label: "Last 24 hours", rangeMs: 24 * HOUR_MS, bucketMs: HOUR_MS },
  "7d": { label: "Last 7 days", rangeMs: 7 * 24 * HOUR_MS, bucketMs: 6 * HOUR_MS },
} as const;
export type RangeKey = keyof typeof RANGES;

/** A delivery's outcome so far: a delivery being sent or waiting for its next attempt is pending. */
export function outcomeOf(status: DeliveryStatus): Outcome {
  return status === "sending" ? "pending" : status;
}

export interface Buckets {
  /** Start of each bucket, oldest first; each is `bucketMs` wide and aligned to multiples of it since the epoch. */
  starts: Date[];
  bucketMs: number;
  /** Deliveries created in each bucket, per outcome, index-aligned with `starts`. */
  counts: Record<Outcome, number[]>;
  /** Deliveries counted in some bucket. */
  total: number;
}

/**
 * Counts deliveries by outcome per time bucket over the `rangeMs` before `end` (by `created_at`).
 * The last bucket is the one containing `end`; deliveries outside every bucket are not counted.
 */
export function bucketDeliveries(
  deliveries: readonly Pick<Delivery, "created_at" | "status">[],
  { end, rangeMs, bucketMs }: { end: Date; rangeMs: number; bucketMs: number },
): Buckets {
  const bucketCount = Math.max(1, Math.ceil(rangeMs / bucketMs));
  const lastStart = Math.floor(end.getTime() / bucketMs) * bucketMs;
  const firstStart = lastStart - (bucketCount - 1) * bucketMs;
  const starts = Array.from({ length: bucketCount }, (_, index) => new Date(firstStart + index * bucketMs));
  const counts = Object.fromEntries(
    OUTCOMES.map((outcome) => [outcome, new Array<number>(bucketCount).fill(0)]),
  ) as Record<Outcome, number[]>;
  let total = 0;
  for (const delivery of deliveries) {
    const index = Math.floor((new Date(delivery.created_at).getTime() - firstStart) / bucketMs);
    if (index < 0 || index >= bucketCount) continue;
    counts[outcomeOf(delivery.status)][index] += 1;
    total += 1;
  }
  return { starts, bucketMs, counts, total };
}

/** Per-outcome totals over all buckets. */
export function outcomeTotals(buckets: Buckets): Record<Outcome, number> {
  return Object.fromEntries(
    OUTCOMES.map((outcome) => [outcome, buckets.counts[outcome].reduce((sum, count) => sum + count, 0)]),
  ) as Record<Outcome, number>;
}
