// Benchmarks P13 and P14 (issue 18), run by `cargo xtask bench` (xtask/src/bench/realtime.rs)
// in Deno against a gateway on a throwaway cluster. Clients speak realtime-js' default protocol
// (vsn 2.0.0) over raw websockets, so a thousand subscribers fit in one process.
//
// P13: `select realtime.send(...)` committed → the broadcast decoded by every subscriber of the
//      topic, with 1, 100 and 1,000 subscribers; messages 25 ms apart.
// P14: authorised private joins per second: joins of distinct `inbox:<uuid>` topics as an Admin
//      (each one Realtime's RLS check in a rolled-back transaction), 64 in flight.
import postgres from "npm:postgres@3.4.9";

const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const WS = env("WS_URL");
const TOKEN = env("ACCESS_TOKEN");
const sql = postgres(env("DB_URL"), { max: 1, onnotice: () => {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const decoder = new TextDecoder();

type Sub = { ws: WebSocket; pending: Map<string, (p: any) => void>; onBroadcast?: (payload: any) => void };
let ref = 0;

async function connect(): Promise<Sub> {
  const ws = new WebSocket(`${WS}?apikey=${encodeURIComponent(env("PUBLISHABLE_KEY"))}&vsn=2.0.0`);
  ws.binaryType = "arraybuffer";
  const s: Sub = { ws, pending: new Map() };
  ws.onmessage = (e) => {
    if (typeof e.data === "string") {
      const [, r, , event, payload] = JSON.parse(e.data);
      if (event === "phx_reply" && s.pending.has(r)) {
        s.pending.get(r)!(payload);
        s.pending.delete(r);
      }
    } else {
      // Kind 4 (user broadcast): kind, topic/event/metadata sizes, encoding, then the bytes.
      const b = new Uint8Array(e.data);
      const start = 5 + b[1] + b[2] + b[3];
      s.onBroadcast?.(JSON.parse(decoder.decode(b.subarray(start))));
    }
  };
  await new Promise((res, rej) => {
    ws.onopen = res;
    ws.onerror = rej;
  });
  return s;
}

function join(s: Sub, topic: string): Promise<any> {
  const r = String(++ref);
  const p = new Promise((res) => s.pending.set(r, res));
  s.ws.send(JSON.stringify([r, r, `realtime:${topic}`, "phx_join", {
    config: { private: true, broadcast: { ack: false, self: false }, presence: { key: "", enabled: false } },
    access_token: TOKEN,
  }]));
  return p;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const out: Record<string, unknown> = { p13: [] as unknown[] };

// P13.
const topic = `inbox:${crypto.randomUUID()}`;
const subs: Sub[] = [];
for (const n of [1, 100, 1000]) {
  while (subs.length < n) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - subs.length) }, connect));
    const replies = await Promise.all(batch.map((s) => join(s, topic)));
    for (const r of replies) if (r.status !== "ok") throw new Error(`join refused: ${JSON.stringify(r)}`);
    subs.push(...batch);
  }
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  for (const s of subs) s.onBroadcast = (m) => latencies.push(performance.now() - sentAt.get(m.seq)!);
  const messages = Number(env("MESSAGES"));
  for (let i = 0; i < messages + 5; i++) {
    sentAt.set(i, performance.now());
    await sql`select realtime.send(${sql.json({ seq: i })}, 'bench', ${topic}, true)`;
    await sleep(25);
  }
  await sleep(500);
  // The first five messages warm up.
  const measured = latencies.slice(5 * n);
  (out.p13 as unknown[]).push({
    subscribers: n,
    deliveries: measured.length,
    expected: messages * n,
    p50_ms: pct(measured, 50),
    p99_ms: pct(measured, 99),
  });
}
for (const s of subs) s.ws.close();

// P14.
{
  const joins = Number(env("JOINS"));
  const sockets = await Promise.all(Array.from({ length: 16 }, connect));
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 64 }, async (_, w) => {
    const s = sockets[w % sockets.length];
    while (next < joins) {
      next++;
      const t0 = performance.now();
      const r = await join(s, `inbox:${crypto.randomUUID()}`);
      if (r.status !== "ok") throw new Error(`join refused: ${JSON.stringify(r)}`);
      times.push(performance.now() - t0);
    }
  }));
  const secs = (performance.now() - started) / 1000;
  out.p14 = { joins: times.length, secs, per_s: times.length / secs, p50_ms: pct(times, 50), p95_ms: pct(times, 95) };
  for (const s of sockets) s.ws.close();
}

console.log(JSON.stringify(out));
await sql.end();
Deno.exit(0);
