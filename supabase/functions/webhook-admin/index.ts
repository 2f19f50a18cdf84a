// webhook-admin: endpoint management, delivery logs, replay, service accounts and the audit log
// for tenant admins (SPEC §5, docs/openapi.json). The gateway checks the JWT (verify_jwt = true,
// which the caller check in handler.ts relies on); this file only wires.
import { databasePool } from "../_shared/database.ts";
import { loadEdgeEnvironment } from "../_shared/environment.ts";
import { withHttpConventions } from "../_shared/http.ts";
import { createAdminHandler } from "./handler.ts";

const environment = loadEdgeEnvironment();

Deno.serve(withHttpConventions(
  "webhook-admin",
  createAdminHandler({
    sql: databasePool(environment.SUPABASE_DB_URL, { applicationName: "webhook-admin" }),
    serviceRoleKey: environment.SUPABASE_SERVICE_ROLE_KEY,
  }),
));
