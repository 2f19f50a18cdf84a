// The embeddable dashboard: give it the app's supabase-js client and an organization id. Every call
// goes through webhook-admin with the client's session, so the database decides what the signed-in
// user may see and do; a user who may not manage the organization's webhooks is told so.
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { ApiError, createAdminApi, type FunctionsInvoker } from "./api/client";
import { AuditLogView } from "./components/AuditLogView";
import { DeliveriesView } from "./components/DeliveriesView";
import { DeliveryDetail } from "./components/DeliveryDetail";
import { EndpointDetail } from "./components/EndpointDetail";
import { EndpointsView } from "./components/EndpointsView";
import { EventCatalogView } from "./components/EventCatalogView";
import { ServiceAccountsView } from "./components/ServiceAccountsView";
import { ErrorNotice, Loading, NotAllowed } from "./components/ui";
import { DashboardContext, useDashboard, type View } from "./context";

export interface WebhookDashboardProps {
  /** The app's supabase-js client, signed in as the admin (its session authorizes every call). */
  supabase: FunctionsInvoker;
  /** The organization whose webhooks to show (a uuid). */
  orgId: string;
  /** Where to open; the endpoint list by default. */
  initialView?: View;
  className?: string;
}

const TABS: { tab: View["tab"]; label: string }[] = [
  { tab: "endpoints", label: "Endpoints" },
  { tab: "deliveries", label: "Deliveries" },
  { tab: "service-accounts", label: "Service accounts" },
  { tab: "audit-log", label: "Audit log" },
  { tab: "event-catalog", label: "Event catalog" },
];

/** Refusals (4xx) are answers, not glitches: asking again would get the same one. */
function retryUnlessRefused(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

export function WebhookDashboard({ supabase, orgId, initialView, className }: WebhookDashboardProps) {
  const [queryClient] = useState(() =>
    new QueryClient({
      defaultOptions: {
        queries: { retry: retryUnlessRefused, refetchOnWindowFocus: false, staleTime: 2_000 },
        mutations: { retry: false },
      },
    })
  );
  const [view, setView] = useState<View>(initialView ?? { tab: "endpoints" });
  const api = useMemo(() => createAdminApi(supabase), [supabase]);
  const dashboard = useMemo(() => ({ api, orgId, navigate: setView }), [api, orgId]);
  return (
    <QueryClientProvider client={queryClient}>
      <DashboardContext.Provider value={dashboard}>
        <div className={["cjh-wd", className].filter(Boolean).join(" ")}>
          <Shell view={view} onNavigate={setView} />
        </div>
      </DashboardContext.Provider>
    </QueryClientProvider>
  );
}

function Shell({ view, onNavigate }: { view: View; onNavigate: (view: View) => void }) {
  const { api, orgId } = useDashboard();
  // The endpoint list doubles as the access check: the API answers 403 to anyone but an owner or admin.
  const access = useQuery({ queryKey: ["endpoints", orgId], queryFn: () => api.listEndpoints(orgId) });
  if (access.isPending) return <Loading what="the webhook dashboard" />;
  if (access.error instanceof ApiError && access.error.status === 403) return <NotAllowed error={access.error} />;
  return (
    <>
      <header className="cjh-header">
        <h2>Webhooks</h2>
        <nav aria-label="Webhook dashboard">
          <ul>
            {TABS.map(({ tab, label }) => (
              <li key={tab}>
                <button
                  type="button"
                  aria-current={view.tab === tab ? "page" : undefined}
                  onClick={() => onNavigate({ tab } as View)}
                >
                  {label}
                </button>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      {access.error ? <ErrorNotice error={access.error} onRetry={() => access.refetch()} /> : <Current view={view} />}
    </>
  );
}

function Current({ view }: { view: View }) {
  switch (view.tab) {
    case "endpoints":
      return view.endpointId
        ? <EndpointDetail key={view.endpointId} endpointId={view.endpointId} />
        : <EndpointsView />;
    case "deliveries":
      return view.deliveryId
        ? <DeliveryDetail key={view.deliveryId} deliveryId={view.deliveryId} />
        : <DeliveriesView initialFilter={view.filter} />;
    case "service-accounts":
      return <ServiceAccountsView />;
    case "audit-log":
      return <AuditLogView />;
    case "event-catalog":
      return <EventCatalogView />;
  }
}
