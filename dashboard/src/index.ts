// @cjh/webhook-dashboard: the webhook dashboard as a React component, and the typed webhook-admin
// client it is built on. Import "@cjh/webhook-dashboard/style.css" once for its styles.
import "./styles.css";

export { WebhookDashboard, type WebhookDashboardProps } from "./WebhookDashboard";
export type { DeliveryFilter, View } from "./context";
export {
  type AdminApi,
  ApiError,
  type AuditEntry,
  createAdminApi,
  type Delivery,
  type Endpoint,
  type EndpointHealth,
  type FunctionsInvoker,
  type ServiceAccount,
} from "./api/client";
