// In the CJH React client: the webhook dashboard for the organization being viewed, signed in
// with the client's own session.
import { WebhookDashboard } from "@cjh/webhook-dashboard";
import "@cjh/webhook-dashboard/style.css";
import { createClient } from "@supabase/supabase-js";

const supabase = createClient(import.meta.env.VITE_SUPABASE_URL, import.meta.env.VITE_SUPABASE_PUBLISHABLE_KEY);

export function WebhooksSettingsPage({ orgId }: { orgId: string }) {
  return <WebhookDashboard supabase={supabase} orgId={orgId} />;
}
