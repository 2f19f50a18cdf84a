// An endpoint's deliveries by outcome over time: a stacked bar chart (loaded on demand, so the
// first load stays small) with the same numbers as a table for screen readers and copying.
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense, useId, useState } from "react";
import type { AdminApi, Delivery } from "../api/client";
import {
  bucketDeliveries,
  type Buckets,
  OUTCOME_LABELS,
  OUTCOMES,
  outcomeTotals,
  type RangeKey,
  RANGES,
} from "../chart-data";
import { useDashboard } from "../context";
import { formatBucketStart } from "../format";
import { type Column, DataTable, QueryState } from "./DataTable";
import { Empty, Loading } from "./ui";

const DeliveriesChart = lazy(() => import("./DeliveriesChart"));

/** The most deliveries one chart counts (5 pages of the API's largest page). */
export const MAX_CHART_DELIVERIES = 1_000;
const CHART_PAGE_SIZE = 200;
const ACTIVITY_REFRESH_MS = 30_000;

/**
 * The endpoint's deliveries created in `range` before `end`, newest first, paged through the
 * deliveries list (there is no aggregate route) up to MAX_CHART_DELIVERIES.
 */
export async function loadActivity(
  api: AdminApi,
  orgId: string,
  endpointId: string,
  range: RangeKey,
  end: Date,
): Promise<{ buckets: Buckets; truncated: boolean }> {
  const { rangeMs, bucketMs } = RANGES[range];
  const since = new Date(end.getTime() - rangeMs).toISOString();
  const deliveries: Delivery[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.listDeliveries({
      org_id: orgId,
      endpoint_id: endpointId,
      since,
      limit: CHART_PAGE_SIZE,
      ...(cursor ? { cursor } : {}),
    });
    deliveries.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && deliveries.length < MAX_CHART_DELIVERIES);
  return { buckets: bucketDeliveries(deliveries, { end, rangeMs, bucketMs }), truncated: cursor !== undefined };
}

export function EndpointActivity({ endpointId }: { endpointId: string }) {
  const { api, orgId } = useDashboard();
  const id = useId();
  const [range, setRange] = useState<RangeKey>("24h");
  const activity = useQuery({
    queryKey: ["activity", endpointId, range],
    queryFn: () => loadActivity(api, orgId, endpointId, range, new Date()),
    refetchInterval: ACTIVITY_REFRESH_MS,
  });
  return (
    <section aria-labelledby={`${id}-title`}>
      <h4 id={`${id}-title`}>Deliveries by outcome</h4>
      <div className="cjh-field cjh-inline">
        <label htmlFor={`${id}-range`}>Range</label>
        <select id={`${id}-range`} value={range} onChange={(event) => setRange(event.target.value as RangeKey)}>
          {Object.entries(RANGES).map(([key, { label }]) => <option key={key} value={key}>{label}</option>)}
        </select>
      </div>
      <QueryState query={activity} what="deliveries">
        {({ buckets, truncated }) =>
          buckets.total === 0 ? <Empty>No deliveries in this range.</Empty> : (
            <>
              <Suspense fallback={<Loading what="the chart" />}>
                <DeliveriesChart buckets={buckets} label={chartSummary(buckets, range)} />
              </Suspense>
              {truncated && (
                <p className="cjh-hint">Only the newest {MAX_CHART_DELIVERIES} deliveries of this range are counted.</p>
              )}
              <details className="cjh-details">
                <summary>Show the numbers</summary>
                <BucketTable buckets={buckets} />
              </details>
            </>
          )}
      </QueryState>
    </section>
  );
}

/** One sentence with the chart's totals, its text alternative. */
export function chartSummary(buckets: Buckets, range: RangeKey): string {
  const totals = outcomeTotals(buckets);
  const parts = OUTCOMES.filter((outcome) => totals[outcome] > 0).map((outcome) =>
    `${totals[outcome]} ${OUTCOME_LABELS[outcome].toLowerCase()}`
  );
  return `Deliveries by outcome, ${RANGES[range].label.toLowerCase()}: ${parts.join(", ")}.`;
}

function BucketTable({ buckets }: { buckets: Buckets }) {
  const columns: Column<Date>[] = [
    { label: "From", cell: formatBucketStart, rowHeader: true },
    ...OUTCOMES.map((outcome) => ({
      label: OUTCOME_LABELS[outcome],
      cell: (_: Date, index: number) => buckets.counts[outcome][index],
    })),
  ];
  return (
    <DataTable
      caption="Deliveries by outcome per period"
      columns={columns}
      rows={buckets.starts}
      rowKey={(start) => start.getTime()}
    />
  );
}
