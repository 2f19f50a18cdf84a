// The functions use only the runtime APIs docs/platform.md lists ("APIs the functions use"), each
// checked there against the edge runtime's source: a `Deno.*`, `EdgeRuntime.*` or `node:` API used
// under supabase/functions that the table does not name fails this test, and so does a row that no
// function uses any more.
import assert from "node:assert/strict";
import { ROOT } from "./_support/stack.ts";

const SECTION = "## APIs the functions use";

/** The API names in the first column of the section's table (every backticked name in it). */
function documentedApis(): Set<string> {
  const doc = Deno.readTextFileSync(`${ROOT}/docs/platform.md`);
  const start = doc.indexOf(SECTION);
  assert.ok(start >= 0, `docs/platform.md has a "${SECTION}" section`);
  const section = doc.slice(start + SECTION.length, doc.indexOf("\n## ", start + SECTION.length));
  const apis = new Set<string>();
  for (const line of section.split("\n")) {
    const firstCell = /^\|([^|]*)\|/.exec(line)?.[1] ?? "";
    for (const [, name] of firstCell.matchAll(/`([^`]+)`/g)) apis.add(name);
  }
  return apis;
}

/** Source text without comments or string contents other than import specifiers. */
function codeOf(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

function* functionSources(dir = `${ROOT}/supabase/functions`): Generator<[string, string]> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* functionSources(path);
    else if (/\.(ts|js|mjs|tsx)$/.test(entry.name)) yield [path.slice(ROOT.length + 1), Deno.readTextFileSync(path)];
  }
}

/** Every runtime API the functions' code names, with the files naming it. */
function usedApis(): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const add = (api: string, file: string) => used.set(api, (used.get(api) ?? new Set()).add(file));
  for (const [file, source] of functionSources()) {
    const code = codeOf(source);
    for (const [, name] of code.matchAll(/\bDeno\.([A-Za-z_$][\w$]*)/g)) add(`Deno.${name}`, file);
    for (const [, name] of code.matchAll(/\bEdgeRuntime\.([A-Za-z_$][\w$]*)/g)) add(`EdgeRuntime.${name}`, file);
    for (const [, name] of code.matchAll(/["'](node:[\w/]+)["']/g)) add(name, file);
  }
  return used;
}

Deno.test("every Deno, EdgeRuntime and node: API a function uses is listed in docs/platform.md", () => {
  const documented = documentedApis();
  const unlisted = [...usedApis()].filter(([api]) => !documented.has(api)).map(([api, files]) =>
    `${api} (${[...files].join(", ")})`
  );
  assert.deepEqual(unlisted, [], "check these against the edge runtime's source and list them, or stop using them");
});

Deno.test("every API docs/platform.md lists for the functions is still used by one", () => {
  const used = usedApis();
  assert.deepEqual([...documentedApis()].filter((api) => !used.has(api)), []);
});

Deno.test("the scan sees an API in code and ignores one named only in a comment", () => {
  const code = codeOf('// Deno.listen is a no-op\nconst l = Deno.listenTls(); /* Deno.run */ import "node:fs";');
  assert.match(code, /Deno\.listenTls/);
  assert.doesNotMatch(code, /Deno\.listen\b|Deno\.run/);
  assert.match(code, /"node:fs"/);
});
