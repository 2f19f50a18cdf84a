// What an admin reads when a call fails: a title and a sentence for the error's code, and each
// refused field by the name the form shows it under.
import { ApiError } from "./api/client";

/** The form labels of the request fields the API can refuse. */
export const FIELD_LABELS: Record<string, string> = {
  url: "URL",
  description: "Description",
  event_types: "Event types",
  reason: "Reason",
  since: "From",
  until: "To",
  name: "Name",
  scopes: "Scopes",
  status: "Status",
  event_type: "Event type",
  endpoint_id: "Endpoint",
  org_id: "Organization",
  cursor: "Page",
  limit: "Page size",
};

export interface FieldProblem {
  field: string;
  label: string;
  messages: string[];
}

export interface ErrorDescription {
  title: string;
  message: string;
  /** Problems with named request fields, in the order the API listed them. */
  fields: FieldProblem[];
  /** True when the caller may not act on this organization at all (403). */
  forbidden: boolean;
}

const TITLES: Record<string, string> = {
  forbidden: "Not allowed",
  unauthorized: "Not signed in",
  network_error: "The webhook API could not be reached",
  invalid_request: "Some fields need attention",
  invalid_json: "The request was not understood",
  not_found: "Not found",
  route_not_found: "Not found",
  conflict: "Not possible right now",
  method_not_allowed: "Not possible",
  service_unavailable: "Temporarily unavailable",
};

/** Describes any error a dashboard call can end with (ApiError or anything thrown unexpectedly). */
export function describeError(error: unknown): ErrorDescription {
  if (!(error instanceof ApiError)) {
    return {
      title: "Something went wrong",
      message: error instanceof Error ? error.message : String(error),
      fields: [],
      forbidden: false,
    };
  }
  const forbidden = error.status === 403;
  const message = forbidden
    ? "Only an owner or admin of this organization can manage its webhooks. " +
      "Ask one of them for access, or switch to an organization you administer."
    : error.formErrors.length > 0
    ? [error.message, ...error.formErrors].join(" ")
    : error.message;
  return {
    title: TITLES[error.code] ?? (error.status >= 500 ? "The webhook API failed" : "The request was refused"),
    message,
    fields: Object.entries(error.fieldErrors).map(([field, messages]) => ({
      field,
      label: FIELD_LABELS[field] ?? field,
      messages,
    })),
    forbidden,
  };
}

/** The API's messages about one request field, or [] when it named no problem with it. */
export function fieldMessages(error: unknown, field: string): string[] {
  return error instanceof ApiError ? error.fieldErrors[field] ?? [] : [];
}
