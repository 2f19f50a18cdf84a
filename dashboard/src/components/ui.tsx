// The dashboard's building blocks: loading, empty and error states, labelled form fields that show
// the API's reasons beside them, status badges, one-time secrets, and confirmations.
import { type ReactNode, useEffect, useId, useRef, useState } from "react";
import type { DeliveryStatus } from "../api/client";
import { OUTCOME_LABELS, outcomeOf } from "../chart-data";
import { describeError, fieldMessages } from "../errors";
import { prettyJson } from "../format";

export function Loading({ what }: { what: string }) {
  return <p className="cjh-loading" role="status">Loading {what}…</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="cjh-empty">{children}</p>;
}

/** A failed call in words: its title, the API's message, and each refused field by its label. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { title, message, fields } = describeError(error);
  return (
    <div className="cjh-error" role="alert">
      <p className="cjh-error-title">{title}</p>
      <p>{message}</p>
      {fields.length > 0 && (
        <ul>
          {fields.map(({ field, label, messages }) => <li key={field}>{label}: {messages.join("; ")}</li>)}
        </ul>
      )}
      {onRetry && <button type="button" onClick={onRetry}>Try again</button>}
    </div>
  );
}

/** Shown instead of the dashboard when the caller may not manage this organization's webhooks. */
export function NotAllowed({ error }: { error: unknown }) {
  const { message } = describeError(error);
  return (
    <section className="cjh-not-allowed" role="alert" aria-labelledby="cjh-not-allowed-title">
      <h2 id="cjh-not-allowed-title">Not allowed</h2>
      <p>{message}</p>
    </section>
  );
}

export interface InputProps {
  id: string;
  "aria-invalid": boolean | undefined;
  "aria-describedby": string | undefined;
}

/**
 * A labelled field: `children` renders the control with the props that tie it to its label, hint
 * and the API's messages about `name` in `error` (shown beside it, announced with the control).
 */
export function Field(
  { label, name, error, hint, children }: {
    label: string;
    name: string;
    error?: unknown;
    hint?: ReactNode;
    children: (props: InputProps) => ReactNode;
  },
) {
  const id = useId();
  const messages = fieldMessages(error, name);
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = messages.length > 0 ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className="cjh-field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": messages.length > 0 || undefined, "aria-describedby": describedBy })}
      {hint && <p className="cjh-hint" id={hintId}>{hint}</p>}
      {errorId && <p className="cjh-field-error" id={errorId}>{label}: {messages.join("; ")}</p>}
    </div>
  );
}

/** A group of checkboxes (event types, scopes) with the API's messages about the group's field. */
export function CheckboxGroup(
  { legend, name, options, selected, onChange, error, hint }: {
    legend: string;
    name: string;
    options: { value: string; label: ReactNode }[];
    selected: readonly string[];
    onChange: (selected: string[]) => void;
    error?: unknown;
    hint?: ReactNode;
  },
) {
  const id = useId();
  const messages = fieldMessages(error, name);
  const toggle = (value: string, on: boolean) =>
    onChange(on ? [...selected, value] : selected.filter((item) => item !== value));
  return (
    <fieldset
      className="cjh-checkboxes"
      aria-describedby={[hint ? `${id}-hint` : "", messages.length ? `${id}-error` : ""].join(" ").trim() ||
        undefined}
    >
      <legend>{legend}</legend>
      {hint && <p className="cjh-hint" id={`${id}-hint`}>{hint}</p>}
      {options.map((option) => (
        <label key={option.value} className="cjh-checkbox">
          <input
            type="checkbox"
            name={name}
            value={option.value}
            checked={selected.includes(option.value)}
            onChange={(event) => toggle(option.value, event.target.checked)}
          />{" "}
          {option.label}
        </label>
      ))}
      {messages.length > 0 && <p className="cjh-field-error" id={`${id}-error`}>{legend}: {messages.join("; ")}</p>}
    </fieldset>
  );
}

export function StatusBadge({ status }: { status: DeliveryStatus }) {
  const outcome = outcomeOf(status);
  const text = status === "sending" ? "Sending" : status === "pending" ? "Pending" : OUTCOME_LABELS[outcome];
  return <span className={`cjh-badge cjh-badge-${outcome}`}>{text}</span>;
}

export function EnabledBadge({ enabled }: { enabled: boolean }) {
  return (
    <span className={`cjh-badge ${enabled ? "cjh-badge-succeeded" : "cjh-badge-failed"}`}>
      {enabled ? "Enabled" : "Disabled"}
    </span>
  );
}

/**
 * A secret the API shows only once (a signing secret, an API key): readable, copyable, and gone
 * from the page (and from memory, with the answer that carried it) when the admin says it is stored.
 */
export function SecretOnce(
  { title, label, secret, onDone, children }: {
    title: string;
    label: string;
    secret: string;
    onDone: () => void;
    children?: ReactNode;
  },
) {
  const id = useId();
  const [copyState, setCopyState] = useState<"idle" | "copied" | "failed">("idle");
  const headingRef = useFocusOnMount<HTMLHeadingElement>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopyState("copied");
    } catch {
      setCopyState("failed");
    }
  };
  return (
    <section className="cjh-secret" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} tabIndex={-1} ref={headingRef}>{title}</h3>
      <p>
        <strong>Shown only now.</strong> Store it where your receiver reads its configuration: it cannot be shown again.
      </p>
      {children}
      <div className="cjh-secret-row">
        <label htmlFor={`${id}-value`}>{label}</label>
        <input
          id={`${id}-value`}
          className="cjh-secret-value"
          readOnly
          value={secret}
          autoComplete="off"
          spellCheck={false}
          onFocus={(event) => event.target.select()}
        />
        <button type="button" onClick={copy}>Copy</button>
      </div>
      <p role="status" className="cjh-hint">
        {copyState === "copied"
          ? "Copied to the clipboard."
          : copyState === "failed"
          ? "The browser refused the clipboard: select the text and copy it by hand."
          : ""}
      </p>
      <button type="button" className="cjh-primary" onClick={onDone}>I have stored it</button>
    </section>
  );
}

/** A button that asks once more, in place, before doing something that cannot be undone. */
export function ConfirmButton(
  { label, question, confirmLabel, onConfirm, busy = false, disabled = false }: {
    label: string;
    question: string;
    confirmLabel: string;
    onConfirm: () => void;
    busy?: boolean;
    disabled?: boolean;
  },
) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return <button type="button" disabled={disabled || busy} onClick={() => setAsking(true)}>{label}</button>;
  }
  return (
    <span className="cjh-confirm" role="group" aria-label={question}>
      <span>{question}</span>{" "}
      <button
        type="button"
        ref={confirmRef}
        className="cjh-danger"
        disabled={busy}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)}>Cancel</button>
    </span>
  );
}

/** JSON in a scrollable block that keyboard users can focus and scroll. */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return <pre className="cjh-json" tabIndex={0} aria-label={label}>{prettyJson(value)}</pre>;
}

/** A ref that moves the keyboard focus to its element once it is shown (a view's heading). */
export function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

/** A status message for assistive technology and sighted users alike. */
export function Notice({ children }: { children: ReactNode }) {
  return <p className="cjh-notice" role="status">{children}</p>;
}
