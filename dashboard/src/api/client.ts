// A typed client for the webhook-admin API over the host app's own supabase-js client, so every
// request carries the app's session (or whatever `accessToken` the client was given) and the
// project's API key. Shapes come from the OpenAPI document (openapi.d.ts); failures become ApiError.
import type { SupabaseClient } from "@supabase/supabase-js";
import type { components, operations } from "./openapi";

type Schemas = components["schemas"];
export type Endpoint = Schemas["Endpoint"];
export type EndpointHealth = Schemas["EndpointHealth"];
export type Delivery = Schemas["Delivery"];
export type Attempt = Schemas["Attempt"];
export type WebhookEvent = Schemas["Event"];
export type ServiceAccount = Schemas["ServiceAccount"];
export type AuditEntry = Schemas["AuditEntry"];

type JsonBody<Operation> = Operation extends { requestBody: { content: { "application/json": infer Body } } } ? Body
  : Operation extends { requestBody?: { content: { "application/json": infer Body } } } ? Body
  : never;
type SuccessBody<Operation, Status extends number> = Operation extends
  { responses: { [S in Status]: { content: { "application/json": infer Body } } } } ? Body : never;
type Query<Operation> = Operation extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type CreateEndpointBody = JsonBody<operations["createEndpoint"]>;
export type UpdateEndpointBody = JsonBody<operations["updateEndpoint"]>;
export type RecoverBody = JsonBody<operations["recoverEndpointDeliveries"]>;
export type CreateServiceAccountBody = JsonBody<operations["createServiceAccount"]>;
export type DeliveriesQuery = Query<operations["listDeliveries"]>;
export type AuditQuery = Query<operations["listAuditEntries"]>;
export type DeliveryStatus = Delivery["status"];
export type SubscribableEventType = NonNullable<CreateEndpointBody["event_types"]>[number];
export type EventTypeInfo = SuccessBody<operations["listEventTypes"], 200>["data"][number];
export type ScopeInfo = SuccessBody<operations["listScopes"], 200>["data"][number];

/** One page of a list route: newest first; `next_cursor` fetches the next (older) page, null on the last. */
export interface Page<Item> {
  data: Item[];
  next_cursor: string | null;
}

/** The parts of a supabase-js client the dashboard uses: only `functions.invoke`. */
export type FunctionsInvoker = Pick<SupabaseClient, "functions">;

/**
 * A failed call. `status` is the HTTP status (0 when no answer arrived: network down, or a gateway
 * refusal without CORS headers, such as an expired session), `code` the API's stable error code,
 * `fieldErrors` the request fields the API refused with its reasons (from `details.fieldErrors`).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fieldErrors: Record<string, string[]> = {},
    readonly formErrors: string[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const FUNCTION = "webhook-admin";

/** `?a=1&b=2` from the defined, non-empty values of `query` (in their order), or "" when there are none. */
export function queryString(query: Record<string, string | number | undefined | null> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    search.set(name, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

function stringArrays(value: unknown): Record<string, string[]> {
  if (typeof value !== "object" || value === null) return {};
  const result: Record<string, string[]> = {};
  for (const [key, messages] of Object.entries(value)) {
    if (Array.isArray(messages)) result[key] = messages.filter((message) => typeof message === "string");
  }
  return result;
}

/**
 * The ApiError for an answer's status and JSON body: the API's `{ error: { code, message, details } }`,
 * the gateway's `{ code, message }`, or anything else (then a generic message for the status).
 */
export function apiErrorFromBody(status: number, body: unknown): ApiError {
  const envelope = (body as { error?: unknown } | null)?.error;
  if (typeof envelope === "object" && envelope !== null) {
    const { code, message, details } = envelope as { code?: unknown; message?: unknown; details?: unknown };
    const detail = (details ?? {}) as { fieldErrors?: unknown; formErrors?: unknown };
    return new ApiError(
      status,
      typeof code === "string" ? code : "error",
      typeof message === "string" ? message : `The API answered ${status}.`,
      stringArrays(detail.fieldErrors),
      Array.isArray(detail.formErrors) ? detail.formErrors.filter((line) => typeof line === "string") : [],
    );
  }
  const gatewayMessage = (body as { message?: unknown } | null)?.message;
  const code = status === 401 ? "unauthorized" : status === 404 ? "not_found" : "error";
  return new ApiError(
    status,
    code,
    typeof gatewayMessage === "string" ? gatewayMessage : `The API answered ${status}.`,
  );
}

async function toApiError(error: unknown): Promise<ApiError> {
  const context = (error as { context?: unknown }).context;
  if (context instanceof Response) {
    let body: unknown = null;
    try {
      body = await context.json();
    } catch { /* not JSON: described by its status */ }
    return apiErrorFromBody(context.status, body);
  }
  return new ApiError(
    0,
    "network_error",
    "The webhook API could not be reached. Check the connection; if your session has expired, sign in again.",
  );
}

type Method = "GET" | "POST" | "PATCH" | "DELETE";

/**
 * The webhook-admin API for one supabase-js client. Every method resolves with the route's success
 * body (undefined for 204) or rejects with an ApiError.
 */
export function createAdminApi(supabase: FunctionsInvoker) {
  async function call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const { data, error } = await supabase.functions.invoke(`${FUNCTION}${path}`, {
      method,
      ...(body === undefined ? {} : { body: body as Record<string, unknown> }),
    });
    if (error) throw await toApiError(error);
    return (data === "" ? undefined : data) as T;
  }
  const id = encodeURIComponent;
  return {
    listEventTypes: () => call<{ data: EventTypeInfo[] }>("GET", "/event-types"),
    listScopes: () => call<{ data: ScopeInfo[] }>("GET", "/scopes"),
    listEndpoints: (orgId: string) => call<{ data: Endpoint[] }>("GET", `/endpoints${queryString({ org_id: orgId })}`),
    createEndpoint: (body: CreateEndpointBody) =>
      call<{ endpoint: Endpoint; signing_secret: string }>("POST", "/endpoints", body),
    getEndpoint: (endpointId: string) => call<{ endpoint: Endpoint }>("GET", `/endpoints/${id(endpointId)}`),
    updateEndpoint: (endpointId: string, body: UpdateEndpointBody) =>
      call<{ endpoint: Endpoint }>("PATCH", `/endpoints/${id(endpointId)}`, body),
    deleteEndpoint: (endpointId: string) => call<void>("DELETE", `/endpoints/${id(endpointId)}`),
    enableEndpoint: (endpointId: string) => call<{ endpoint: Endpoint }>("POST", `/endpoints/${id(endpointId)}/enable`),
    disableEndpoint: (endpointId: string, reason?: string) =>
      call<{ endpoint: Endpoint }>("POST", `/endpoints/${id(endpointId)}/disable`, reason ? { reason } : {}),
    rotateSecret: (endpointId: string) =>
      call<{ endpoint: Endpoint; signing_secret: string }>("POST", `/endpoints/${id(endpointId)}/rotate-secret`),
    sendTestEvent: (endpointId: string) =>
      call<{ event_id: string; delivery_id: number }>("POST", `/endpoints/${id(endpointId)}/test`),
    getEndpointHealth: (endpointId: string) =>
      call<{ health: EndpointHealth }>("GET", `/endpoints/${id(endpointId)}/health`),
    recoverDeliveries: (endpointId: string, body: RecoverBody) =>
      call<{ recovered: number }>("POST", `/endpoints/${id(endpointId)}/recover`, body),
    listDeliveries: (query: DeliveriesQuery) => call<Page<Delivery>>("GET", `/deliveries${queryString(query)}`),
    getDelivery: (deliveryId: number) =>
      call<{ delivery: Delivery; event: WebhookEvent; attempts: Attempt[] }>("GET", `/deliveries/${deliveryId}`),
    resendDelivery: (deliveryId: number) => call<{ delivery: Delivery }>("POST", `/deliveries/${deliveryId}/resend`),
    listServiceAccounts: (orgId: string) =>
      call<{ data: ServiceAccount[] }>("GET", `/service-accounts${queryString({ org_id: orgId })}`),
    createServiceAccount: (body: CreateServiceAccountBody) =>
      call<{ service_account: ServiceAccount; api_key: string }>("POST", "/service-accounts", body),
    revokeServiceAccount: (accountId: string) => call<void>("DELETE", `/service-accounts/${id(accountId)}`),
    listAuditEntries: (query: AuditQuery) => call<Page<AuditEntry>>("GET", `/audit-log${queryString(query)}`),
  };
}

export type AdminApi = ReturnType<typeof createAdminApi>;
