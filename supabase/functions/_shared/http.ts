// HTTP conventions shared by every function: CORS for the browser client on every answer (401
// included, so supabase-js sees the status instead of a failed fetch), JSON errors of the form
// { "error": { "code", "message", "details"? } }, and a wrapper that turns expected failures into
// their 4xx and unexpected ones into a logged, generic 500 without internals.
import { corsHeaders as supabaseCorsHeaders } from "npm:@supabase/supabase-js@2.119.0/cors";
import { unstorableTextErrors } from "./text.ts";

/** supabase-js's own list of the headers and methods its clients send, and a day's preflight cache. */
export const corsHeaders: Record<string, string> = {
  ...supabaseCorsHeaders,
  "Access-Control-Max-Age": "86400",
};

/** An expected failure with a stable machine-readable code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...corsHeaders, ...headers } });
}

export function errorResponse(error: HttpError): Response {
  const body = {
    error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) },
  };
  return jsonResponse(body, error.status, error.headers);
}

export type Handler = (request: Request) => Promise<Response> | Response;

/**
 * Answers CORS preflight, maps HttpError to its JSON response, and hides anything unexpected
 * behind a generic 500 after logging it with the request's method and path.
 */
export function withHttpConventions(name: string, handler: Handler): Handler {
  return async (request) => {
    if (request.method === "OPTIONS") return new Response("ok", { headers: corsHeaders });
    try {
      return await handler(request);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      const path = new URL(request.url).pathname;
      console.error(`${name}: unexpected error on ${request.method} ${path}`, error);
      return errorResponse(new HttpError(500, "internal_error", "An unexpected error occurred."));
    }
  };
}

/** Reads a JSON request body; a missing or malformed body is a 400, never a 500. */
export async function readJson(request: Request): Promise<unknown> {
  return parseJson(await request.text());
}

/**
 * Parses a JSON request body already read as text; see readJson. Text PostgreSQL cannot store
 * (NUL, lone surrogates) is a 400 naming its field here, wherever the body is going.
 */
export function parseJson(text: string): unknown {
  if (text.trim() === "") throw new HttpError(400, "invalid_json", "The request body must be a JSON document.");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "The request body is not valid JSON.");
  }
  const unstorable = unstorableTextErrors(value);
  if (unstorable !== null) throw new HttpError(400, "invalid_request", "The request body is not valid.", unstorable);
  return value;
}

export function notImplemented(what: string): never {
  throw new HttpError(501, "not_implemented", `${what} is not available yet.`);
}
