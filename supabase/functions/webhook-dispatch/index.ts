// webhook-dispatch: delivers due webhook deliveries (SPEC §4). Only the platform may drive it:
// pg_net after commit and pg_cron present the Vault dispatch secret, an operator the service key.
// The gateway therefore lets requests through (verify_jwt = false) and the handler checks them.
import { databasePool } from "../_shared/database.ts";
import { withHttpConventions } from "../_shared/http.ts";
import { loadDispatchConfig } from "./config.ts";
import { dispatchHandler } from "./handler.ts";
import { postgresDeliveryStore } from "./store.ts";

const config = loadDispatchConfig();
const store = postgresDeliveryStore(databasePool(config.SUPABASE_DB_URL, {
  maxConnections: config.WEBHOOK_DISPATCH_DB_POOL_SIZE,
  applicationName: "webhook-dispatch",
}));

Deno.serve(withHttpConventions("webhook-dispatch", dispatchHandler(config, store)));
