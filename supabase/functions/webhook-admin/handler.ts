// webhook-admin's request handling: the route and its validated parts come from app.ts; this
// checks who is calling and runs the operation.
// Admin routes need a signed-in user's session (or a platform credential); whether that user is
// an owner or admin of the organization concerned is decided in the database, per operation. The
// token route needs no session: its credential is the API key in the body.
import type { IdentifyCaller } from "../_shared/caller.ts";
import type { Sql } from "../_shared/database.ts";
import { EVENT_CATALOG, EVENT_TYPES, eventJsonSchema } from "../_shared/events.ts";
import { type Handler, jsonResponse } from "../_shared/http.ts";
import {
  createServiceAccount,
  issueServiceAccountToken,
  listServiceAccounts,
  revokeServiceAccount,
  scopeCatalog,
} from "./accounts.ts";
import { getDelivery, getEvent, listAuditEntries, listDeliveries, listEvents, resendDelivery } from "./activity.ts";
import type { OperationId } from "./api.ts";
import { createAdminApp, type Parts, successResponse } from "./app.ts";
import { type AdminContext, requireAnyOrgAdmin } from "./context.ts";
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  getEndpointHealth,
  listEndpoints,
  recoverEndpointDeliveries,
  rotateEndpointSecret,
  sendTestEvent,
  setEndpointEnabled,
  updateEndpoint,
} from "./endpoints.ts";

export interface AdminDependencies {
  sql: Sql;
  identifyCaller: IdentifyCaller;
}

type Operation = (context: AdminContext, parts: Parts) => Promise<unknown>;

function eventCatalog() {
  return {
    data: EVENT_TYPES.map((type) => ({
      type,
      description: EVENT_CATALOG[type].description,
      schema: eventJsonSchema(type),
      sample: EVENT_CATALOG[type].sample,
    })),
  };
}

const ADMIN_OPERATIONS: Record<Exclude<OperationId, "issueServiceAccountToken">, Operation> = {
  listEventTypes: (context) => requireAnyOrgAdmin(context).then(eventCatalog),
  listScopes: (context) => requireAnyOrgAdmin(context).then(scopeCatalog),
  listEndpoints: (context, { query }) => listEndpoints(context, query),
  createEndpoint: (context, { body }) => createEndpoint(context, body),
  getEndpoint: (context, { params }) => getEndpoint(context, params.endpoint_id),
  updateEndpoint: (context, { params, body }) => updateEndpoint(context, params.endpoint_id, body),
  deleteEndpoint: (context, { params }) => deleteEndpoint(context, params.endpoint_id),
  enableEndpoint: (context, { params }) => setEndpointEnabled(context, params.endpoint_id, true),
  disableEndpoint: (context, { params, body }) => setEndpointEnabled(context, params.endpoint_id, false, body),
  rotateEndpointSecret: (context, { params }) => rotateEndpointSecret(context, params.endpoint_id),
  sendTestEvent: (context, { params }) => sendTestEvent(context, params.endpoint_id),
  getEndpointHealth: (context, { params }) => getEndpointHealth(context, params.endpoint_id),
  recoverEndpointDeliveries: (context, { params, body }) =>
    recoverEndpointDeliveries(context, params.endpoint_id, body),
  listEvents: (context, { query }) => listEvents(context, query),
  getEvent: (context, { params }) => getEvent(context, params.event_id),
  listDeliveries: (context, { query }) => listDeliveries(context, query),
  getDelivery: (context, { params }) => getDelivery(context, params.delivery_id),
  resendDelivery: (context, { params }) => resendDelivery(context, params.delivery_id),
  listServiceAccounts: (context, { query }) => listServiceAccounts(context, query),
  createServiceAccount: (context, { body }) => createServiceAccount(context, body),
  revokeServiceAccount: (context, { params }) => revokeServiceAccount(context, params.service_account_id),
  listAuditEntries: (context, { query }) => listAuditEntries(context, query),
};

export function createAdminHandler({ sql, identifyCaller }: AdminDependencies): Handler {
  const app = createAdminApp(async (route, request, parts) => {
    if (route.operationId === "issueServiceAccountToken") {
      return jsonResponse(await issueServiceAccountToken(sql, (parts.body as { api_key: string }).api_key));
    }
    const caller = await identifyCaller(request);
    const operation = ADMIN_OPERATIONS[route.operationId];
    return successResponse(route, await operation({ sql, claims: caller.claims }, parts));
  });
  return (request) => app.fetch(request);
}
