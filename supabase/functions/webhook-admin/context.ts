// What every webhook-admin operation works with: the database as the caller (so row-level security
// and the SQL functions' own checks decide), the translation of the database's expected errors
// into HTTP answers, and the opaque cursors of the paged lists.
import postgres from "npm:postgres@3.4.9";
import type { JwtClaims } from "../_shared/caller.ts";
import { asCaller, type Sql } from "../_shared/database.ts";
import { HttpError } from "../_shared/http.ts";

export type Tx = postgres.TransactionSql;

export interface AdminContext {
  sql: Sql;
  claims: JwtClaims;
}

// The SQL functions' error codes (see the webhooks, authz and audit migrations).
const INSUFFICIENT_PRIVILEGE = "42501";
const NO_DATA_FOUND = "P0002";
const OBJECT_NOT_IN_PREREQUISITE_STATE = "55000";
const INVALID_PARAMETER_VALUE = "22023";
// Text PostgreSQL cannot store; refused before any query (_shared/text.ts), so never expected here.
const CHARACTER_NOT_IN_REPERTOIRE = "22021";
const UNTRANSLATABLE_CHARACTER = "22P05";

export function fieldError(field: string, message: string): HttpError {
  return new HttpError(400, "invalid_request", "The request is not valid.", {
    formErrors: field === "" ? [message] : [],
    fieldErrors: field === "" ? {} : { [field]: [message] },
  });
}

/**
 * The database's expected refusals as 4xx; anything else stays unexpected (a logged 500). A
 * refusal about one field names it as the error's COLUMN (`raise … using column = 'url'`), which
 * becomes the field of the 400.
 */
export function translateDatabaseError(error: unknown): unknown {
  if (!(error instanceof postgres.PostgresError)) return error;
  switch (error.code) {
    case INSUFFICIENT_PRIVILEGE:
      return new HttpError(403, "forbidden", "Only owners and admins of the organization may do this.");
    case NO_DATA_FOUND:
      return new HttpError(404, "not_found", capitalize(error.message) + ".");
    case OBJECT_NOT_IN_PREREQUISITE_STATE:
      return new HttpError(409, "conflict", capitalize(error.message) + ".");
    case INVALID_PARAMETER_VALUE:
    case CHARACTER_NOT_IN_REPERTOIRE:
    case UNTRANSLATABLE_CHARACTER:
      return fieldError(error.column_name ?? "", error.message);
    default:
      return error;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Runs `work` as the caller, translating the database's expected refusals. */
export async function asAdmin<T>(context: AdminContext, work: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await asCaller(context.sql, context.claims, work);
  } catch (error) {
    throw translateDatabaseError(error);
  }
}

/** Refuses (403) anyone but an owner or admin of the organization, or the platform. */
export async function requireOrgAdmin(tx: Tx, orgId: string): Promise<void> {
  await tx`select webhooks.require_endpoint_admin(${orgId})`;
}

// Cursors are the last id of a page, base64url-encoded so callers treat them as opaque.
export function encodeCursor(lastId: string | number): string {
  return btoa(String(lastId)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

export function decodeCursor(cursor: string | undefined, pattern: RegExp): string | null {
  if (cursor === undefined) return null;
  let text: string;
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    text = "";
  }
  if (!pattern.test(text)) throw fieldError("cursor", "must be a next_cursor value from a previous page");
  return text;
}

/** A page of at most `limit` rows from `rows` (fetched with limit + 1), and the cursor after it. */
export function pageOf<Row extends { id: string | number }, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
): { data: Item[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return {
    data: data.map(toItem),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null,
  };
}

/** For routes about no organization in particular (the catalogs): an owner or admin of any. */
export async function requireAnyOrgAdmin(context: AdminContext): Promise<void> {
  if (context.claims.role === "service_role") return;
  const [{ admin }] = await asAdmin(
    context,
    (tx) => tx<{ admin: boolean }[]>`select exists (select from authz.org_ids_with_role('owner', 'admin')) as admin`,
  );
  if (!admin) throw new HttpError(403, "forbidden", "Only owners and admins of an organization may do this.");
}
