// The organization's audit log: who changed what, newest first, paged.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useReducer } from "react";
import type { AuditEntry } from "../api/client";
import { useDashboard } from "../context";
import { formatTime } from "../format";
import { currentCursor, NEWEST_PAGE, pagingReducer } from "../paging";
import { type Column, DataTable, Pager, QueryState } from "./DataTable";
import { Empty } from "./ui";

const PAGE_SIZE = 50;

/** "user 1a2b3c4d", "platform", "system": who acted, short enough for a table cell. */
export function actorOf(entry: Pick<AuditEntry, "actor_kind" | "actor_id">): string {
  return entry.actor_kind === "user" && entry.actor_id ? `user ${entry.actor_id.slice(0, 8)}` : entry.actor_kind;
}

const COLUMNS: Column<AuditEntry>[] = [
  { label: "When", cell: (entry) => formatTime(entry.occurred_at) },
  { label: "Who", cell: actorOf },
  { label: "Action", cell: (entry) => <code>{entry.action}</code> },
  { label: "Target", cell: (entry) => `${entry.target_type} ${entry.target_id}`, wrap: true },
  {
    label: "Details",
    cell: (entry) => Object.keys(entry.details).length === 0 ? "—" : <code>{JSON.stringify(entry.details)}</code>,
    wrap: true,
  },
];

export function AuditLogView() {
  const { api, orgId } = useDashboard();
  const [paging, dispatch] = useReducer(pagingReducer, NEWEST_PAGE);
  const cursor = currentCursor(paging);
  const entries = useQuery({
    queryKey: ["audit", orgId, cursor],
    queryFn: () => api.listAuditEntries({ org_id: orgId, cursor, limit: PAGE_SIZE }),
    placeholderData: keepPreviousData,
  });
  return (
    <section className="cjh-view" aria-labelledby="cjh-audit-title">
      <h3 id="cjh-audit-title">Audit log</h3>
      <QueryState query={entries} what="the audit log">
        {({ data, next_cursor }) => (
          <>
            {data.length === 0 ? <Empty>Nothing has been changed yet.</Empty> : (
              <DataTable
                caption="Audit entries, newest first"
                columns={COLUMNS}
                rows={data}
                rowKey={(entry) => entry.id}
              />
            )}
            <Pager label="Audit log pages" paging={paging} dispatch={dispatch} nextCursor={next_cursor} />
          </>
        )}
      </QueryState>
    </section>
  );
}
