// The endpoint list with each endpoint's health, and the form that registers a new one (whose
// signing secret is shown once).
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import type { Endpoint, EndpointHealth } from "../api/client";
import { useDashboard } from "../context";
import { formatDuration, formatShare } from "../format";
import { EndpointForm } from "./EndpointForm";
import { type Column, DataTable, QueryState } from "./DataTable";
import { Empty, EnabledBadge, SecretOnce } from "./ui";

export function EndpointsView() {
  const { api, orgId, navigate } = useDashboard();
  const queryClient = useQueryClient();
  const endpoints = useQuery({ queryKey: ["endpoints", orgId], queryFn: () => api.listEndpoints(orgId) });
  const [adding, setAdding] = useState(false);
  const create = useMutation({
    mutationFn: api.createEndpoint,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["endpoints", orgId] }),
  });
  const created = create.data;
  return (
    <section className="cjh-view" aria-labelledby="cjh-endpoints-title">
      <div className="cjh-view-header">
        <h3 id="cjh-endpoints-title">Endpoints</h3>
        {!adding && !created && (
          <button type="button" className="cjh-primary" onClick={() => setAdding(true)}>Add endpoint</button>
        )}
      </div>
      {created
        ? (
          <SecretOnce
            title="Endpoint created"
            label="Signing secret"
            secret={created.signing_secret}
            onDone={() => {
              const id = created.endpoint.id;
              create.reset();
              navigate({ tab: "endpoints", endpointId: id });
            }}
          >
            <p>
              Events for <code>{created.endpoint.url}</code> are signed with this secret (Standard Webhooks).
            </p>
          </SecretOnce>
        )
        : adding && (
          <EndpointForm
            title="Add endpoint"
            submitLabel="Create endpoint"
            busy={create.isPending}
            error={create.error}
            onSubmit={(values) => create.mutate({ org_id: orgId, ...values }, { onSuccess: () => setAdding(false) })}
            onCancel={() => {
              setAdding(false);
              create.reset();
            }}
          />
        )}
      <QueryState query={endpoints} what="endpoints">
        {({ data }) =>
          data.length === 0
            ? <Empty>No endpoints yet. Add one to start receiving this organization's events.</Empty>
            : <EndpointTable endpoints={data} />}
      </QueryState>
    </section>
  );
}

function EndpointTable({ endpoints }: { endpoints: Endpoint[] }) {
  const { api, navigate } = useDashboard();
  const health = useQueries({
    queries: endpoints.map((endpoint) => ({
      queryKey: ["health", endpoint.id],
      queryFn: () => api.getEndpointHealth(endpoint.id),
    })),
  });
  /** A health figure, or "…" while the endpoint's health is loading. */
  const measured = (index: number, figure: (health: EndpointHealth) => ReactNode) => {
    const loaded = health[index]?.data?.health;
    return loaded ? figure(loaded) : "…";
  };
  const columns: Column<Endpoint>[] = [
    {
      label: "URL",
      cell: (endpoint) => (
        <div>
          <button
            type="button"
            className="cjh-link"
            onClick={() => navigate({ tab: "endpoints", endpointId: endpoint.id })}
          >
            {endpoint.url}
          </button>
          {endpoint.description && <div className="cjh-hint">{endpoint.description}</div>}
        </div>
      ),
    },
    {
      label: "Status",
      cell: (endpoint) => (
        <div>
          <EnabledBadge enabled={endpoint.enabled} />
          {endpoint.disabled_reason && <div className="cjh-hint">{endpoint.disabled_reason}</div>}
        </div>
      ),
    },
    { label: "Success (24 h)", cell: (_, index) => measured(index, (h) => formatShare(h.success_rate_24h)) },
    {
      label: "p50 / p95",
      cell: (_, index) =>
        measured(index, (h) => `${formatDuration(h.latency_p50_ms_24h)} / ${formatDuration(h.latency_p95_ms_24h)}`),
    },
    { label: "Backlog", cell: (_, index) => measured(index, (h) => h.backlog) },
    { label: "Last error", cell: (_, index) => measured(index, (h) => h.last_error ?? "—"), wrap: true },
  ];
  return (
    <DataTable
      caption="Endpoints and their health over the last 24 hours"
      columns={columns}
      rows={endpoints}
      rowKey={(endpoint) => endpoint.id}
    />
  );
}
