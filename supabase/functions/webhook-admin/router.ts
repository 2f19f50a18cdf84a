// Finds the route a request is for and parses its path parameters, query and body with the
// route's own zod schemas (api.ts). Pure: no I/O beyond reading the body, so tests call it
// without a server.
import { z } from "npm:zod@4.6.7";
import { HttpError, parseJson } from "../_shared/http.ts";
import type { Route } from "./api.ts";

const FUNCTION_NAME = "webhook-admin";

export interface ParsedRequest<R extends Route = Route> {
  route: R;
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

interface CompiledRoute<R extends Route> {
  route: R;
  pattern: RegExp;
  names: string[];
}

function compile<R extends Route>(route: R): CompiledRoute<R> {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{(\w+)\\?\}/g, (_match, name) => {
    names.push(name);
    return "([^/]+)";
  });
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

/** The path below the function's name: the edge runtime passes /webhook-admin/… (no /functions/v1). */
export function routePath(url: URL): string {
  const segments = url.pathname.split("/");
  const at = segments.indexOf(FUNCTION_NAME);
  return at === -1 ? url.pathname : "/" + segments.slice(at + 1).join("/");
}

function invalid(part: "path" | "query" | "body", error: z.ZodError): HttpError {
  const what = part === "body" ? "request body" : part === "query" ? "query string" : "path";
  return new HttpError(400, "invalid_request", `The ${what} is not valid.`, z.flattenError(error));
}

function parsePart(schema: z.ZodType | undefined, value: unknown, part: "path" | "query" | "body"): unknown {
  if (schema === undefined) return part === "body" ? undefined : {};
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid(part, parsed.error);
  return parsed.data;
}

function queryObject(search: URLSearchParams): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of search) {
    if (key in query) {
      throw new HttpError(400, "invalid_request", "The query string is not valid.", {
        formErrors: [],
        fieldErrors: { [key]: ["must be given once"] },
      });
    }
    query[key] = value;
  }
  return query;
}

export function createRouter<R extends Route>(routes: readonly R[]) {
  const compiled = routes.map(compile);

  /** The route for a method and path: 404 for an unknown path, 405 (with Allow) for a wrong method. */
  function match(method: string, path: string): { route: R; rawParams: Record<string, string> } {
    const allowed: string[] = [];
    for (const { route, pattern, names } of compiled) {
      const found = pattern.exec(path);
      if (!found) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      const rawParams: Record<string, string> = {};
      names.forEach((name, index) => rawParams[name] = decodeURIComponent(found[index + 1]));
      return { route, rawParams };
    }
    if (allowed.length > 0) {
      throw new HttpError(405, "method_not_allowed", `Use ${allowed.join(" or ")} here.`, undefined, {
        Allow: [...allowed, "OPTIONS"].join(", "),
      });
    }
    throw new HttpError(404, "route_not_found", `No route ${method} ${path} in webhook-admin.`);
  }

  /** Matches the request and parses each part with its schema; a 400 names the failing fields. */
  async function parse(request: Request): Promise<ParsedRequest<R>> {
    const url = new URL(request.url);
    const { route, rawParams } = match(request.method, routePath(url));
    // A malformed id is as unknown as a missing one, but saying why helps the caller more.
    const params = parsePart(route.params, rawParams, "path") as Record<string, unknown>;
    const query = parsePart(route.query, queryObject(url.searchParams), "query") as Record<string, unknown>;
    // An empty body is an empty object, so a body whose fields all have defaults may be left out
    // and a missing required field is named instead of reported as "not JSON".
    const text = route.body === undefined ? "" : await request.text();
    const body = route.body === undefined
      ? undefined
      : parsePart(route.body, text.trim() === "" ? {} : parseJson(text), "body");
    return { route, params, query, body };
  }

  return { match, parse };
}
