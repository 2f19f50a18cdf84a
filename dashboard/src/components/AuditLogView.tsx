// The organization's audit log: who changed what, newest first, paged.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useReducer } from "react";
import type { AuditEntry } from "../api/client";
import { useDashboard } from "../context";
import { formatTime } from "../format";
import { currentCursor, NEWEST_PAGE, pageNumber, pagingReducer } from "../paging";
import { Empty, ErrorNotice, Loading } from "./ui";

const PAGE_SIZE = 50;

/** "user 1a2b3c4d", "platform", "system": who acted, short enough for a table cell. */
export function actorOf(entry: Pick<AuditEntry, "actor_kind" | "actor_id">): string {
  return entry.actor_kind === "user" && entry.actor_id ? `user ${entry.actor_id.slice(0, 8)}` : entry.actor_kind;
}

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
      {entries.isPending
        ? <Loading what="the audit log" />
        : entries.error
        ? <ErrorNotice error={entries.error} onRetry={() => entries.refetch()} />
        : (
          <>
            {entries.data.data.length === 0
              ? <Empty>Nothing has been changed yet.</Empty>
              : (
                <div className="cjh-table-wrap">
                  <table className="cjh-table">
                    <caption className="cjh-visually-hidden">Audit entries, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">When</th>
                        <th scope="col">Who</th>
                        <th scope="col">Action</th>
                        <th scope="col">Target</th>
                        <th scope="col">Details</th>
                      </tr>
                    </thead>
                    <tbody>
                      {entries.data.data.map((entry) => (
                        <tr key={entry.id}>
                          <td data-label="When">{formatTime(entry.occurred_at)}</td>
                          <td data-label="Who">{actorOf(entry)}</td>
                          <td data-label="Action">
                            <code>{entry.action}</code>
                          </td>
                          <td data-label="Target" className="cjh-wrap">{entry.target_type} {entry.target_id}</td>
                          <td data-label="Details" className="cjh-wrap">
                            {Object.keys(entry.details).length === 0
                              ? "—"
                              : <code>{JSON.stringify(entry.details)}</code>}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            <nav className="cjh-pager" aria-label="Audit log pages">
              <button type="button" disabled={pageNumber(paging) === 1} onClick={() => dispatch({ type: "newer" })}>
                Newer
              </button>
              <span>Page {pageNumber(paging)}</span>
              <button
                type="button"
                disabled={!entries.data.next_cursor}
                onClick={() =>
                  entries.data.next_cursor && dispatch({ type: "older", nextCursor: entries.data.next_cursor })}
              >
                Older
              </button>
            </nav>
          </>
        )}
    </section>
  );
}
