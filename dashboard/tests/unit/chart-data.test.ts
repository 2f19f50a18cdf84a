// Deliveries by outcome per time bucket, with the clock given rather than read.
import { describe, expect, test } from "vitest";
import { bucketDeliveries, outcomeOf, outcomeTotals, RANGES } from "../../src/chart-data";
import { chartSummary } from "../../src/components/EndpointActivity";

const HOUR = 3_600_000;
const end = new Date("2026-11-29T12:30:00Z");
const at = (iso: string, status: "pending" | "sending" | "succeeded" | "failed" | "exhausted") => ({
  created_at: iso,
  status,
});

describe("bucketDeliveries", () => {
  test("makes hour buckets aligned to the hour, the last one containing the end", () => {
    const buckets = bucketDeliveries([], { end, rangeMs: 24 * HOUR, bucketMs: HOUR });
    expect(buckets.starts).toHaveLength(24);
    expect(buckets.starts.at(-1)?.toISOString()).toBe("2026-11-29T12:00:00.000Z");
    expect(buckets.starts[0].toISOString()).toBe("2026-11-28T13:00:00.000Z");
  });

  test("counts each delivery once, by outcome, in the bucket of its creation", () => {
    const buckets = bucketDeliveries([
      at("2026-11-29T12:10:00Z", "succeeded"),
      at("2026-11-29T12:29:59Z", "failed"),
      at("2026-11-29T11:59:59Z", "succeeded"),
      at("2026-11-29T11:00:00Z", "sending"),
      at("2026-11-29T11:00:00Z", "exhausted"),
    ], { end, rangeMs: 24 * HOUR, bucketMs: HOUR });
    expect(buckets.total).toBe(5);
    expect(buckets.counts.succeeded.slice(-2)).toEqual([1, 1]);
    expect(buckets.counts.failed.slice(-2)).toEqual([0, 1]);
    expect(buckets.counts.pending.slice(-2)).toEqual([1, 0]);
    expect(buckets.counts.exhausted.slice(-2)).toEqual([1, 0]);
    expect(outcomeTotals(buckets)).toEqual({ succeeded: 2, pending: 1, failed: 1, exhausted: 1 });
  });

  test("leaves out deliveries before the first bucket or after the last", () => {
    const buckets = bucketDeliveries([
      at("2026-11-28T12:59:59Z", "succeeded"),
      at("2026-11-29T13:00:00Z", "succeeded"),
    ], { end, rangeMs: 24 * HOUR, bucketMs: HOUR });
    expect(buckets.total).toBe(0);
  });

  test("the seven-day range uses 28 six-hour buckets", () => {
    const { rangeMs, bucketMs } = RANGES["7d"];
    const buckets = bucketDeliveries([], { end, rangeMs, bucketMs });
    expect(buckets.starts).toHaveLength(28);
    expect(buckets.starts.at(-1)?.toISOString()).toBe("2026-11-29T12:00:00.000Z");
  });
});

test("a delivery being sent counts as pending", () => {
  expect(outcomeOf("sending")).toBe("pending");
  expect(outcomeOf("exhausted")).toBe("exhausted");
});

test("the chart's text alternative names every outcome that occurred", () => {
  const buckets = bucketDeliveries([
    at("2026-11-29T12:10:00Z", "succeeded"),
    at("2026-11-29T12:11:00Z", "succeeded"),
    at("2026-11-29T12:12:00Z", "failed"),
  ], { end, rangeMs: 24 * HOUR, bucketMs: HOUR });
  expect(chartSummary(buckets, "24h")).toBe("Deliveries by outcome, last 24 hours: 2 succeeded, 1 failed.");
});
