// Serves a Rust edge function built by `cargo xtask functions build` (wasm-bindgen --target
// web). The module is instantiated synchronously from bytes read from disk, which works on
// Supabase's runtime where the `--target deno` loader does not.

import { MAX_BODY_BYTES } from "./facts.ts";
import { Host } from "./host.ts";

type WasmFunction = {
  initSync: (options: { module: BufferSource }) => unknown;
  handle: (meta: string, body: Uint8Array, env: string, host: Host) => Promise<string>;
};

// One byte over the limit is enough for the Rust side to answer 413.
const MAX_BODY = MAX_BODY_BYTES + 1;

async function readBody(req: Request): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  while (size < MAX_BODY) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  if (size >= MAX_BODY) await reader.cancel();
  const out = new Uint8Array(Math.min(size, MAX_BODY));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, out.length - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

export function serveWasm(fn: WasmFunction, wasm: URL): void {
  fn.initSync({ module: Deno.readFileSync(wasm) });
  // PORT and HOST let a local runner choose where to listen; Supabase's runtime ignores them.
  const port = Number(Deno.env.get("PORT") ?? 8000);
  const hostname = Deno.env.get("HOST") ?? "0.0.0.0";
  // A function's environment is fixed for the life of its process: serialised once, not per
  // request.
  const env = JSON.stringify(Deno.env.toObject());
  Deno.serve({ port, hostname }, async (req) => {
    const meta = JSON.stringify({ method: req.method, url: req.url, headers: [...req.headers] });
    const host = new Host();
    try {
      const out = JSON.parse(
        await fn.handle(meta, await readBody(req), env, host),
      ) as { status: number; headers: [string, string][]; body: string };
      // A null-body status (a preflight's 204, say) takes no body at all, not even "".
      const body = NULL_BODY.has(out.status) ? null : out.body;
      return new Response(body, { status: out.status, headers: out.headers });
    } finally {
      await host.close();
    }
  });
}
