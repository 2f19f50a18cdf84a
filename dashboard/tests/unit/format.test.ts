// Formatting for people and the datetime-local ↔ ISO-8601 conversion the filters rely on.
import { describe, expect, test } from "vitest";
import { filterOf, lastResult } from "../../src/components/DeliveriesView";
import { formatDuration, formatShare, instantToLocalInput, localInputToIso } from "../../src/format";

describe("datetime-local values", () => {
  test("round-trip through the ISO instant the API takes, in the viewer's time zone", () => {
    const iso = localInputToIso("2026-11-29T14:05");
    expect(iso).toBe(new Date(2026, 10, 29, 14, 5).toISOString());
    expect(instantToLocalInput(new Date(iso!))).toBe("2026-11-29T14:05");
  });

  test("an empty or unreadable value filters nothing", () => {
    expect(localInputToIso("")).toBeUndefined();
    expect(localInputToIso("yesterday-ish")).toBeUndefined();
  });
});

test("the deliveries filter form sends only the filters that are set", () => {
  expect(filterOf({ status: "failed", event_type: "", endpoint_id: "", since: "2026-11-29T14:05", until: "" }))
    .toEqual({ status: "failed", since: new Date(2026, 10, 29, 14, 5).toISOString() });
});

test("durations, shares and missing measurements read naturally", () => {
  expect(formatDuration(85.4)).toBe("85 ms");
  expect(formatDuration(1234)).toBe("1.2 s");
  expect(formatDuration(null)).toBe("—");
  expect(formatShare(0.99512)).toBe("99.5 %");
  expect(formatShare(1)).toBe("100 %");
  expect(formatShare(null)).toBe("—");
});

test("a delivery's last result shows its status, or the error when no answer came, and drops errors a success overtook", () => {
  expect(lastResult({ last_response_status: 200, last_error: "HTTP 503" })).toBe("HTTP 200");
  expect(lastResult({ last_response_status: 503, last_error: "HTTP 503" })).toBe("HTTP 503");
  expect(lastResult({ last_response_status: 500, last_error: "timed out reading the body" })).toBe(
    "HTTP 500: timed out reading the body",
  );
  expect(lastResult({ last_response_status: null, last_error: "Connection refused" })).toBe("Connection refused");
  expect(lastResult({ last_response_status: null, last_error: null })).toBe("—");
});
