// The error answers of every function, described for OpenAPI: which codes each status carries,
// their common shape, and a real invalid_request example computed with the route's own schemas.
// webhook-admin gives these to @hono/zod-openapi with its routes; scripts/generate-openapi.ts
// converts them for mapbox-geocode and webhook-dispatch.
import { z } from "npm:zod@4.6.7";

export interface ErrorCase {
  status: number;
  /** The error code; "" for the gateway's own 401, which has no code. */
  code: string;
  when: string;
}

/** The API gateway's own 401 body (before any function runs). */
export const GatewayError = z.object({ msg: z.string().describe("e.g. Invalid JWT") }).meta({ id: "GatewayError" });

/**
 * The `details` of an invalid_request answer: zod's flattened error (`z.flattenError`), which
 * every function sends.
 */
export const ValidationErrorDetails = z.object({
  formErrors: z.array(z.string()).describe("Problems with the object as a whole, e.g. an unknown field"),
  fieldErrors: z.record(z.string(), z.array(z.string())).describe("Problems per field: its name → messages"),
}).meta({ id: "ValidationErrorDetails" });

export const GATEWAY_401: ErrorCase = {
  status: 401,
  code: "",
  when: "the JWT is missing, expired or not signed by the project: the API gateway answers before the function " +
    'runs, with `{ "msg": … }` (GatewayError)',
};

export const INTERNAL_ERROR: ErrorCase = {
  status: 500,
  code: "internal_error",
  when: "an unexpected failure (logged; the answer carries no internals)",
};

export const UNSUPPORTED_MEDIA_TYPE: ErrorCase = {
  status: 415,
  code: "unsupported_media_type",
  when: "a body sent with a Content-Type other than application/json",
};

/** A request part that its schema refuses, to show a real invalid_request answer. */
export interface InvalidInput {
  part: "path" | "query string" | "request body";
  schema: z.ZodType;
  value: unknown;
}

/** What an invalid_request answer says: the part, and the flattened error of its schema. */
export function invalidRequestBody(part: InvalidInput["part"], error: z.ZodError) {
  return { error: { code: "invalid_request", message: `The ${part} is not valid.`, details: z.flattenError(error) } };
}

/** The answer to the first of the candidate inputs its schema refuses. */
export function invalidRequestExample(candidates: InvalidInput[]): Record<string, unknown> | undefined {
  for (const { part, schema, value } of candidates) {
    const parsed = schema.safeParse(value);
    if (!parsed.success) return invalidRequestBody(part, parsed.error);
  }
  return undefined;
}

export const NOT_AN_ID = "not-an-id";

/**
 * Inputs likely to be refused, in the order a request's parts are validated (path, query,
 * body): ids that are not ids, an empty query, an empty body, a body with an unknown field.
 * tests/developer_portal_test.ts sends the same requests and compares the answers.
 */
export function invalidInputsOf(
  schemas: { params?: z.ZodObject; query?: z.ZodType; body?: z.ZodType },
): InvalidInput[] {
  const { params, query, body } = schemas;
  return [
    ...(params
      ? [{
        part: "path" as const,
        schema: params,
        value: Object.fromEntries(Object.keys(params.shape).map((name) => [name, NOT_AN_ID])),
      }]
      : []),
    ...(query ? [{ part: "query string" as const, schema: query, value: {} }] : []),
    ...(body ? [{ part: "request body" as const, schema: body, value: {} }] : []),
    ...(body ? [{ part: "request body" as const, schema: body, value: { unknown_field: true } }] : []),
  ];
}

export interface ErrorResponse {
  description: string;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
  content: {
    "application/json": { schema: z.ZodType; examples?: Record<string, { summary: string; value: unknown }> };
  };
}

const RETRY_AFTER_HEADER = {
  description: "Seconds to wait before trying again",
  schema: { type: "integer", minimum: 1 },
};

/**
 * Responses for a list of error cases, grouped by status; each lists its codes and restricts
 * `error.code` to them. A 400 with invalid_request says what `details` holds, with a real example
 * when given.
 */
export function errorResponses(
  cases: readonly ErrorCase[],
  invalidExample?: Record<string, unknown>,
): Record<string, ErrorResponse> {
  const byStatus = new Map<number, ErrorCase[]>();
  for (const item of cases) byStatus.set(item.status, [...(byStatus.get(item.status) ?? []), item]);
  const responses: Record<string, ErrorResponse> = {};
  for (const [status, items] of [...byStatus].sort(([a], [b]) => a - b)) {
    const codes = [...new Set(items.map((item) => item.code).filter((code) => code !== ""))];
    const gateway = items.some((item) => item.code === "");
    const validation = codes.includes("invalid_request");
    const body = z.object({
      error: z.object({
        code: z.enum(codes as [string, ...string[]]).describe("Stable, machine-readable"),
        message: z.string().describe("For people"),
        ...(validation ? { details: ValidationErrorDetails.optional() } : {}),
      }),
    });
    const retryAfter = status === 429 || items.some((item) => item.code.endsWith("rate_limited"));
    const examples = validation && invalidExample
      ? {
        invalid_request: { summary: "A request the schemas refuse", value: invalidExample },
        ...(codes.includes("invalid_json")
          ? {
            invalid_json: {
              summary: "A body that is not JSON",
              value: { error: { code: "invalid_json", message: "The request body is not valid JSON." } },
            },
          }
          : {}),
      }
      : undefined;
    responses[String(status)] = {
      description: items.map((item) => (item.code ? `\`${item.code}\`: ${item.when}` : item.when)).join("; "),
      ...(retryAfter ? { headers: { "Retry-After": RETRY_AFTER_HEADER } } : {}),
      content: {
        "application/json": {
          schema: gateway ? z.union([body, GatewayError]) : body,
          ...(examples ? { examples } : {}),
        },
      },
    };
  }
  return responses;
}
