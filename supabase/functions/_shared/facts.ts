// generated — do not edit: run `cargo xtask generate` (from the model in sql/schema/src/moha)
// Facts shared with the Rust edge functions (moha_edge::facts), kept in
// sql/schema/src/moha/edge_facts.rs.

/** The edge functions: crate `functions/<name>`, served from `supabase/functions/<name>`. */
export const FUNCTIONS: readonly string[] = ["process-render-request", "fetch-social-updates", "generate-ai-insights", "assign-leads", "mcp", "metrics", "social-connect"];

/** Largest request body a function accepts (1 MiB). */
export const MAX_BODY_BYTES = 1048576;

/** The CORS headers of Supabase's examples (`_shared/cors.ts`). */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type",
  "access-control-allow-methods": "POST, OPTIONS",
};

/** The roles a signed-in user's token may name: `authenticated` and the business roles. */
export const USER_ROLES: readonly string[] = ["authenticated", "moha_admin", "moha_designer", "moha_client", "moha_sales"];

/** Every role a function may ask its host for. */
export const HOST_ROLES: readonly string[] = ["authenticated", "moha_admin", "moha_designer", "moha_client", "moha_sales", "ai_agent", "service_role", "moha_agent", "metrics_reader"];
