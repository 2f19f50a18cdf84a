#!/usr/bin/env node
// The standalone page's first load: every script and style sheet that dist/page/index.html loads
// before the dashboard can draw (the entry, its modulepreloads and its CSS; chunks loaded later on
// demand, such as the chart, are listed apart), raw and compressed as a server would send them
// (gzip -9 and brotli at quality 11). `node dashboard/scripts/measure.mjs` prints the table.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { PAGE_DIR } from "./prepare.mjs";

/** The size of one file: raw bytes, gzip -9 bytes and brotli (quality 11) bytes. */
function sizes(pageDir, file) {
  const content = readFileSync(join(pageDir, file));
  return {
    file,
    bytes: content.length,
    gzip: gzipSync(content, { level: 9 }).length,
    brotli: brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

const sum = (files) =>
  files.reduce((total, file) => ({
    bytes: total.bytes + file.bytes,
    gzip: total.gzip + file.gzip,
    brotli: total.brotli + file.brotli,
  }), { bytes: 0, gzip: 0, brotli: 0 });

/**
 * Sizes in bytes of what index.html loads first, `scripts` and `styles`, each with its `total`,
 * and `later`: the other scripts of the build, loaded on demand.
 */
export function firstLoad(pageDir = PAGE_DIR) {
  const html = readFileSync(join(pageDir, "index.html"), "utf8");
  const attribute = (pattern) => [...html.matchAll(pattern)].map((match) => match[1].replace(/^\.\//, ""));
  const scriptFiles = [
    ...attribute(/<script[^>]*\stype="module"[^>]*\ssrc="([^"]+)"/g),
    ...attribute(/<link[^>]*\srel="modulepreload"[^>]*\shref="([^"]+)"/g),
  ];
  const styleFiles = attribute(/<link[^>]*\srel="stylesheet"[^>]*\shref="([^"]+)"/g);
  const scripts = scriptFiles.map((file) => sizes(pageDir, file));
  const styles = styleFiles.map((file) => sizes(pageDir, file));
  const later = readdirSync(join(pageDir, "assets"))
    .map((name) => `assets/${name}`)
    .filter((file) => file.endsWith(".js") && !scriptFiles.includes(file))
    .map((file) => sizes(pageDir, file));
  return { scripts, styles, later, script: sum(scripts), style: sum(styles) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`.padStart(10);
  const load = firstLoad();
  const row = (label, size) => console.log(`${label.padEnd(60)}${kb(size.bytes)}${kb(size.gzip)}${kb(size.brotli)}`);
  console.log(
    `${"first load of dashboard/dist/page".padEnd(60)}${"raw".padStart(10)}${"gzip".padStart(10)}${
      "brotli".padStart(10)
    }`,
  );
  for (const file of [...load.scripts, ...load.styles]) row(`  ${file.file}`, file);
  row("script, total", load.script);
  row("style, total", load.style);
  for (const file of load.later) row(`later, on demand: ${file.file}`, file);
}
