// The standalone page: <WebhookDashboard> for the organization in `?org=`, as the signed-in user.
// Hosted, that is the CJH app's session on this site (supabase-js reads it); on the local stack,
// which has no Auth server, a clearly marked local sign-in acts as one of the local users.
import { createClient, type Session, type SupabaseClient } from "@supabase/supabase-js";
import { type FormEvent, type ReactNode, StrictMode, useEffect, useId, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { WebhookDashboard } from "../index";
import { orgFromLocation, type PageConfig, parsePageConfig } from "./config";
import { fetchLocalUsers, localAccessToken, type LocalUser } from "./local-session";
import "./page.css";

function App() {
  const [config, setConfig] = useState<PageConfig>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    fetch(new URL("config.json", document.baseURI))
      .then((response) => {
        if (!response.ok) throw new Error(`config.json could not be loaded (HTTP ${response.status})`);
        return response.json();
      })
      .then((value) => setConfig(parsePageConfig(value)))
      .catch((error: unknown) => setProblem(error instanceof Error ? error.message : String(error)));
  }, []);
  if (problem) return <PageMessage title="This page is not configured">{problem}</PageMessage>;
  if (!config) return <p role="status">Loading…</p>;
  return config.local_sign_in ? <LocalPage config={config} /> : <HostedPage config={config} />;
}

function PageMessage({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="page-message" role="alert">
      <h2>{title}</h2>
      <p>{children}</p>
    </section>
  );
}

function Dashboard({ supabase, orgId }: { supabase: SupabaseClient; orgId: string | undefined }) {
  if (!orgId) {
    return (
      <PageMessage title="Which organization?">
        Open this page with the organization in its address: <code>?org=&lt;organization id&gt;</code>.
      </PageMessage>
    );
  }
  return <WebhookDashboard key={orgId} supabase={supabase} orgId={orgId} />;
}

function HostedPage({ config }: { config: PageConfig }) {
  const supabase = useMemo(() => createClient(config.supabase_url, config.supabase_key), [config]);
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    supabase.auth.getSession().then(({ data }) => setSession(data.session));
    const { data } = supabase.auth.onAuthStateChange((_event, next) => setSession(next));
    return () => data.subscription.unsubscribe();
  }, [supabase]);
  if (session === undefined) return <p role="status">Loading…</p>;
  if (session === null) {
    return (
      <PageMessage title="Not signed in">
        This page uses your CJH session on this site.{" "}
        {config.sign_in_url ? <a href={config.sign_in_url}>Sign in to CJH</a> : "Sign in to CJH"}, then come back.
      </PageMessage>
    );
  }
  return <Dashboard supabase={supabase} orgId={orgFromLocation(location.search)} />;
}

interface Identity {
  user: LocalUser;
  orgId: string | undefined;
}

function LocalPage({ config }: { config: PageConfig }) {
  const [identity, setIdentity] = useState<Identity>();
  const supabase = useMemo(
    () =>
      identity
        ? createClient(config.supabase_url, config.supabase_key, {
          accessToken: localAccessToken(identity.user.user_id),
        })
        : undefined,
    [config, identity],
  );
  return (
    <>
      <aside className="local-banner" aria-label="Local stack only">
        <strong>Local stack only.</strong>{" "}
        There is no Auth server here: the local page server mints a session for the user you choose, with the local JWT
        secret. A hosted build has no such server and uses the CJH app's session.
      </aside>
      {identity && supabase
        ? (
          <>
            <p className="local-identity">
              Acting as <strong>{identity.user.email}</strong>{" "}
              <button type="button" onClick={() => setIdentity(undefined)}>Switch user</button>
            </p>
            <Dashboard supabase={supabase} orgId={orgFromLocation(location.search) ?? identity.orgId} />
          </>
        )
        : <LocalSignIn onSignIn={setIdentity} />}
    </>
  );
}

function LocalSignIn({ onSignIn }: { onSignIn: (identity: Identity) => void }) {
  const id = useId();
  const [users, setUsers] = useState<LocalUser[]>();
  const [problem, setProblem] = useState<string>();
  const [choice, setChoice] = useState("");
  useEffect(() => {
    fetchLocalUsers().then(setUsers, (error: unknown) => setProblem(String(error)));
  }, []);
  if (problem) return <PageMessage title="The local users could not be listed">{problem}</PageMessage>;
  if (!users) return <p role="status">Loading the local users…</p>;
  const options = users.flatMap((user): { value: string; label: string; user: LocalUser; orgId?: string }[] =>
    user.memberships.length === 0
      ? [{ value: `${user.user_id}|`, label: `${user.email}: no organization`, user, orgId: undefined }]
      : user.memberships.map((membership) => ({
        value: `${user.user_id}|${membership.org_id}`,
        label: `${user.email}: ${membership.role} of ${membership.org_name}`,
        user,
        orgId: membership.org_id,
      }))
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const chosen = options.find((option) => option.value === choice);
    if (chosen) onSignIn({ user: chosen.user, orgId: chosen.orgId });
  };
  return (
    <form className="local-sign-in" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Sign in (local)</h2>
      <label htmlFor={`${id}-user`}>Act as</label>
      <select id={`${id}-user`} value={choice} onChange={(event) => setChoice(event.target.value)} required>
        <option value="">Choose a user…</option>
        {options.map((option) => <option key={option.value} value={option.value}>{option.label}</option>)}
      </select>
      <button type="submit" disabled={!choice}>Sign in</button>
    </form>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <header className="page-header">
      <h1>CJH webhooks</h1>
    </header>
    <main className="page-main">
      <App />
    </main>
  </StrictMode>,
);
