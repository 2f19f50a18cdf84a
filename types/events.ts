// Webhook event payload types for TypeScript receivers, inferred from the zod schemas that define
// them (supabase/functions/_shared/events.ts). See docs/events.md.
export type { EventPayload, EventType, WebhookEvent } from "../supabase/functions/_shared/events.ts";
export { EVENT_CATALOG, EVENT_TYPES } from "../supabase/functions/_shared/events.ts";
