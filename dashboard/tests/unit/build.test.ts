// @vitest-environment node
// What the builds promise (they are made by scripts/prepare.mjs before the tests run): a first load
// under budget, no local secret in the deployable page, a component package that leaves React and
// supabase-js to the host, API types in step with the OpenAPI document, and a README whose
// embedding snippet is the example the type check covers. (In Node: happy-dom's URL is not Node's.)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { API_TYPES_FILE, generateApiTypes } from "../../scripts/generate-api-types.mjs";
import { firstLoad } from "../../scripts/measure.mjs";
import { DASHBOARD_DIR, LIB_DIR, PAGE_DIR } from "../../scripts/prepare.mjs";
import { JWT_SECRET, SECRET_KEY, SERVICE_ROLE_KEY } from "../../../scripts/lib/platform.mjs";

/** The first load's budget: compressed (gzip) script, in bytes. */
const FIRST_LOAD_SCRIPT_BUDGET = 200 * 1024;

let measured: ReturnType<typeof firstLoad> | undefined;
/** The page's first load, measured once (brotli at its highest quality takes a while). */
const pageLoad = () => measured ??= firstLoad();

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]
  );
}

test("the builds exist (npm start and npm test make them; node dashboard/scripts/prepare.mjs by hand)", () => {
  expect(existsSync(join(PAGE_DIR, "index.html"))).toBe(true);
  expect(existsSync(join(LIB_DIR, "index.js"))).toBe(true);
});

describe("the standalone page", () => {
  test(`loads at most ${FIRST_LOAD_SCRIPT_BUDGET / 1024} KB of gzip-compressed script before it can draw`, () => {
    const load = pageLoad();
    expect(load.scripts.length).toBeGreaterThan(0);
    expect(load.script.gzip).toBeLessThanOrEqual(FIRST_LOAD_SCRIPT_BUDGET);
  });

  test("loads the dashboard's own styles with its first load", () => {
    const css = pageLoad().styles.map((file: { file: string }) => readFileSync(join(PAGE_DIR, file.file), "utf8"));
    expect(css.join("\n")).toContain(".cjh-wd");
  });

  test("loads the chart's code only when a chart is shown", () => {
    const { scripts, later } = pageLoad();
    const chartChunk = later.find((file) => file.file.includes("DeliveriesChart"));
    expect(chartChunk).toBeDefined();
    expect(scripts.some((file) => file.file.includes("DeliveriesChart"))).toBe(false);
  });

  test("holds no secret of the local stack, so the same files deploy anywhere", () => {
    for (const file of filesUnder(PAGE_DIR)) {
      const content = readFileSync(file, "utf8");
      for (const secret of [JWT_SECRET, SECRET_KEY, SERVICE_ROLE_KEY]) expect(content).not.toContain(secret);
    }
  });
});

describe("the component package", () => {
  test("imports React and its other dependencies rather than bundling them (supabase-js is the host's, by type only)", () => {
    const code = filesUnder(LIB_DIR).filter((file) => file.endsWith(".js")).map((file) => readFileSync(file, "utf8"))
      .join("\n");
    const imports = [...code.matchAll(/^import\b[^;]*?\bfrom\s*"([^"]+)"/gm)].map((match) => match[1]);
    const imported = new Set(imports.filter((specifier) => !specifier.startsWith(".")));
    expect([...imported].sort()).toEqual(["@tanstack/react-query", "chart.js", "react", "react/jsx-runtime"]);
    expect(code).not.toContain("__CLIENT_INTERNALS");
  });

  test("ships complete type declarations: the embedding example type-checks against them alone", () => {
    const result = spawnSync(join(DASHBOARD_DIR, "node_modules/.bin/tsc"), ["-p", "tsconfig.consumer.json"], {
      cwd: DASHBOARD_DIR,
      encoding: "utf8",
    });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 120_000);
});

test("src/api/openapi.d.ts matches docs/openapi.json (npm run gen:api-types in dashboard/ regenerates it)", async () => {
  expect(readFileSync(API_TYPES_FILE, "utf8")).toBe(await generateApiTypes());
});

test("the dashboard type-checks (tsc --noEmit)", () => {
  const result = spawnSync(join(DASHBOARD_DIR, "node_modules/.bin/tsc"), ["--noEmit", "-p", DASHBOARD_DIR], {
    encoding: "utf8",
  });
  expect(result.stdout + result.stderr).toBe("");
  expect(result.status).toBe(0);
}, 120_000);

test("README's embedding snippet is examples/embed.tsx", () => {
  const readme = readFileSync(join(DASHBOARD_DIR, "../README.md"), "utf8");
  const example = readFileSync(join(DASHBOARD_DIR, "examples/embed.tsx"), "utf8");
  const snippet = readme.match(/```tsx\n(\/\/ In the CJH React client[\s\S]*?)```/)?.[1];
  expect(snippet).toBe(example);
});
