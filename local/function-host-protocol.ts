// What a function host (local/function-host.ts) and the worker pool that runs it
// (local/worker-pool.ts) say to each other. The host reports on its stdout, one JSON message per
// line after HOST_MESSAGE_PREFIX (the function's own output shares that stream); the pool controls
// the host through its stdin, one JSON message per line. Both read a worker's CPU time from /proc
// the same way.
import { z } from "npm:zod@4.6.7";

/** Marks a host's message among the function's own output lines. */
export const HOST_MESSAGE_PREFIX = "cjh-function-host:";

/**
 * `event.detail.reason` of the `beforeunload` event the edge runtime dispatches before it stops a
 * worker (supabase/edge-runtime, `WillTerminateReason` in crates/base/src/runtime/mod.rs).
 */
export const BEFOREUNLOAD_REASONS = ["cpu", "memory", "wall_clock", "early_drop", "termination"] as const;
export type BeforeunloadReason = (typeof BEFOREUNLOAD_REASONS)[number];

const hostMessage = z.discriminatedUnion("event", [
  // The function's module has loaded and its handler listens on `port`.
  z.object({ event: z.literal("ready"), port: z.number().int().positive() }),
  // Promises handed to EdgeRuntime.waitUntil that have not settled yet.
  z.object({ event: z.literal("background-tasks"), pending: z.number().int().nonnegative() }),
  // Heap plus external memory crossed half of the memory limit (upwards or back down).
  z.object({ event: z.literal("memory-half"), reached: z.boolean() }),
  // Heap plus external memory (bytes) reached the memory limit.
  z.object({ event: z.literal("memory-limit"), usedBytes: z.number().nonnegative() }),
  // The host dispatched beforeunload with reason early_drop and may now be terminated.
  z.object({ event: z.literal("early-drop-dispatched") }),
]);
export type HostMessage = z.infer<typeof hostMessage>;

const controlMessage = z.discriminatedUnion("event", [
  z.object({ event: z.literal("beforeunload"), reason: z.enum(BEFOREUNLOAD_REASONS) }),
  // The worker is retired and has answered every request it took (the runtime's `drain` event).
  z.object({ event: z.literal("drain") }),
  // Dispatch beforeunload with reason early_drop, then report early-drop-dispatched.
  z.object({ event: z.literal("early-drop") }),
]);
export type ControlMessage = z.infer<typeof controlMessage>;

/** The line that carries a host's message, newline included. */
export function hostMessageLine(message: HostMessage): string {
  return `${HOST_MESSAGE_PREFIX}${JSON.stringify(message)}\n`;
}

/**
 * The host's message in an output line, or null for the function's own output. The prefix may
 * follow output the function wrote without a newline.
 */
export function parseHostMessage(line: string): HostMessage | null {
  const start = line.indexOf(HOST_MESSAGE_PREFIX);
  if (start < 0) return null;
  return hostMessage.parse(JSON.parse(line.slice(start + HOST_MESSAGE_PREFIX.length)));
}

/** The line that carries a control message, newline included. */
export function controlMessageLine(message: ControlMessage): string {
  return `${JSON.stringify(message)}\n`;
}

export function parseControlMessage(line: string): ControlMessage {
  return controlMessage.parse(JSON.parse(line));
}

/** The lines of a byte stream, without their newlines; a last line without one included. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
  buffered += decoder.decode();
  if (buffered) yield buffered;
}
