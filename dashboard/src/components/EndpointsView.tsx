// The endpoint list with each endpoint's health, and the form that registers a new one (whose
// signing secret is shown once).
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Endpoint } from "../api/client";
import { useDashboard } from "../context";
import { formatDuration, formatShare } from "../format";
import { EndpointForm } from "./EndpointForm";
import { Empty, EnabledBadge, ErrorNotice, Loading, SecretOnce } from "./ui";

export function EndpointsView() {
  const { api, orgId, navigate } = useDashboard();
  const queryClient = useQueryClient();
  const endpoints = useQuery({ queryKey: ["endpoints", orgId], queryFn: () => api.listEndpoints(orgId) });
  const [adding, setAdding] = useState(false);
  const create = useMutation({
    mutationFn: api.createEndpoint,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["endpoints", orgId] }),
  });
  const list = endpoints.data?.data ?? [];
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
      {endpoints.isPending
        ? <Loading what="endpoints" />
        : endpoints.error
        ? <ErrorNotice error={endpoints.error} onRetry={() => endpoints.refetch()} />
        : list.length === 0
        ? <Empty>No endpoints yet. Add one to start receiving this organization's events.</Empty>
        : <EndpointTable endpoints={list} />}
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
  return (
    <div className="cjh-table-wrap">
      <table className="cjh-table">
        <caption className="cjh-visually-hidden">Endpoints and their health over the last 24 hours</caption>
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Status</th>
            <th scope="col">Success (24 h)</th>
            <th scope="col">p50 / p95</th>
            <th scope="col">Backlog</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {endpoints.map((endpoint, index) => {
            const h = health[index]?.data?.health;
            return (
              <tr key={endpoint.id}>
                <td data-label="URL">
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
                </td>
                <td data-label="Status">
                  <div>
                    <EnabledBadge enabled={endpoint.enabled} />
                    {endpoint.disabled_reason && <div className="cjh-hint">{endpoint.disabled_reason}</div>}
                  </div>
                </td>
                <td data-label="Success (24 h)">{h ? formatShare(h.success_rate_24h) : "…"}</td>
                <td data-label="p50 / p95">
                  {h ? `${formatDuration(h.latency_p50_ms_24h)} / ${formatDuration(h.latency_p95_ms_24h)}` : "…"}
                </td>
                <td data-label="Backlog">{h ? h.backlog : "…"}</td>
                <td data-label="Last error" className="cjh-wrap">{h ? h.last_error ?? "—" : "…"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
