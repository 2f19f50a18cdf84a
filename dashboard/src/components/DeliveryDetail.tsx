// One delivery: its state, the exact payload sent, every attempt (status, duration, response
// excerpt, error, payload hash), and resending it. Followed live while it is pending or being sent.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Attempt } from "../api/client";
import { useDashboard } from "../context";
import { formatDuration, formatTime } from "../format";
import { type Column, DataTable, QueryState } from "./DataTable";
import { lastResult } from "./DeliveriesView";
import { Empty, ErrorNotice, JsonBlock, Notice, StatusBadge, useFocusOnMount } from "./ui";

const IN_FLIGHT_REFRESH_MS = 1_000;

export function DeliveryDetail({ deliveryId }: { deliveryId: number }) {
  const { api, navigate } = useDashboard();
  const queryClient = useQueryClient();
  const headingRef = useFocusOnMount<HTMLHeadingElement>();
  const detail = useQuery({
    queryKey: ["delivery", deliveryId],
    queryFn: () => api.getDelivery(deliveryId),
    refetchInterval: (query) => {
      const status = query.state.data?.delivery.status;
      return status === "pending" || status === "sending" ? IN_FLIGHT_REFRESH_MS : false;
    },
  });
  const resend = useMutation({
    mutationFn: () => api.resendDelivery(deliveryId),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["delivery", deliveryId] });
      void queryClient.invalidateQueries({ queryKey: ["deliveries"] });
    },
  });
  return (
    <section className="cjh-view" aria-labelledby="cjh-delivery-title">
      <button type="button" className="cjh-back" onClick={() => navigate({ tab: "deliveries" })}>
        ← All deliveries
      </button>
      <h3 id="cjh-delivery-title" tabIndex={-1} ref={headingRef}>Delivery #{deliveryId}</h3>
      <QueryState query={detail} what="the delivery">
        {({ delivery, event, attempts }) => (
          <>
            <dl className="cjh-facts">
              <div>
                <dt>Status</dt>
                <dd>
                  <StatusBadge status={delivery.status} />
                </dd>
              </div>
              <div>
                <dt>Event</dt>
                <dd>
                  <code>{event.event_type}</code> <code className="cjh-wrap">{event.id}</code>
                </dd>
              </div>
              <div>
                <dt>Endpoint</dt>
                <dd>
                  <button
                    type="button"
                    className="cjh-link"
                    onClick={() => navigate({ tab: "endpoints", endpointId: delivery.endpoint_id })}
                  >
                    Open endpoint
                  </button>
                </dd>
              </div>
              <div>
                <dt>Attempts</dt>
                <dd>{delivery.attempt_count}</dd>
              </div>
              <div>
                <dt>Last result</dt>
                <dd className="cjh-wrap">{lastResult(delivery)}</dd>
              </div>
              {delivery.next_attempt_at && (
                <div>
                  <dt>Next attempt</dt>
                  <dd>{formatTime(delivery.next_attempt_at)}</dd>
                </div>
              )}
              <div>
                <dt>Created</dt>
                <dd>{formatTime(delivery.created_at)}</dd>
              </div>
              <div>
                <dt>Completed</dt>
                <dd>{formatTime(delivery.completed_at)}</dd>
              </div>
            </dl>
            <div className="cjh-actions">
              <button type="button" disabled={resend.isPending} onClick={() => resend.mutate()}>Resend</button>
            </div>
            {resend.error ? <ErrorNotice error={resend.error} /> : null}
            {resend.isSuccess && <Notice>Queued again: it is sent now, with the same webhook-id and body.</Notice>}
            <section aria-labelledby="cjh-attempts-title">
              <h4 id="cjh-attempts-title">Attempts</h4>
              {attempts.length === 0 ? <Empty>No attempt yet.</Empty> : (
                <DataTable
                  caption="Attempts, oldest first"
                  columns={ATTEMPT_COLUMNS}
                  rows={attempts}
                  rowKey={(attempt) => attempt.id}
                />
              )}
            </section>
            <section aria-labelledby="cjh-payload-title">
              <h4 id="cjh-payload-title">Payload</h4>
              <JsonBlock value={event.payload} label="Payload" />
            </section>
          </>
        )}
      </QueryState>
    </section>
  );
}

const ATTEMPT_COLUMNS: Column<Attempt>[] = [
  { label: "Retry", cell: (attempt) => attempt.retry_count },
  { label: "Started", cell: (attempt) => formatTime(attempt.started_at) },
  { label: "Duration", cell: (attempt) => formatDuration(attempt.duration_ms) },
  {
    label: "Result",
    cell: (attempt) => (
      <span className={`cjh-badge ${attempt.succeeded ? "cjh-badge-succeeded" : "cjh-badge-failed"}`}>
        {attempt.response_status === null ? "No response" : `HTTP ${attempt.response_status}`}
      </span>
    ),
  },
  { label: "Error", cell: (attempt) => attempt.error ?? "—", wrap: true },
  {
    label: "Response",
    cell: (attempt) => attempt.response_excerpt ? <code>{attempt.response_excerpt}</code> : "—",
    wrap: true,
  },
  { label: "Payload SHA-256", cell: (attempt) => <code>{attempt.payload_sha256}</code>, wrap: true },
];
