// Cursor paging over the API's keyset lists. The API only pages backwards in time (next_cursor is
// the next, older page), so "newer" means going back to the cursor that led to the current page:
// the state is the stack of cursors followed from the newest page.

export interface Paging {
  /** Cursors followed from the newest page; the last is the current page's (undefined: the newest page). */
  readonly cursors: readonly (string | undefined)[];
}

export type PagingAction = { type: "older"; nextCursor: string } | { type: "newer" } | { type: "newest" };

export const NEWEST_PAGE: Paging = { cursors: [undefined] };

/** The paging state after an action; "newer" on the newest page stays there. */
export function pagingReducer(state: Paging, action: PagingAction): Paging {
  switch (action.type) {
    case "older":
      return { cursors: [...state.cursors, action.nextCursor] };
    case "newer":
      return state.cursors.length > 1 ? { cursors: state.cursors.slice(0, -1) } : state;
    case "newest":
      return NEWEST_PAGE;
  }
}

/** The cursor to request the current page with. */
export function currentCursor(state: Paging): string | undefined {
  return state.cursors[state.cursors.length - 1];
}

/** 1 for the newest page, 2 for the one after it, … */
export function pageNumber(state: Paging): number {
  return state.cursors.length;
}
