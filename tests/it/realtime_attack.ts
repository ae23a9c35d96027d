// The Realtime endpoint from an attacker's side: raw websocket frames (Deno's WebSocket, no
// client library) against the local gateway. Run by tests/it/realtime.rs, which passes the
// URLs, keys and tokens in the environment and asserts the JSON printed on stdout.
const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env("GATEWAY_URL").replace(/^http/, "ws") + "/realtime/v1/websocket";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Sock = { ws: WebSocket; frames: unknown[]; closed: { code: number } | null };

async function open(vsn = "2.0.0", apikey = env("PUBLISHABLE_KEY")): Promise<Sock> {
  const ws = new WebSocket(`${base}?apikey=${encodeURIComponent(apikey)}&vsn=${vsn}`);
  ws.binaryType = "arraybuffer";
  const s: Sock = { ws, frames: [], closed: null };
  ws.onmessage = (e) => s.frames.push(typeof e.data === "string" ? JSON.parse(e.data) : "binary");
  ws.onclose = (e) => (s.closed = { code: e.code });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return s;
}

let ref = 0;
function push(s: Sock, topic: string, event: string, payload: unknown, joinRef: string | null = "1") {
  const r = String(++ref);
  s.ws.send(JSON.stringify([joinRef, r, topic, event, payload]));
  return r;
}

async function reply(s: Sock, r: string, ms = 3000): Promise<any> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const f = s.frames.find((f: any) => Array.isArray(f) && f[1] === r && f[3] === "phx_reply") as any;
    if (f) return f[4];
    if (s.closed) return { closed: s.closed.code };
    await sleep(10);
  }
  return null;
}

async function join(s: Sock, topic: string, token: string | null, config: Record<string, unknown> = {}) {
  const payload: Record<string, unknown> = { config: { private: true, broadcast: { ack: true, self: true }, ...config } };
  if (token) payload.access_token = token;
  return await reply(s, push(s, `realtime:${topic}`, "phx_join", payload));
}

async function heartbeatOk(): Promise<boolean> {
  const s = await open();
  const r = await reply(s, push(s, "phoenix", "heartbeat", {}, null));
  s.ws.close();
  return r?.status === "ok";
}

async function hostile(frame: string | Uint8Array, vsn = "2.0.0") {
  const s = await open(vsn);
  s.ws.send(frame);
  const until = Date.now() + 2000;
  while (!s.closed && Date.now() < until) await sleep(10);
  const alive = await heartbeatOk();
  return { closed: s.closed?.code ?? null, gateway_alive: alive };
}

/** An unsigned (`alg: none`) token with the admin's claims. */
function unsigned(claims: Record<string, unknown>) {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
}

const out: Record<string, unknown> = {};

// Frames the protocol cannot parse close that socket only.
out.not_json = await hostile("{not json");
out.not_array = await hostile(JSON.stringify({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "1" }));
out.payload_not_object = await hostile(JSON.stringify([null, "1", "realtime:x", "phx_join", "string"]));
// A user-broadcast push whose header claims more bytes than the frame has.
out.truncated_binary = await hostile(new Uint8Array([3, 200, 200, 200, 200, 200, 1, 65, 66]));
out.unknown_binary_kind = await hostile(new Uint8Array([9, 0, 0, 0, 0]));
out.binary_on_v1 = await hostile(new Uint8Array([3, 0, 0, 1, 1, 0, 1, 120, 121, 123, 125]), "1.0.0");

// A topic over 255 bytes is refused before any authorisation.
{
  const s = await open();
  out.long_topic = await join(s, "dashboard:admin" + "x".repeat(260), env("SERVICE_KEY"));
  s.ws.close();
}

// Forged, unsigned and other-audience tokens are refused.
{
  const s = await open();
  out.forged = await join(s, "dashboard:admin", env("FORGED_ADMIN"));
  out.unsigned = await join(s, "dashboard:admin", unsigned(JSON.parse(env("ADMIN_CLAIMS"))));
  out.garbage_token = await join(s, "dashboard:admin", "not.a.jwt");
  s.ws.close();
}

// Public channels are refused: this project is private-only.
{
  const s = await open();
  out.public_channel = await join(s, "dashboard:admin", env("ADMIN_TOKEN"), { private: false });
  s.ws.close();
}

// Pushes to a topic this socket has not joined reach nothing.
{
  const s = await open();
  out.unjoined_broadcast = await reply(
    s,
    push(s, "realtime:dashboard:admin", "broadcast", { type: "broadcast", event: "x", payload: {} }),
  );
  s.ws.close();
}

// Tracking presence where one may only listen is refused.
{
  const s = await open();
  const topic = `leads:${env("SALES_A_ID")}`;
  out.sales_join = await join(s, topic, env("SALES_A_TOKEN"), { presence: { key: "a", enabled: true } });
  out.sales_track = await reply(s, push(s, `realtime:${topic}`, "presence", { type: "presence", event: "track", payload: { x: 1 } }));
  // Swapping in another user's token on the joined channel: re-checked, and the channel closes.
  push(s, `realtime:${topic}`, "access_token", { access_token: env("SALES_B_TOKEN") });
  await sleep(800);
  out.swap = s.frames.filter((f: any) => Array.isArray(f) && (f[3] === "system" || f[3] === "phx_close")).map((f: any) => [f[3], f[4]]);
  s.ws.close();
}

console.log(JSON.stringify(out));
Deno.exit(0);
