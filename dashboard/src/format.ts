// Formatting for people: times in the viewer's time zone, durations, shares, and the conversion
// between a `datetime-local` input's value and the ISO-8601 instants the API takes.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const shortDateTime = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** "29 Nov 2026, 14:03:07" in the viewer's locale and time zone; "—" for null. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

/** A chart axis label for the start of a bucket: "29 Nov, 14:00". */
export function formatBucketStart(start: Date): string {
  return shortDateTime.format(start);
}

/** Milliseconds for people: "85 ms", "1.2 s"; "—" for null. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A share 0–1 as a percentage with at most one decimal: "99.5 %"; "—" for null (nothing measured). */
export function formatShare(share: number | null | undefined): string {
  if (share === null || share === undefined) return "—";
  const percent = Math.round(share * 1000) / 10;
  return `${percent} %`;
}

/**
 * The ISO-8601 instant for a `datetime-local` input's value ("2026-11-29T14:00", read in the
 * viewer's time zone), or undefined for an empty or unreadable value.
 */
export function localInputToIso(value: string): string | undefined {
  if (value.trim() === "") return undefined;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? undefined : instant.toISOString();
}

/** The `datetime-local` value (viewer's time zone, to the minute) showing an instant. */
export function instantToLocalInput(instant: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${instant.getFullYear()}-${pad(instant.getMonth() + 1)}-${pad(instant.getDate())}T${
    pad(instant.getHours())
  }:${pad(instant.getMinutes())}`;
}

/** Pretty-printed JSON for a code block. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
