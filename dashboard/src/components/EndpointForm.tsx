// The endpoint form, for creating and editing: URL, description and the event types subscribed to.
// Nothing is checked here that the API checks: its reasons appear beside the fields they concern.
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { SubscribableEventType } from "../api/client";
import { useDashboard } from "../context";
import { CheckboxGroup, ErrorNotice, Field } from "./ui";

export interface EndpointValues {
  url: string;
  description: string;
  event_types: SubscribableEventType[];
}

/** The event catalog, fetched once per dashboard. */
export function useEventTypes() {
  const { api } = useDashboard();
  return useQuery({ queryKey: ["event-types"], queryFn: () => api.listEventTypes(), staleTime: Infinity });
}

export function EndpointForm(
  { title, initial, submitLabel, busy, error, onSubmit, onCancel }: {
    title: string;
    initial?: EndpointValues;
    submitLabel: string;
    busy: boolean;
    error: unknown;
    onSubmit: (values: EndpointValues) => void;
    onCancel?: () => void;
  },
) {
  const [values, setValues] = useState<EndpointValues>(initial ?? { url: "", description: "", event_types: [] });
  const eventTypes = useEventTypes();
  const subscribable = (eventTypes.data?.data ?? []).filter((type) => type.type !== "webhook.test");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(values);
  };
  return (
    <form className="cjh-form" onSubmit={submit} noValidate aria-label={title}>
      {error ? <ErrorNotice error={error} /> : null}
      <Field label="URL" name="url" error={error} hint="Where events are POSTed: https to a public address.">
        {(props) => (
          <input
            {...props}
            type="url"
            inputMode="url"
            autoComplete="off"
            value={values.url}
            onChange={(event) => setValues({ ...values, url: event.target.value })}
          />
        )}
      </Field>
      <Field label="Description" name="description" error={error}>
        {(props) => (
          <input
            {...props}
            type="text"
            value={values.description}
            onChange={(event) => setValues({ ...values, description: event.target.value })}
          />
        )}
      </Field>
      <CheckboxGroup
        legend="Event types"
        name="event_types"
        hint="Leave all unchecked to receive every type."
        error={error}
        options={subscribable.map((type) => ({ value: type.type, label: <code>{type.type}</code> }))}
        selected={values.event_types}
        onChange={(selected) => setValues({ ...values, event_types: selected as SubscribableEventType[] })}
      />
      <div className="cjh-actions">
        <button type="submit" className="cjh-primary" disabled={busy}>{busy ? "Saving…" : submitLabel}</button>
        {onCancel && <button type="button" onClick={onCancel}>Cancel</button>}
      </div>
    </form>
  );
}
