// webhook-dispatch: delivers due webhook deliveries (docs/webhooks.md). Only the platform may
// drive it: the scheduler's pg_net requests present the Vault dispatch secret, an operator the
// secret API key. The gateway therefore lets requests through (verify_jwt = false) and the
// handler checks them.
import { databasePool } from "../_shared/database.ts";
import { databaseUrl } from "../_shared/environment.ts";
import { withHttpConventions } from "../_shared/http.ts";
import { loadDispatchConfig } from "./config.ts";
import { dispatchHandler, dispatchWorker } from "./handler.ts";
import { postgresDeliveryStore } from "./store.ts";

const config = loadDispatchConfig();
const store = postgresDeliveryStore(databasePool(databaseUrl(config), {
  maxConnections: config.WEBHOOK_DISPATCH_DB_POOL_SIZE,
  applicationName: "webhook-dispatch",
}));

Deno.serve(withHttpConventions("webhook-dispatch", dispatchHandler(config, dispatchWorker(config, store))));
