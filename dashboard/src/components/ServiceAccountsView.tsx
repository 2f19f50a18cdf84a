// Service accounts for integrators: the list (revoked ones stay listed), creation with explicit
// scopes (the API key is shown once), and revocation.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { ServiceAccount } from "../api/client";
import { useDashboard } from "../context";
import { formatTime } from "../format";
import { type Column, DataTable, QueryState } from "./DataTable";
import { CheckboxGroup, ConfirmButton, Empty, ErrorNotice, Field, SecretOnce } from "./ui";

export function ServiceAccountsView() {
  const { api, orgId } = useDashboard();
  const queryClient = useQueryClient();
  const accounts = useQuery({ queryKey: ["service-accounts", orgId], queryFn: () => api.listServiceAccounts(orgId) });
  const [adding, setAdding] = useState(false);
  const create = useMutation({
    mutationFn: api.createServiceAccount,
    onSuccess: () => {
      setAdding(false);
      void queryClient.invalidateQueries({ queryKey: ["service-accounts", orgId] });
    },
  });
  return (
    <section className="cjh-view" aria-labelledby="cjh-accounts-title">
      <div className="cjh-view-header">
        <h3 id="cjh-accounts-title">Service accounts</h3>
        {!adding && !create.data && (
          <button type="button" className="cjh-primary" onClick={() => setAdding(true)}>Add service account</button>
        )}
      </div>
      <p className="cjh-hint">
        An integrator exchanges the account's API key for short-lived tokens; the account can reach exactly its scopes.
      </p>
      {create.data
        ? (
          <SecretOnce
            title={`Service account “${create.data.service_account.name}” created`}
            label="API key"
            secret={create.data.api_key}
            onDone={() => create.reset()}
          />
        )
        : adding && (
          <AccountForm
            busy={create.isPending}
            error={create.error}
            onSubmit={(name, scopes) => create.mutate({ org_id: orgId, name, scopes })}
            onCancel={() => {
              setAdding(false);
              create.reset();
            }}
          />
        )}
      <QueryState query={accounts} what="service accounts">
        {({ data }) => data.length === 0 ? <Empty>No service accounts yet.</Empty> : <AccountTable accounts={data} />}
      </QueryState>
    </section>
  );
}

function AccountForm(
  { busy, error, onSubmit, onCancel }: {
    busy: boolean;
    error: unknown;
    onSubmit: (name: string, scopes: ServiceAccount["scopes"]) => void;
    onCancel: () => void;
  },
) {
  const { api } = useDashboard();
  const scopes = useQuery({ queryKey: ["scopes"], queryFn: () => api.listScopes(), staleTime: Infinity });
  const [name, setName] = useState("");
  const [selected, setSelected] = useState<string[]>([]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(name, selected as ServiceAccount["scopes"]);
  };
  return (
    <form className="cjh-form" onSubmit={submit} noValidate aria-label="Add service account">
      {error ? <ErrorNotice error={error} /> : null}
      <Field label="Name" name="name" error={error}>
        {(props) => <input {...props} type="text" value={name} onChange={(event) => setName(event.target.value)} />}
      </Field>
      <CheckboxGroup
        legend="Scopes"
        name="scopes"
        error={error}
        options={(scopes.data?.data ?? []).map(({ scope, description }) => ({
          value: scope,
          label: (
            <>
              <code>{scope}</code> {description}
            </>
          ),
        }))}
        selected={selected}
        onChange={setSelected}
      />
      <div className="cjh-actions">
        <button type="submit" className="cjh-primary" disabled={busy}>Create service account</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function AccountTable({ accounts }: { accounts: ServiceAccount[] }) {
  const { api, orgId } = useDashboard();
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: api.revokeServiceAccount,
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["service-accounts", orgId] }),
  });
  const columns: Column<ServiceAccount>[] = [
    { label: "Name", cell: (account) => account.name },
    { label: "Scopes", cell: (account) => account.scopes.join(", "), wrap: true },
    { label: "Key", cell: (account) => <code>{account.key_prefix}…</code> },
    { label: "Created", cell: (account) => formatTime(account.created_at) },
    { label: "Last used", cell: (account) => formatTime(account.last_used_at) },
    {
      label: "Status",
      cell: (account) =>
        account.revoked_at ? `Revoked ${formatTime(account.revoked_at)}` : (
          <ConfirmButton
            label={`Revoke ${account.name}`}
            question={`Revoke ${account.name}? Its key and tokens stop working at once.`}
            confirmLabel="Revoke"
            busy={revoke.isPending && revoke.variables === account.id}
            onConfirm={() => revoke.mutate(account.id)}
          />
        ),
    },
  ];
  return (
    <>
      {revoke.error ? <ErrorNotice error={revoke.error} /> : null}
      <DataTable caption="Service accounts" columns={columns} rows={accounts} rowKey={(account) => account.id} />
    </>
  );
}
