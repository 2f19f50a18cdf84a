// What every part of the dashboard shares: the API client, the organization, and navigation.
import { createContext, useContext } from "react";
import type { AdminApi, DeliveriesQuery } from "./api/client";

export type DeliveryFilter = Pick<DeliveriesQuery, "status" | "endpoint_id" | "event_type" | "since" | "until">;

/** Where the dashboard is: a tab, and on some tabs one endpoint or delivery. */
export type View =
  | { tab: "endpoints"; endpointId?: string }
  | { tab: "deliveries"; deliveryId?: number; filter?: DeliveryFilter }
  | { tab: "service-accounts" }
  | { tab: "audit-log" }
  | { tab: "event-catalog" };

export interface Dashboard {
  api: AdminApi;
  orgId: string;
  navigate(view: View): void;
}

export const DashboardContext = createContext<Dashboard | null>(null);

export function useDashboard(): Dashboard {
  const dashboard = useContext(DashboardContext);
  if (!dashboard) throw new Error("dashboard components must be rendered inside <WebhookDashboard>");
  return dashboard;
}
