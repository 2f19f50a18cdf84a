// The standalone page's settings, read at run time from config.json beside index.html, so one
// build deploys to any project: the project URL and its publishable (or anon) key, where to sign
// in, and, on the local stack only, the local sign-in that the page server provides.

export interface PageConfig {
  /** The project's URL, e.g. https://<ref>.supabase.co. */
  supabase_url: string;
  /** The project's publishable key (sb_publishable_…) or legacy anon key: public by design. */
  supabase_key: string;
  /** Where the CJH app signs people in, linked when there is no session. */
  sign_in_url?: string;
  /** True only when served by the local stack's page server, which mints sessions for seed users. */
  local_sign_in?: boolean;
}

/** Checks config.json's content; the error names the field that is missing or wrong. */
export function parsePageConfig(value: unknown): PageConfig {
  if (typeof value !== "object" || value === null) throw new Error("config.json must hold a JSON object");
  const config = value as Record<string, unknown>;
  const text = (name: string, required: boolean) => {
    const field = config[name];
    if (field === undefined && !required) return undefined;
    if (typeof field !== "string" || field.trim() === "") throw new Error(`config.json: ${name} must be a string`);
    return field;
  };
  const supabaseUrl = text("supabase_url", true)!;
  try {
    new URL(supabaseUrl);
  } catch {
    throw new Error("config.json: supabase_url must be a URL");
  }
  if (config.local_sign_in !== undefined && typeof config.local_sign_in !== "boolean") {
    throw new Error("config.json: local_sign_in must be true or false");
  }
  return {
    supabase_url: supabaseUrl,
    supabase_key: text("supabase_key", true)!,
    sign_in_url: text("sign_in_url", false),
    local_sign_in: config.local_sign_in === true,
  };
}

/** The organization the page shows: `?org=<uuid>` in its address, if any. */
export function orgFromLocation(search: string): string | undefined {
  const org = new URLSearchParams(search).get("org")?.trim();
  return org ? org : undefined;
}
