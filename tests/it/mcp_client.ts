// An outside agent's MCP client: the official TypeScript SDK (pinned in package.json) over
// Streamable HTTP against the local gateway's `mcp` function, with an API token as bearer. It
// negotiates, lists the tools and calls each one. Run by tests/it/functions_mcp.rs, which
// passes the URL, token and ids in the environment and reads the JSON printed on stdout.
import { Client } from "npm:@modelcontextprotocol/sdk@1.32.2/client/index.js";
import { StreamableHTTPClientTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp.js";

const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const transport = new StreamableHTTPClientTransport(new URL(env("MCP_URL")), {
  requestInit: { headers: { Authorization: `Bearer ${env("API_TOKEN")}` } },
});
const client = new Client({ name: "moha-test-agent", version: "1.0.0" });
await client.connect(transport);

const listed = await client.listTools();
type Called = { isError: boolean; structured: unknown; text: string };
const calls: Record<string, Called> = {};
const call = async (name: string, args: Record<string, unknown>) => {
  const r = await client.callTool({ name, arguments: args });
  const content = (r.content as { type: string; text?: string }[]) ?? [];
  calls[name] = {
    isError: Boolean(r.isError),
    structured: r.structuredContent ?? null,
    text: content.map((c) => c.text ?? "").join(""),
  };
  return r.structuredContent as Record<string, unknown> | undefined;
};

await client.ping();
await call("search_leads", { query: "mcp", limit: 5 });
await call("get_lead", { lead_id: env("LEAD_ID") });
await call("add_lead_note", { lead_id: env("LEAD_ID"), note: "Called back; wants a quote." });
await call("propose_lead_assignment", {
  lead_id: env("LEAD_ID"),
  assigned_to: env("SALES_ID"),
  rationale: "Closest to the client's area.",
});
await call("propose_lead_status", { lead_id: env("LEAD_ID"), status: "qualified" });
await call("list_inbox", { days: 90, limit: 10 });
await call("draft_reply", { message_id: env("MESSAGE_ID"), reply: "Thank you, we will call you." });
await call("list_projects", { limit: 5 });
await call("get_project", { project_id: env("PROJECT_ID") });
const render = await call("create_render_request", {
  input_file_path: `${env("OWNER_ID")}/mcp/room.png`,
  project_id: env("PROJECT_ID"),
});
await call("list_renders", { limit: 5 });
await call("get_render_status", { render_id: String(render?.render_id ?? "") });
const post = await call("draft_blog_post", {
  title: "Light in small rooms",
  slug: "light-in-small-rooms-mcp",
  content: "Mirrors, pale walls and fewer, larger pieces.",
});
await call("propose_publish_post", { post_id: String(post?.post_id ?? "") });
await call("summarise_table", { table_name: "leads" });
await call("list_my_proposals", { status: "pending" });

let unknownTool: string | null = null;
try {
  await client.callTool({ name: "publish_post", arguments: {} });
} catch (e) {
  unknownTool = (e as Error).message;
}

console.log(JSON.stringify({
  protocolVersion: transport.protocolVersion ?? null,
  server: client.getServerVersion() ?? null,
  instructions: client.getInstructions() ?? null,
  tools: listed.tools.map((t) => ({ name: t.name, schemaType: t.inputSchema.type })),
  calls,
  unknownTool,
}));
await client.close();
