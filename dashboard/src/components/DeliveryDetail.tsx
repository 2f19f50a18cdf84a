// One delivery: its state, the exact payload sent, every attempt (status, duration, response
// excerpt, error, payload hash), and resending it. Followed live while it is pending or being sent.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Attempt } from "../api/client";
import { useDashboard } from "../context";
import { formatDuration, formatTime } from "../format";
import { lastResult } from "./DeliveriesView";
import { Empty, ErrorNotice, JsonBlock, Loading, Notice, StatusBadge, useFocusOnMount } from "./ui";

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
      {detail.isPending
        ? <Loading what="the delivery" />
        : detail.error
        ? <ErrorNotice error={detail.error} onRetry={() => detail.refetch()} />
        : (
          <>
            <dl className="cjh-facts">
              <div>
                <dt>Status</dt>
                <dd>
                  <StatusBadge status={detail.data.delivery.status} />
                </dd>
              </div>
              <div>
                <dt>Event</dt>
                <dd>
                  <code>{detail.data.event.event_type}</code> <code className="cjh-wrap">{detail.data.event.id}</code>
                </dd>
              </div>
              <div>
                <dt>Endpoint</dt>
                <dd>
                  <button
                    type="button"
                    className="cjh-link"
                    onClick={() => navigate({ tab: "endpoints", endpointId: detail.data.delivery.endpoint_id })}
                  >
                    Open endpoint
                  </button>
                </dd>
              </div>
              <div>
                <dt>Attempts</dt>
                <dd>{detail.data.delivery.attempt_count}</dd>
              </div>
              <div>
                <dt>Last result</dt>
                <dd className="cjh-wrap">{lastResult(detail.data.delivery)}</dd>
              </div>
              {detail.data.delivery.next_attempt_at && (
                <div>
                  <dt>Next attempt</dt>
                  <dd>{formatTime(detail.data.delivery.next_attempt_at)}</dd>
                </div>
              )}
              <div>
                <dt>Created</dt>
                <dd>{formatTime(detail.data.delivery.created_at)}</dd>
              </div>
              <div>
                <dt>Completed</dt>
                <dd>{formatTime(detail.data.delivery.completed_at)}</dd>
              </div>
            </dl>
            <div className="cjh-actions">
              <button type="button" disabled={resend.isPending} onClick={() => resend.mutate()}>Resend</button>
            </div>
            {resend.error ? <ErrorNotice error={resend.error} /> : null}
            {resend.isSuccess && <Notice>Queued again: it is sent now, with the same webhook-id and body.</Notice>}
            <section aria-labelledby="cjh-attempts-title">
              <h4 id="cjh-attempts-title">Attempts</h4>
              {detail.data.attempts.length === 0
                ? <Empty>No attempt yet.</Empty>
                : <AttemptsTable attempts={detail.data.attempts} />}
            </section>
            <section aria-labelledby="cjh-payload-title">
              <h4 id="cjh-payload-title">Payload</h4>
              <JsonBlock value={detail.data.event.payload} label="Payload" />
            </section>
          </>
        )}
    </section>
  );
}

function AttemptsTable({ attempts }: { attempts: Attempt[] }) {
  return (
    <div className="cjh-table-wrap">
      <table className="cjh-table">
        <caption className="cjh-visually-hidden">Attempts, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Retry</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
            <th scope="col">Result</th>
            <th scope="col">Error</th>
            <th scope="col">Response</th>
            <th scope="col">Payload SHA-256</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((attempt) => (
            <tr key={attempt.id}>
              <td data-label="Retry">{attempt.retry_count}</td>
              <td data-label="Started">{formatTime(attempt.started_at)}</td>
              <td data-label="Duration">{formatDuration(attempt.duration_ms)}</td>
              <td data-label="Result">
                <span className={`cjh-badge ${attempt.succeeded ? "cjh-badge-succeeded" : "cjh-badge-failed"}`}>
                  {attempt.response_status === null ? "No response" : `HTTP ${attempt.response_status}`}
                </span>
              </td>
              <td data-label="Error" className="cjh-wrap">{attempt.error ?? "—"}</td>
              <td data-label="Response" className="cjh-wrap">
                {attempt.response_excerpt ? <code>{attempt.response_excerpt}</code> : "—"}
              </td>
              <td data-label="Payload SHA-256" className="cjh-wrap">
                <code>{attempt.payload_sha256}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
