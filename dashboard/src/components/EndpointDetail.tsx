// One endpoint: its health, its deliveries by outcome over time, and what an admin does with it
// (send a test event, rotate the secret, edit, disable or enable, recover failed deliveries, delete).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { Endpoint, EndpointHealth, SubscribableEventType } from "../api/client";
import { useDashboard } from "../context";
import { formatDuration, formatShare, formatTime, instantToLocalInput, localInputToIso } from "../format";
import { QueryState } from "./DataTable";
import { DeliveriesList } from "./DeliveriesView";
import { EndpointActivity } from "./EndpointActivity";
import { EndpointForm } from "./EndpointForm";
import { ConfirmButton, EnabledBadge, ErrorNotice, Field, Notice, SecretOnce, useFocusOnMount } from "./ui";

const HEALTH_REFRESH_MS = 5_000;
const DAY_MS = 86_400_000;

export function EndpointDetail({ endpointId }: { endpointId: string }) {
  const { api, navigate } = useDashboard();
  const endpoint = useQuery({ queryKey: ["endpoint", endpointId], queryFn: () => api.getEndpoint(endpointId) });
  const headingRef = useFocusOnMount<HTMLHeadingElement>();
  return (
    <section className="cjh-view" aria-labelledby="cjh-endpoint-title">
      <button type="button" className="cjh-back" onClick={() => navigate({ tab: "endpoints" })}>
        ← All endpoints
      </button>
      <h3 id="cjh-endpoint-title" tabIndex={-1} ref={headingRef} className="cjh-wrap">
        {endpoint.data ? endpoint.data.endpoint.url : "Endpoint"}
      </h3>
      <QueryState query={endpoint} what="the endpoint">
        {(data) => <EndpointBody endpoint={data.endpoint} />}
      </QueryState>
    </section>
  );
}

function EndpointBody({ endpoint }: { endpoint: Endpoint }) {
  const { api, orgId, navigate } = useDashboard();
  const queryClient = useQueryClient();
  const health = useQuery({
    queryKey: ["health", endpoint.id],
    queryFn: () => api.getEndpointHealth(endpoint.id),
    refetchInterval: HEALTH_REFRESH_MS,
  });
  const changed = (next?: { endpoint: Endpoint }) => {
    if (next) queryClient.setQueryData(["endpoint", endpoint.id], { endpoint: next.endpoint });
    void queryClient.invalidateQueries({ queryKey: ["endpoints", orgId] });
    void queryClient.invalidateQueries({ queryKey: ["health", endpoint.id] });
  };
  const [editing, setEditing] = useState(false);
  const update = useMutation({
    mutationFn: (values: Parameters<typeof api.updateEndpoint>[1]) => api.updateEndpoint(endpoint.id, values),
    onSuccess: (next) => {
      changed(next);
      setEditing(false);
    },
  });
  const test = useMutation({
    mutationFn: () => api.sendTestEvent(endpoint.id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["deliveries"] }),
  });
  const rotate = useMutation({ mutationFn: () => api.rotateSecret(endpoint.id), onSuccess: changed });
  const enable = useMutation({ mutationFn: () => api.enableEndpoint(endpoint.id), onSuccess: changed });
  const remove = useMutation({
    mutationFn: () => api.deleteEndpoint(endpoint.id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["endpoints", orgId] });
      navigate({ tab: "endpoints" });
    },
  });
  const actionError = test.error ?? rotate.error ?? enable.error ?? remove.error;
  return (
    <>
      <dl className="cjh-facts">
        <div>
          <dt>Status</dt>
          <dd>
            <EnabledBadge enabled={endpoint.enabled} />
            {endpoint.disabled_reason && <>Disabled because: {endpoint.disabled_reason}</>}
          </dd>
        </div>
        {endpoint.description && (
          <div>
            <dt>Description</dt>
            <dd>{endpoint.description}</dd>
          </div>
        )}
        <div>
          <dt>Event types</dt>
          <dd>{endpoint.event_types.length === 0 ? "Every type" : endpoint.event_types.join(", ")}</dd>
        </div>
        {endpoint.previous_secret_expires_at && (
          <div>
            <dt>Previous secret signs until</dt>
            <dd>{formatTime(endpoint.previous_secret_expires_at)}</dd>
          </div>
        )}
      </dl>

      {rotate.data && (
        <SecretOnce
          title="Secret rotated"
          label="New signing secret"
          secret={rotate.data.signing_secret}
          onDone={() => rotate.reset()}
        >
          <p>
            The previous secret keeps signing alongside this one until{" "}
            {formatTime(rotate.data.endpoint.previous_secret_expires_at)}, so receivers can switch without missing
            events.
          </p>
        </SecretOnce>
      )}

      <div className="cjh-actions" role="group" aria-label="Endpoint actions">
        <button type="button" disabled={!endpoint.enabled || test.isPending} onClick={() => test.mutate()}>
          Send test event
        </button>
        <ConfirmButton
          label="Rotate secret"
          question="Rotate the signing secret?"
          confirmLabel="Rotate"
          busy={rotate.isPending}
          onConfirm={() => rotate.mutate()}
        />
        <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>Edit</button>
        {endpoint.enabled
          ? <DisableForm endpoint={endpoint} onDone={changed} />
          : <button type="button" disabled={enable.isPending} onClick={() => enable.mutate()}>Enable</button>}
        <ConfirmButton
          label="Delete"
          question="Delete this endpoint and its delivery history?"
          confirmLabel="Delete endpoint"
          busy={remove.isPending}
          onConfirm={() => remove.mutate()}
        />
      </div>
      {!endpoint.enabled && <p className="cjh-hint">A disabled endpoint gets no events, test events included.</p>}
      {actionError ? <ErrorNotice error={actionError} /> : null}
      {test.data && (
        <Notice>
          Test event queued.{" "}
          <button
            type="button"
            className="cjh-link"
            onClick={() => navigate({ tab: "deliveries", deliveryId: test.data.delivery_id })}
          >
            Open delivery #{test.data.delivery_id}
          </button>
        </Notice>
      )}
      {editing && (
        <EndpointForm
          title="Edit endpoint"
          submitLabel="Save changes"
          initial={{
            url: endpoint.url,
            description: endpoint.description,
            event_types: endpoint.event_types as SubscribableEventType[],
          }}
          busy={update.isPending}
          error={update.error}
          onSubmit={(values) => update.mutate(values)}
          onCancel={() => {
            setEditing(false);
            update.reset();
          }}
        />
      )}

      <section aria-labelledby="cjh-health-title">
        <h4 id="cjh-health-title">Health (last 24 hours)</h4>
        <QueryState query={health} what="health">{(data) => <HealthFacts health={data.health} />}</QueryState>
      </section>

      <EndpointActivity endpointId={endpoint.id} />

      <RecoverForm endpoint={endpoint} />

      <section aria-labelledby="cjh-endpoint-deliveries-title">
        <h4 id="cjh-endpoint-deliveries-title">Recent deliveries</h4>
        <DeliveriesList filter={{ endpoint_id: endpoint.id }} pageSize={10} showEndpoint={false} />
        <button
          type="button"
          className="cjh-link"
          onClick={() => navigate({ tab: "deliveries", filter: { endpoint_id: endpoint.id } })}
        >
          Filter all deliveries by this endpoint
        </button>
      </section>
    </>
  );
}

function HealthFacts({ health }: { health: EndpointHealth }) {
  return (
    <dl className="cjh-facts cjh-health">
      <div>
        <dt>Success rate</dt>
        <dd>{formatShare(health.success_rate_24h)} of {health.attempts_24h} attempts</dd>
      </div>
      <div>
        <dt>Latency p50 / p95</dt>
        <dd>{formatDuration(health.latency_p50_ms_24h)} / {formatDuration(health.latency_p95_ms_24h)}</dd>
      </div>
      <div>
        <dt>Backlog</dt>
        <dd>
          {health.backlog}{" "}
          waiting{health.backlog_oldest_at && <>, oldest from {formatTime(health.backlog_oldest_at)}</>}
        </dd>
      </div>
      <div>
        <dt>Last attempt</dt>
        <dd>{formatTime(health.last_attempt_at)}</dd>
      </div>
      <div>
        <dt>Last error</dt>
        <dd className="cjh-wrap">
          {health.last_error ? <>{health.last_error} ({formatTime(health.last_failure_at)})</> : "None"}
        </dd>
      </div>
      {health.failing_since && (
        <div>
          <dt>Failing since</dt>
          <dd>{formatTime(health.failing_since)}</dd>
        </div>
      )}
      {health.disabled_reason && (
        <div>
          <dt>Disabled reason</dt>
          <dd>{health.disabled_reason}</dd>
        </div>
      )}
    </dl>
  );
}

function DisableForm({ endpoint, onDone }: { endpoint: Endpoint; onDone: (next: { endpoint: Endpoint }) => void }) {
  const { api } = useDashboard();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const disable = useMutation({
    mutationFn: () => api.disableEndpoint(endpoint.id, reason.trim() || undefined),
    onSuccess: (next) => {
      setOpen(false);
      onDone(next);
    },
  });
  if (!open) return <button type="button" onClick={() => setOpen(true)}>Disable</button>;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    disable.mutate();
  };
  return (
    <form className="cjh-form cjh-inline-form" onSubmit={submit} noValidate aria-label="Disable endpoint">
      {disable.error ? <ErrorNotice error={disable.error} /> : null}
      <Field label="Reason" name="reason" error={disable.error} hint="Shown to every admin. Optional.">
        {(props) => <input {...props} type="text" value={reason} onChange={(event) => setReason(event.target.value)} />}
      </Field>
      <div className="cjh-actions">
        <button type="submit" className="cjh-danger" disabled={disable.isPending}>Disable endpoint</button>
        <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

function RecoverForm({ endpoint }: { endpoint: Endpoint }) {
  const { api } = useDashboard();
  const queryClient = useQueryClient();
  const [since, setSince] = useState(() => instantToLocalInput(new Date(Date.now() - DAY_MS)));
  const recover = useMutation({
    mutationFn: () => api.recoverDeliveries(endpoint.id, { since: localInputToIso(since) ?? since }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["deliveries"] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    recover.mutate();
  };
  return (
    <section aria-labelledby="cjh-recover-title">
      <h4 id="cjh-recover-title">Recover failed deliveries</h4>
      <form className="cjh-form cjh-inline-form" onSubmit={submit} noValidate aria-label="Recover failed deliveries">
        {recover.error ? <ErrorNotice error={recover.error} /> : null}
        <Field
          label="From"
          name="since"
          error={recover.error}
          hint="Every failed or exhausted delivery created since then is queued again, once."
        >
          {(props) => (
            <input
              {...props}
              type="datetime-local"
              value={since}
              onChange={(event) => setSince(event.target.value)}
            />
          )}
        </Field>
        <div className="cjh-actions">
          <button type="submit" disabled={recover.isPending || !endpoint.enabled}>Recover</button>
        </div>
      </form>
      {recover.data && (
        <Notice>
          {recover.data.recovered === 1 ? "1 delivery" : `${recover.data.recovered} deliveries`} queued again.
        </Notice>
      )}
    </section>
  );
}
