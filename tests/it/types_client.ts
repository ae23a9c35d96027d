// Type-checked only (deno check), never run: a supabase-js client typed with the Database type
// that `cargo xtask gen types` renders from the model. Each `@ts-expect-error` line must be an
// error; tests/it/types_check.rs also removes those markers and expects the check to fail
// naming the wrong columns, so the types are proven to reject what the schema does not have.
import { createClient } from "npm:@supabase/supabase-js@2.119.1";
import {
  Constants,
  type Database,
  type Enums,
  type Tables,
  type TablesInsert,
  type TablesUpdate,
} from "../../supabase/functions/_shared/database.types.ts";

const supabase = createClient<Database>("http://127.0.0.1:54321", "anon-key");

export async function typedQueries(userId: string): Promise<void> {
  // Selected columns keep their types; nullable columns are `| null`.
  const { data: projects } = await supabase
    .from("projects")
    .select("id, title, status, client_id, published_at")
    .eq("is_published", true)
    .order("published_at", { ascending: false });
  for (const p of projects ?? []) {
    const title: string = p.title;
    const status: Enums<"project_status"> = p.status;
    const client: string | null = p.client_id;
    console.log(title, status, client);
  }

  // Embedding follows the foreign keys (Relationships).
  const { data: withImages } = await supabase
    .from("projects")
    .select("title, project_images(file_path, order_index)");
  const firstImage: string | undefined = withImages?.[0]?.project_images[0]?.file_path;
  console.log(firstImage);

  // Insert: only required columns; defaulted and nullable ones may be left out.
  const lead: TablesInsert<"leads"> = { client_name: "Ada Lovelace", source: "website" };
  await supabase.from("leads").insert(lead);
  const patch: TablesUpdate<"render_requests"> = { status: "cancelled" };
  await supabase.from("render_requests").update(patch).eq("id", userId);

  // Functions: named arguments, optional ones with defaults, typed result.
  const { data: remaining } = await supabase.rpc("increment_render_counter", { user_id: userId });
  const left: number | undefined = remaining ?? undefined;
  const { data: quota } = await supabase.rpc("increment_agent_counter", { agent: "insights", user_id: userId });
  const quotaLeft: number | null = quota;
  console.log(left, quotaLeft);

  const row: Tables<"render_results"> | null = null;
  const statuses: readonly string[] = Constants.public.Enums.render_status;
  console.log(row, statuses);

  // @ts-expect-error: projects has no column `nmae`
  await supabase.from("projects").insert({ title: "Loft", nmae: "wrong column" });
  // @ts-expect-error: leads has no column `full_name`
  await supabase.from("leads").update({ full_name: "wrong column" }).eq("id", userId);
  // @ts-expect-error: client_name is required on insert
  const noName: TablesInsert<"leads"> = { email: "ada@example.com" };
  // @ts-expect-error: identity columns are never written
  const withId: TablesInsert<"audit_logs"> = { id: 1, table_name: "t", action: "a", actor_kind: "human", actor_role: "x" };
  // @ts-expect-error: `shipped` is not a project status
  const shipped: Enums<"project_status"> = "shipped";
  // @ts-expect-error: the policy helpers live in `authz`, which the Data API does not expose
  await supabase.rpc("is_admin");
  console.log(noName, withId, shipped);
}
