// The webhook-admin client over a real supabase-js client: requests as webhook-admin expects them,
// and every kind of failure as an ApiError that says which fields the API refused.
import { describe, expect, test } from "vitest";
import { ApiError, apiErrorFromBody, createAdminApi, queryString } from "../../src/api/client";
import { type Answer, clientAnswering as answering } from "./support";

/** The admin API over a supabase-js client whose requests `answer` answers. */
function clientAnswering(answer: Answer) {
  const { supabase, seen } = answering(answer);
  return { api: createAdminApi(supabase), seen };
}

describe("queryString", () => {
  test("keeps defined, non-empty values in order and encodes them", () => {
    expect(queryString({ org_id: "o", status: undefined, event_type: "", since: "2026-01-01T00:00:00+01:00" }))
      .toBe("?org_id=o&since=2026-01-01T00%3A00%3A00%2B01%3A00");
  });

  test("is empty when nothing is set", () => {
    expect(queryString({ cursor: undefined })).toBe("");
  });
});

describe("createAdminApi", () => {
  test("a list route is a GET with its filters in the query string and the session as bearer token", async () => {
    const { api, seen } = clientAnswering(() => Response.json({ data: [], next_cursor: null }));
    await api.listDeliveries({ org_id: "org-1", status: "failed", limit: 25 });
    expect(seen).toEqual([{
      method: "GET",
      url: "http://127.0.0.1:54321/functions/v1/webhook-admin/deliveries?org_id=org-1&status=failed&limit=25",
      body: null,
      authorization: "Bearer user-jwt",
    }]);
  });

  test("a change is sent as JSON to the resource's route", async () => {
    const { api, seen } = clientAnswering(() => Response.json({ endpoint: { id: "e" } }));
    await api.disableEndpoint("e 1", "Maintenance");
    expect(seen[0]).toMatchObject({
      method: "POST",
      url: "http://127.0.0.1:54321/functions/v1/webhook-admin/endpoints/e%201/disable",
      body: '{"reason":"Maintenance"}',
    });
  });

  test("a 204 resolves with undefined", async () => {
    const { api } = clientAnswering(() => new Response(null, { status: 204 }));
    await expect(api.deleteEndpoint("e")).resolves.toBeUndefined();
  });

  test("a 400 becomes an ApiError with the code, the message and each refused field", async () => {
    const { api } = clientAnswering(() =>
      Response.json({
        error: {
          code: "invalid_request",
          message: "The request body is not valid.",
          details: { formErrors: [], fieldErrors: { url: ["endpoint URL must be https"] } },
        },
      }, { status: 400 })
    );
    const error = await api.createEndpoint({ org_id: "o", url: "http://x" }).catch((caught) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 400,
      code: "invalid_request",
      message: "The request body is not valid.",
      fieldErrors: { url: ["endpoint URL must be https"] },
    });
  });

  test("no answer at all (network down, or a gateway refusal without CORS) is a network_error with status 0", async () => {
    const { api } = clientAnswering(() => {
      throw new TypeError("Failed to fetch");
    });
    await expect(api.listEndpoints("o")).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});

describe("apiErrorFromBody", () => {
  test("reads the gateway's own error shape", () => {
    expect(apiErrorFromBody(401, { code: 401, message: "Invalid JWT" })).toMatchObject({
      status: 401,
      code: "unauthorized",
      message: "Invalid JWT",
    });
  });

  test("describes a body that is not the API's by its status", () => {
    expect(apiErrorFromBody(502, null)).toMatchObject({ code: "error", message: "The API answered 502." });
  });

  test("ignores malformed field errors instead of failing on them", () => {
    const error = apiErrorFromBody(400, {
      error: { code: "invalid_request", message: "m", details: { fieldErrors: 3 } },
    });
    expect(error.fieldErrors).toEqual({});
  });
});
