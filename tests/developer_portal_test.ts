// The developer portal: docs/openapi.json is generated from the code's zod schemas and is current,
// Redocly's recommended rules find nothing in it, it documents every webhook-admin route and every
// event type, and its webhook examples are payloads the code would send.
import assert from "node:assert/strict";
import { API_VERSION, EVENT_CATALOG, EVENT_TYPES } from "../supabase/functions/_shared/events.ts";
import { ROUTES } from "../supabase/functions/webhook-admin/api.ts";
import { MemberRequest, parseBody } from "../supabase/functions/mapbox-geocode/request.ts";
import { GeocodeResponse } from "../supabase/functions/mapbox-geocode/response.ts";
import { createAdminApp } from "../supabase/functions/webhook-admin/app.ts";
import { HttpError } from "../supabase/functions/_shared/http.ts";
import { NOT_AN_ID } from "../supabase/functions/_shared/openapi.ts";
import { OPENAPI_PATH, renderOpenApi } from "../scripts/generate-openapi.ts";

const ROOT = new URL("..", import.meta.url).pathname;

// deno-lint-ignore no-explicit-any -- walking a parsed JSON document
type Json = Record<string, any>;

const document = JSON.parse(await Deno.readTextFile(`${ROOT}${OPENAPI_PATH}`)) as Json;

async function run(command: string, args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", ...env },
  }).output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("docs/openapi.json is what scripts/generate-openapi.ts generates (--check passes)", async () => {
  const { code, output } = await run(Deno.execPath(), [
    "run",
    "--allow-read",
    "--allow-write",
    "scripts/generate-openapi.ts",
    "--check",
  ]);
  assert.equal(code, 0, output);
  assert.equal(await Deno.readTextFile(`${ROOT}${OPENAPI_PATH}`), renderOpenApi());
});

Deno.test("redocly lint (recommended rules, redocly.yaml) reports no error and no warning", async () => {
  const { code, output } = await run(`${ROOT}/node_modules/.bin/redocly`, ["lint", OPENAPI_PATH]);
  assert.equal(code, 0, output);
  assert.match(output, /Your API description is valid/, output);
  assert.doesNotMatch(output, /\d+ (warning|error)s?\b/i, output);
});

Deno.test("it is OpenAPI 3.1.0 with the API version, both servers and both security schemes", () => {
  assert.equal(document.openapi, "3.1.0");
  assert.equal(document.info.version, API_VERSION);
  assert.deepEqual(document.servers.map((server: Json) => server.url), [
    "http://127.0.0.1:54321/functions/v1",
    "https://{project_ref}.supabase.co/functions/v1",
  ]);
  assert.deepEqual(Object.keys(document.components.securitySchemes).sort(), ["apikey", "bearerAuth"]);
  assert.equal(document.components.securitySchemes.bearerAuth.bearerFormat, "JWT");
});

Deno.test("every webhook-admin route is in the document with its parameters, body, success and errors", () => {
  for (const route of ROUTES) {
    const path = `/webhook-admin${route.path}`;
    const operation = document.paths[path]?.[route.method.toLowerCase()];
    assert.ok(operation, `${route.method} ${path} (${route.operationId}) is missing`);
    assert.equal(operation.operationId, route.operationId);
    assert.deepEqual(operation.tags, [route.tag]);
    for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
      const parameter = operation.parameters.find((p: Json) => p.in === "path" && `{${p.name}}` === name);
      assert.ok(parameter?.required, `${route.operationId}: path parameter ${name}`);
    }
    if ("query" in route) {
      const names = operation.parameters.filter((p: Json) => p.in === "query").map((p: Json) => p.name);
      assert.deepEqual(names.sort(), Object.keys(route.query.shape).sort(), route.operationId);
    }
    assert.equal("requestBody" in operation, "body" in route, `${route.operationId}: request body`);
    const success = operation.responses[String(route.success.status)];
    assert.ok(success, `${route.operationId}: ${route.success.status}`);
    assert.equal("content" in success, "schema" in route.success, `${route.operationId}: success body`);
    const validated = "params" in route || "query" in route || "body" in route;
    assert.equal("400" in operation.responses, validated, `${route.operationId}: 400 only with something to refuse`);
    for (const status of ["401", "500", ...route.errors.map((error) => String(error.status))]) {
      assert.ok(operation.responses[status]?.content?.["application/json"], `${route.operationId}: ${status}`);
    }
    for (const error of route.errors) {
      assert.match(operation.responses[String(error.status)].description, new RegExp(`\`${error.code}\``));
    }
  }
  const documented = Object.entries(document.paths).flatMap(([path, item]) =>
    path.startsWith("/webhook-admin") ? Object.keys(item as Json).map((method) => `${method} ${path}`) : []
  );
  assert.equal(documented.length, ROUTES.length, "no operation without a route");
});

Deno.test("each invalid_request example is what webhook-admin's app answers to that request", async () => {
  // Validation answers before any operation runs: reaching one would be a test failure.
  const app = createAdminApp(() => Promise.reject(new Error("a refused request reached its operation")));
  let compared = 0;
  for (const route of ROUTES) {
    const operation = document.paths[`/webhook-admin${route.path}`][route.method.toLowerCase()];
    const example = operation.responses["400"]?.content["application/json"].examples?.invalid_request?.value;
    if (!("params" in route || "query" in route || "body" in route)) continue;
    assert.ok(example, `${route.operationId}: an invalid_request example`);
    // The generator's inputs, in the app's order: ids that are not ids, no query, an empty body,
    // then a body with an unknown field.
    const url = `http://localhost/functions/v1/webhook-admin${route.path.replace(/\{\w+\}/g, NOT_AN_ID)}`;
    const bodies = "body" in route ? ["{}", '{"unknown_field": true}'] : [undefined];
    let answer: unknown = null;
    for (const body of bodies) {
      const response = await app.fetch(
        new Request(url, { method: route.method, body, headers: { "content-type": "application/json" } }),
      );
      if (response.status === 400) {
        answer = await response.json();
        break;
      }
      await response.body?.cancel();
    }
    assert.deepEqual(example, answer, route.operationId);
    compared++;
  }
  assert.ok(compared > 0);
});

Deno.test("mapbox-geocode and webhook-dispatch are documented; dispatch says it is for the platform only", () => {
  const geocode = document.paths["/mapbox-geocode"].post;
  assert.ok(geocode.requestBody.content["application/json"].schema);
  assert.equal(MemberRequest.safeParse(geocode.requestBody.content["application/json"].example).success, true);
  assert.deepEqual(
    Object.keys(document.components.schemas.GeocodeResult.properties).slice(0, 5),
    ["lat", "lng", "formatted_address", "relevance", "source"],
  );
  assert.ok(geocode.responses["429"].headers["Retry-After"]);
  // Its invalid_request example is what the function answers to an empty body.
  const refused = (() => {
    try {
      parseBody(MemberRequest, {});
    } catch (error) {
      if (error instanceof HttpError) {
        return { error: { code: error.code, message: error.message, details: error.details } };
      }
    }
  })();
  assert.deepEqual(geocode.responses["400"].content["application/json"].examples.invalid_request.value, refused);
  const dispatch = document.paths["/webhook-dispatch"].post;
  assert.match(dispatch.description, /Platform only/);
  // The example answer of docs/geocoding.md is a valid response.
  assert.equal(
    GeocodeResponse.safeParse({
      lat: 30.262481,
      lng: -97.727936,
      formatted_address: "1402 Elm Street, Austin, Texas 78702, United States",
      relevance: 1,
      source: "mapbox",
      candidates: [{
        lat: 30.262481,
        lng: -97.727936,
        formatted_address: "1402 Elm Street, Austin, Texas 78702, United States",
        relevance: 1,
      }],
    }).success,
    true,
  );
});

Deno.test("every event type is a webhook with the delivery headers, and its example validates with its zod schema", () => {
  assert.deepEqual(Object.keys(document.webhooks).sort(), [...EVENT_TYPES].sort());
  for (const type of EVENT_TYPES) {
    const operation = document.webhooks[type].post;
    assert.ok(operation, type);
    const headers = operation.parameters.filter((p: Json) => p.in === "header").map((p: Json) => p.name);
    assert.deepEqual(headers.sort(), [
      "User-Agent",
      "X-Retry-Count",
      "webhook-id",
      "webhook-signature",
      "webhook-timestamp",
    ]);
    const media = operation.requestBody.content["application/json"];
    const parsed = EVENT_CATALOG[type].schema.safeParse(media.example);
    assert.equal(parsed.success, true, `${type}: ${JSON.stringify(parsed.error?.issues)}`);
    const ref = media.schema.$ref as string;
    assert.ok(document.components.schemas[ref.replace("#/components/schemas/", "")], `${type}: ${ref}`);
    assert.deepEqual(Object.keys(operation.responses).sort(), ["2XX", "410", "429", "503", "default"]);
  }
});

Deno.test("the verification snippets in docs/webhooks.md are the code of the receiver examples the tests run", async () => {
  const page = await Deno.readTextFile(`${ROOT}docs/webhooks.md`);
  const blocks = [...page.matchAll(/```(js|ts)\n([\s\S]*?)```/g)];
  assert.deepEqual(blocks.map(([, language]) => language), ["js", "ts"]);
  for (const [, language, code] of blocks) {
    const example = await Deno.readTextFile(
      `${ROOT}docs/examples/${language === "js" ? "verify-node.mjs" : "verify-deno.ts"}`,
    );
    assert.ok(example.includes(code), `${language} snippet is not in the example:\n${code}`);
  }
});

/** GitHub's anchor for a Markdown heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

async function anchorsOf(file: string): Promise<Set<string>> {
  const text = await Deno.readTextFile(file);
  return new Set([...text.matchAll(/^#+ (.+)$/gm)].map(([, heading]) => slug(heading)));
}

Deno.test("every relative link of the portal's pages and of the OpenAPI document reaches a file and a heading", async () => {
  const links: { from: string; target: string }[] = [];
  for await (const entry of Deno.readDir(`${ROOT}docs`)) {
    if (!entry.isFile || !entry.name.endsWith(".md")) continue;
    const text = await Deno.readTextFile(`${ROOT}docs/${entry.name}`);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      links.push({
        from: `docs/${entry.name}`,
        target: target.startsWith("#") ? `docs/${entry.name}${target}` : `docs/${target}`,
      });
    }
  }
  // The document's links are relative to docs/site/index.html.
  for (const [, target] of JSON.stringify(document).matchAll(/\]\(\.\.\/([^)\s]+)\)/g)) {
    links.push({ from: OPENAPI_PATH, target: `docs/${target}` });
  }
  assert.ok(links.length > 20);
  for (const { from, target } of links) {
    const [path, anchor] = target.split("#");
    const stat = await Deno.stat(`${ROOT}${path}`).catch(() => null);
    assert.ok(stat, `${from}: ${target} does not exist`);
    if (anchor) assert.ok((await anchorsOf(`${ROOT}${path}`)).has(anchor), `${from}: no heading for ${target}`);
  }
});
