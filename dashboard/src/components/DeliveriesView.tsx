// Deliveries: filters (status, event type, endpoint, time range), a table, and cursor paging.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useReducer, useState } from "react";
import type { Delivery, DeliveryStatus } from "../api/client";
import { type DeliveryFilter, useDashboard } from "../context";
import { formatTime, instantToLocalInput, localInputToIso } from "../format";
import { currentCursor, NEWEST_PAGE, pageNumber, pagingReducer } from "../paging";
import { type Column, DataTable, Pager, QueryState } from "./DataTable";
import { useEventTypes } from "./EndpointForm";
import { Empty, Field, StatusBadge } from "./ui";

const LIST_REFRESH_MS = 5_000;
const PAGE_SIZE = 25;
const STATUSES: DeliveryStatus[] = ["pending", "sending", "succeeded", "failed", "exhausted"];

/** One page of deliveries for a filter, with the paging state that chose it. */
function useDeliveriesPage(filter: DeliveryFilter, pageSize: number) {
  const { api, orgId } = useDashboard();
  const [paging, dispatch] = useReducer(pagingReducer, NEWEST_PAGE);
  const cursor = currentCursor(paging);
  const query = useQuery({
    queryKey: ["deliveries", orgId, filter, cursor, pageSize],
    queryFn: () => api.listDeliveries({ org_id: orgId, ...filter, cursor, limit: pageSize }),
    placeholderData: keepPreviousData,
    // The newest page follows deliveries as they are sent; older pages do not change.
    refetchInterval: cursor === undefined ? LIST_REFRESH_MS : false,
  });
  return { query, paging, dispatch };
}

/** A filtered, paged deliveries table (also embedded in an endpoint's page). */
export function DeliveriesList(
  { filter, pageSize = PAGE_SIZE, showEndpoint = true }: {
    filter: DeliveryFilter;
    pageSize?: number;
    showEndpoint?: boolean;
  },
) {
  const { query, paging, dispatch } = useDeliveriesPage(filter, pageSize);
  return (
    <QueryState query={query} what="deliveries">
      {({ data, next_cursor }) => (
        <>
          {data.length === 0
            ? <Empty>{pageNumber(paging) === 1 ? "No deliveries match." : "No older deliveries."}</Empty>
            : <DeliveriesTable deliveries={data} showEndpoint={showEndpoint} />}
          <Pager label="Deliveries pages" paging={paging} dispatch={dispatch} nextCursor={next_cursor} />
        </>
      )}
    </QueryState>
  );
}

function DeliveriesTable({ deliveries, showEndpoint }: { deliveries: Delivery[]; showEndpoint: boolean }) {
  const { api, orgId, navigate } = useDashboard();
  const endpoints = useQuery({ queryKey: ["endpoints", orgId], queryFn: () => api.listEndpoints(orgId) });
  const urlOf = (id: string) => endpoints.data?.data.find((endpoint) => endpoint.id === id)?.url ?? id;
  const columns: Column<Delivery>[] = [
    {
      label: "Delivery",
      cell: (delivery) => (
        <button
          type="button"
          className="cjh-link"
          onClick={() => navigate({ tab: "deliveries", deliveryId: delivery.id })}
        >
          #{delivery.id}
        </button>
      ),
    },
    { label: "Event type", cell: (delivery) => <code>{delivery.event_type}</code> },
    ...(showEndpoint
      ? [{ label: "Endpoint", cell: (delivery: Delivery) => urlOf(delivery.endpoint_id), wrap: true }]
      : []),
    { label: "Status", cell: (delivery) => <StatusBadge status={delivery.status} /> },
    { label: "Attempts", cell: (delivery) => delivery.attempt_count },
    { label: "Last result", cell: lastResult, wrap: true },
    { label: "Created", cell: (delivery) => formatTime(delivery.created_at) },
  ];
  return (
    <DataTable
      caption="Deliveries, newest first"
      columns={columns}
      rows={deliveries}
      rowKey={(delivery) => delivery.id}
    />
  );
}

/**
 * "HTTP 200", "HTTP 500", "Connection refused" (an error without a response), or "—" before the
 * first attempt. A success is only its status: the error of an earlier attempt no longer matters.
 */
export function lastResult(delivery: Pick<Delivery, "last_response_status" | "last_error">): string {
  const code = delivery.last_response_status;
  const status = code === null ? "" : `HTTP ${code}`;
  if (code !== null && code >= 200 && code < 300) return status;
  const error = delivery.last_error === status ? "" : delivery.last_error ?? "";
  return [status, error].filter(Boolean).join(": ") || "—";
}

interface FilterDraft {
  status: string;
  event_type: string;
  endpoint_id: string;
  since: string;
  until: string;
}

function draftOf(filter: DeliveryFilter = {}): FilterDraft {
  const local = (iso?: string) => iso ? instantToLocalInput(new Date(iso)) : "";
  return {
    status: filter.status ?? "",
    event_type: filter.event_type ?? "",
    endpoint_id: filter.endpoint_id ?? "",
    since: local(filter.since),
    until: local(filter.until),
  };
}

/** The API filter for a filter form's values; empty fields filter nothing. */
export function filterOf(draft: FilterDraft): DeliveryFilter {
  const filter: DeliveryFilter = {};
  if (draft.status) filter.status = draft.status as DeliveryStatus;
  if (draft.event_type) filter.event_type = draft.event_type as DeliveryFilter["event_type"];
  if (draft.endpoint_id) filter.endpoint_id = draft.endpoint_id;
  const since = localInputToIso(draft.since);
  const until = localInputToIso(draft.until);
  if (since) filter.since = since;
  if (until) filter.until = until;
  return filter;
}

export function DeliveriesView({ initialFilter }: { initialFilter?: DeliveryFilter }) {
  const { api, orgId } = useDashboard();
  const [draft, setDraft] = useState<FilterDraft>(() => draftOf(initialFilter));
  const [filter, setFilter] = useState<DeliveryFilter>(initialFilter ?? {});
  const endpoints = useQuery({ queryKey: ["endpoints", orgId], queryFn: () => api.listEndpoints(orgId) });
  const eventTypes = useEventTypes();
  const set = (name: keyof FilterDraft) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [name]: event.target.value });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter(filterOf(draft));
  };
  return (
    <section className="cjh-view" aria-labelledby="cjh-deliveries-title">
      <h3 id="cjh-deliveries-title">Deliveries</h3>
      <form className="cjh-form cjh-filters" onSubmit={apply} aria-label="Filter deliveries">
        <Field label="Status" name="status">
          {(props) => (
            <select {...props} value={draft.status} onChange={set("status")}>
              <option value="">Any</option>
              {STATUSES.map((status) => <option key={status} value={status}>{status}</option>)}
            </select>
          )}
        </Field>
        <Field label="Event type" name="event_type">
          {(props) => (
            <select {...props} value={draft.event_type} onChange={set("event_type")}>
              <option value="">Any</option>
              {(eventTypes.data?.data ?? []).map(({ type }) => <option key={type} value={type}>{type}</option>)}
            </select>
          )}
        </Field>
        <Field label="Endpoint" name="endpoint_id">
          {(props) => (
            <select {...props} value={draft.endpoint_id} onChange={set("endpoint_id")}>
              <option value="">Any</option>
              {(endpoints.data?.data ?? []).map((endpoint) => (
                <option key={endpoint.id} value={endpoint.id}>{endpoint.url}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="From" name="since">
          {(props) => <input {...props} type="datetime-local" value={draft.since} onChange={set("since")} />}
        </Field>
        <Field label="To" name="until">
          {(props) => <input {...props} type="datetime-local" value={draft.until} onChange={set("until")} />}
        </Field>
        <div className="cjh-actions">
          <button type="submit" className="cjh-primary">Apply filters</button>
          <button
            type="button"
            onClick={() => {
              setDraft(draftOf());
              setFilter({});
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <DeliveriesList key={JSON.stringify(filter)} filter={filter} />
    </section>
  );
}
