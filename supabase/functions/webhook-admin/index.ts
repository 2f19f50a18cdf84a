// webhook-admin: endpoint management, delivery logs, replay, service accounts and the audit log
// for tenant admins (docs/openapi.json). The function checks its callers itself (verify_jwt =
// false; _shared/caller.ts); this file only wires.
import { projectCallerIdentifier } from "../_shared/caller.ts";
import { databasePool } from "../_shared/database.ts";
import { databaseUrl, loadEdgeEnvironment } from "../_shared/environment.ts";
import { withHttpConventions } from "../_shared/http.ts";
import { createAdminHandler } from "./handler.ts";

const environment = loadEdgeEnvironment();
const sql = databasePool(databaseUrl(environment), { applicationName: "webhook-admin" });

Deno.serve(withHttpConventions(
  "webhook-admin",
  createAdminHandler({
    sql,
    identifyCaller: projectCallerIdentifier(environment, sql),
  }),
));
