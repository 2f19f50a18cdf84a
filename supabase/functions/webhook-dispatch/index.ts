// webhook-dispatch: delivers due webhook deliveries. Only the platform may drive it: the
// scheduler's pg_net requests present the Vault dispatch secret, an operator the secret key.
// The gateway therefore lets requests through (verify_jwt = false) and the handler checks them.
import { databasePool } from "../_shared/database.ts";
import { withHttpConventions } from "../_shared/http.ts";
import { loadDispatchConfig } from "./config.ts";
import { dispatchHandler, dispatchWorker } from "./handler.ts";
import { postgresDeliveryStore } from "./store.ts";

const config = loadDispatchConfig();
const store = postgresDeliveryStore(databasePool(config.SUPABASE_DB_URL, {
  maxConnections: config.WEBHOOK_DISPATCH_DB_POOL_SIZE,
  applicationName: "webhook-dispatch",
}));

Deno.serve(withHttpConventions("webhook-dispatch", dispatchHandler(config, dispatchWorker(config, store))));
