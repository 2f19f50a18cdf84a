// webhook-admin: endpoint management, delivery logs and replay for tenant admins (SPEC §5). The
// gateway checks the JWT (verify_jwt = true); the routes arrive with their own issue.
import { notImplemented, withHttpConventions } from "../_shared/http.ts";

Deno.serve(withHttpConventions("webhook-admin", () => notImplemented("The webhook admin API")));
