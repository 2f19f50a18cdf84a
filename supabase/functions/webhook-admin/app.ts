// webhook-admin's routing, validation and OpenAPI description, with Hono and @hono/zod-openapi:
// every route of api.ts is registered once with its zod schemas, which validate its path
// parameters, query and body (a 400 naming each bad field) and describe it in the OpenAPI
// document (app.getOpenAPI31Document, written to docs/ by scripts/generate-openapi.ts).
//
// What Hono does not decide by itself is kept as the API has always answered:
// - errors are `{ "error": { "code", "message", "details"? } }` (HttpError), never Hono's text;
// - a path no route has is 404 route_not_found, a method a path does not have 405 with `Allow`;
// - a query key given twice is refused, not read as an array;
// - an empty body is `{}`, so a body whose fields all have defaults may be left out;
// - text PostgreSQL cannot store (NUL, lone surrogates) is refused wherever it is: path, query or
//   body (_shared/text.ts);
// - malformed percent-encoding in a path never throws: Hono keeps the undecodable text, which the
//   parameter's schema then refuses.
import { createRoute, OpenAPIHono, type RouteConfig } from "npm:@hono/zod-openapi@1.6.3";
import type { Context, MiddlewareHandler } from "npm:hono@4.13.19";
import { HTTPException } from "npm:hono@4.13.19/http-exception";
import { RegExpRouter } from "npm:hono@4.13.19/router/reg-exp-router";
import { z } from "npm:zod@4.6.7";
import { corsHeaders, errorResponse, HttpError, jsonResponse } from "../_shared/http.ts";
import {
  type ErrorCase,
  errorResponses,
  GATEWAY_401,
  INTERNAL_ERROR,
  invalidInputsOf,
  invalidRequestBody,
  invalidRequestExample,
  UNSUPPORTED_MEDIA_TYPE,
} from "../_shared/openapi.ts";
import { unstorableTextErrors } from "../_shared/text.ts";
import { type Route, ROUTES } from "./api.ts";

const FUNCTION_NAME = "webhook-admin";

/** The parts of a request each operation reads, as its route's schemas produced them. */
// deno-lint-ignore no-explicit-any -- each operation reads the parts its own route's schemas produced
export type Parts = { params: any; query: any; body: any };

export type AdminRoute = (typeof ROUTES)[number];

/** Runs a route's operation for a request whose parts passed validation; returns its answer. */
export type RouteHandler = (route: AdminRoute, request: Request, parts: Parts) => Promise<Response>;

/**
 * The path below the function's name, without one trailing slash: the edge runtime passes
 * /webhook-admin/… (no /functions/v1). Still percent-encoded: Hono decodes each parameter.
 */
export function routePath(url: URL): string {
  const segments = url.pathname.split("/");
  const at = segments.indexOf(FUNCTION_NAME);
  const path = at === -1 ? url.pathname : "/" + segments.slice(at + 1).join("/");
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

const PART_NAMES = { param: "path", query: "query string", json: "request body" } as const;

/** Refuses text PostgreSQL cannot store, then any part its schema refused. */
function validationHook(result: { target: string; success: boolean; error?: z.ZodError }): void {
  const part = PART_NAMES[result.target as keyof typeof PART_NAMES] ?? "request";
  // zod-validator passes the input it validated along with the outcome.
  const unstorable = unstorableTextErrors((result as { data?: unknown }).data);
  if (unstorable !== null) throw new HttpError(400, "invalid_request", `The ${part} is not valid.`, unstorable);
  if (!result.success && result.error) {
    const { error } = invalidRequestBody(part as "path", result.error);
    throw new HttpError(400, error.code, error.message, error.details);
  }
}

/** A query key given twice is a mistake to point out, not a list to guess at. */
const refuseRepeatedQueryKeys: MiddlewareHandler = async (c, next) => {
  const repeated = Object.entries(c.req.queries()).filter(([, values]) => values.length > 1).map(([key]) => key);
  if (repeated.length > 0) {
    throw new HttpError(400, "invalid_request", "The query string is not valid.", {
      formErrors: [],
      fieldErrors: Object.fromEntries(repeated.map((key) => [key, ["must be given once"]])),
    });
  }
  await next();
};

/** An empty (or blank) body reads as `{}` (Hono parses JSON from the text it keeps of the body). */
const emptyBodyIsEmptyObject: MiddlewareHandler = async (c, next) => {
  // (bodyCache holds the promise of each body reading, whatever its declared type says.)
  if ((await c.req.text()).trim() === "") (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve("{}");
  await next();
};

function errorCasesOf(route: Route): ErrorCase[] {
  // A route without parameters, query or body has nothing to refuse (unknown query keys are ignored).
  const validated = route.params !== undefined || route.query !== undefined || route.body !== undefined;
  return [
    ...(validated
      ? [{
        status: 400,
        code: "invalid_request",
        when: "a path parameter, query parameter or body field is not valid, or holds text that cannot be stored " +
          "(a NUL character, a lone surrogate); `details` names each",
      }]
      : []),
    ...(route.body
      ? [{ status: 400, code: "invalid_json", when: "the body is not JSON" }, UNSUPPORTED_MEDIA_TYPE]
      : []),
    GATEWAY_401,
    ...(route.access === "admin"
      ? [{ status: 401, code: "unauthorized", when: "the bearer token is not a signed-in user's (e.g. the anon key)" }]
      : []),
    ...route.errors,
    INTERNAL_ERROR,
  ];
}

const TAG_ACCESS = {
  admin: "**Access**: a signed-in owner or admin of the organization (their JWT as the bearer token).",
  api_key: "**Access**: any project JWT as the bearer token (the anon key will do); the body carries the credential.",
};

/** The route as @hono/zod-openapi declares it: request schemas, success and error responses. */
export function openApiRoute(route: Route): RouteConfig {
  const success = "schema" in route.success && route.success.schema
    ? {
      description: route.success.description,
      content: { "application/json": { schema: route.success.schema } },
    }
    : { description: route.success.description };
  return createRoute({
    method: route.method.toLowerCase() as "get" | "post" | "patch" | "delete",
    path: route.path,
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description: [route.description, TAG_ACCESS[route.access]].filter(Boolean).join("\n\n"),
    security: [{ bearerAuth: [], apikey: [] }],
    middleware: [refuseRepeatedQueryKeys, ...(route.body ? [emptyBodyIsEmptyObject] : [])],
    request: {
      ...(route.params ? { params: route.params } : {}),
      ...(route.query ? { query: route.query as z.ZodObject } : {}),
      ...(route.body
        ? {
          body: {
            required: !route.body.safeParse({}).success,
            content: { "application/json": { schema: route.body } },
          },
        }
        : {}),
    },
    responses: {
      [route.success.status]: success,
      ...errorResponses(errorCasesOf(route), invalidRequestExample(invalidInputsOf(route))),
    },
  });
}

/** Which methods a path has, for the 405's `Allow` (Hono's own router, over the routes alone). */
function allowedMethods(): (path: string) => string[] {
  const router = new RegExpRouter<string>();
  for (const route of ROUTES) router.add(route.method, route.path.replaceAll(/\{(\w+)\}/g, ":$1"), route.method);
  const methods = [...new Set(ROUTES.map((route) => route.method))];
  return (path) => {
    return methods.filter((method) => router.match(method, path)[0].length > 0);
  };
}

function methodNotAllowedOrNotFound(c: Context, allowedAt: (path: string) => string[]): Response {
  const allowed = allowedAt(c.req.path);
  if (allowed.length > 0) {
    return errorResponse(
      new HttpError(405, "method_not_allowed", `Use ${allowed.join(" or ")} here.`, undefined, {
        Allow: [...allowed, "OPTIONS"].join(", "),
      }),
    );
  }
  return errorResponse(
    new HttpError(404, "route_not_found", `No route ${c.req.method} ${c.req.path} in webhook-admin.`),
  );
}

/** What Hono itself refuses (a body that is not JSON, a Content-Type that is not JSON), in our shape. */
function fromHonoException(error: HTTPException): HttpError {
  if (error.status === 415) {
    return new HttpError(415, "unsupported_media_type", "Send the request body as application/json.");
  }
  if (error.status === 400) return new HttpError(400, "invalid_json", "The request body is not valid JSON.");
  return new HttpError(error.status, "invalid_request", error.message);
}

/** The Hono app serving every route of api.ts through `handle`; anything unexpected is rethrown. */
export function createAdminApp(handle: RouteHandler): OpenAPIHono {
  const app = new OpenAPIHono({
    getPath: (request: Request) => routePath(new URL(request.url)),
    defaultHook: validationHook,
  });
  for (const route of ROUTES) {
    const { params, query, body } = route as Route;
    app.openapi(openApiRoute(route), (c) => {
      const valid = (target: string) => c.req.valid(target as never) as unknown;
      return handle(route, c.req.raw, {
        params: params ? valid("param") : {},
        query: query ? valid("query") : {},
        // Without a Content-Type, @hono/zod-openapi passes an optional body on unparsed as {};
        // its schema then gives it its defaults, as for any other {}.
        body: body ? (c.req.header("content-type") ? valid("json") : body.parse({})) : undefined,
      });
    });
  }
  const allowedAt = allowedMethods();
  app.notFound((c) => methodNotAllowedOrNotFound(c, allowedAt));
  app.onError((error) => {
    if (error instanceof HttpError) return errorResponse(error);
    if (error instanceof HTTPException) return errorResponse(fromHonoException(error));
    throw error;
  });
  return app;
}

/** A 204 carries no body, every other success its JSON. */
export function successResponse(route: Route, result: unknown): Response {
  return route.success.status === 204
    ? new Response(null, { status: 204, headers: corsHeaders })
    : jsonResponse(result, route.success.status);
}
