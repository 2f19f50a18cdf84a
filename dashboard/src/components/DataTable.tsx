// Tables, pages of them, and the states of the queries that fill them: one place for the markup
// every list shares (a caption for screen readers, column headers that double as the labels of the
// cards a narrow screen shows, cursor paging).
import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { pageNumber, type Paging, type PagingAction } from "../paging";
import { ErrorNotice, Loading } from "./ui";

export interface Column<Row> {
  label: string;
  cell: (row: Row, index: number) => ReactNode;
  /** Long values (URLs, hashes, errors) may break anywhere. */
  wrap?: boolean;
  /** The row's header cell (th scope="row"). */
  rowHeader?: boolean;
}

export function DataTable<Row>(
  { caption, columns, rows, rowKey }: {
    caption: string;
    columns: readonly Column<Row>[];
    rows: readonly Row[];
    rowKey: (row: Row) => string | number;
  },
) {
  return (
    <div className="cjh-table-wrap">
      <table className="cjh-table">
        <caption className="cjh-visually-hidden">{caption}</caption>
        <thead>
          <tr>{columns.map((column) => <th key={column.label} scope="col">{column.label}</th>)}</tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={rowKey(row)}>
              {columns.map(({ label, cell, wrap, rowHeader }) => {
                const className = wrap ? "cjh-wrap" : undefined;
                return rowHeader
                  ? <th key={label} scope="row" data-label={label} className={className}>{cell(row, index)}</th>
                  : <td key={label} data-label={label} className={className}>{cell(row, index)}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Newest, newer and older pages of a keyset list; `nextCursor` is the current page's next_cursor. */
export function Pager(
  { label, paging, dispatch, nextCursor }: {
    label: string;
    paging: Paging;
    dispatch: (action: PagingAction) => void;
    nextCursor: string | null;
  },
) {
  const first = pageNumber(paging) === 1;
  return (
    <nav className="cjh-pager" aria-label={label}>
      <button type="button" disabled={first} onClick={() => dispatch({ type: "newest" })}>Newest</button>
      <button type="button" disabled={first} onClick={() => dispatch({ type: "newer" })}>Newer</button>
      <span>Page {pageNumber(paging)}</span>
      <button
        type="button"
        disabled={!nextCursor}
        onClick={() => nextCursor && dispatch({ type: "older", nextCursor })}
      >
        Older
      </button>
    </nav>
  );
}

/** A query's loading and failed states (with a retry), and `children` with its data once it has some. */
export function QueryState<Data>(
  { query, what, children }: { query: UseQueryResult<Data>; what: string; children: (data: Data) => ReactNode },
) {
  if (query.isPending) return <Loading what={what} />;
  if (query.error) return <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />;
  return <>{children(query.data)}</>;
}
