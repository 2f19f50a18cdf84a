// The raw limit of signed POSTs, in its own process so that its CPU time is its own: `count`
// messages signed with the project's signer and POSTed to `url`, `concurrency` at a time, no
// database. Reads {url, secret, count, concurrency, template, runId} as JSON on stdin; prints
// {seconds, cpuMs} (cpuMs: this process's user + system CPU while sending, all threads).
import process from "node:process";
import { webhookHeaders, WebhookSigner } from "../supabase/functions/_shared/signing.ts";

const input = JSON.parse(await new Response(Deno.stdin.readable).text()) as {
  url: string;
  secret: string;
  count: number;
  concurrency: number;
  template: string;
  runId: string;
};
const messages = Array.from({ length: input.count }, (_, i) => {
  const id = `evt_${input.runId}${String(i).padStart(24, "0")}`;
  return { id, payload: input.template.replace(/"id": ?"evt_[0-9a-f]+"/, `"id":"${id}"`) };
});
const signer = new WebhookSigner();
const cpuBefore = process.cpuUsage();
const started = performance.now();
let next = 0;
await Promise.all(Array.from({ length: input.concurrency }, async () => {
  while (next < messages.length) {
    const message = messages[next++];
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const signature = signer.signatureHeader([input.secret], message.id, timestampSeconds, message.payload);
    const response = await fetch(input.url, {
      method: "POST",
      headers: webhookHeaders({ messageId: message.id, timestampSeconds, signature, retryCount: 0 }),
      body: message.payload,
    });
    await response.arrayBuffer();
  }
}));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
console.log(JSON.stringify({ seconds, cpuMs: (cpu.user + cpu.system) / 1000 }));
