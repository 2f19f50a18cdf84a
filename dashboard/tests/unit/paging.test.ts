// Cursor paging: older follows next_cursor, newer goes back the way it came, newest starts over.
import { expect, test } from "vitest";
import { currentCursor, NEWEST_PAGE, pageNumber, pagingReducer } from "../../src/paging";

test("paging older follows each next_cursor and newer retraces them", () => {
  let state = NEWEST_PAGE;
  expect([currentCursor(state), pageNumber(state)]).toEqual([undefined, 1]);
  state = pagingReducer(state, { type: "older", nextCursor: "c1" });
  state = pagingReducer(state, { type: "older", nextCursor: "c2" });
  expect([currentCursor(state), pageNumber(state)]).toEqual(["c2", 3]);
  state = pagingReducer(state, { type: "newer" });
  expect([currentCursor(state), pageNumber(state)]).toEqual(["c1", 2]);
  state = pagingReducer(state, { type: "newest" });
  expect(state).toBe(NEWEST_PAGE);
});

test("newer on the newest page stays there", () => {
  expect(pagingReducer(NEWEST_PAGE, { type: "newer" })).toBe(NEWEST_PAGE);
});
