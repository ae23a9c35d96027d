// The local Realtime endpoint (issue 18): `ws://<gateway>/realtime/v1/websocket`, speaking the
// protocol @supabase/realtime-js speaks to Supabase Realtime (mirrored from supabase/realtime
// v2.129.8, lib/realtime_web/channels/realtime_channel.ex and socket/v2_serializer.ex):
//
// - Phoenix channels: `phx_join` with its config (broadcast self/ack, presence key and enabled,
//   private), `phx_leave`, heartbeats on topic `phoenix`, `access_token` refresh, broadcast,
//   presence track/untrack with `presence_state`/`presence_diff`, `system` messages, and the
//   join errors' reasons as hosted words them (`Unauthorized: You do not have permissions to
//   read from this Channel topic: ...`).
// - Serializer 2.0.0 (JSON array frames; binary user-broadcast frames, kinds 3 and 4) and 1.0.0
//   (JSON object frames), chosen by `vsn` as the client asks.
// - Private channels only (hosted's "private-only" setting, which this project requires):
//   a join is authorised as Realtime does it, in a rolled-back transaction as the token's role
//   with its claims and `realtime.topic` set: may join if RLS lets it select a probe message of
//   the topic, may send (or track presence) if RLS lets it insert one.
// - Delivery from the database: rows inserted into `realtime.messages` are NOTIFYed at commit by
//   the compat layer's trigger (xtask/sql/realtime.sql) and fanned out here; hosted reads them
//   by logical replication instead. docs/realtime.md has the latency.
//
// Tokens are checked by moha_edge::gateway (the same wasm module main.ts uses for Storage).

import { USER_ROLES } from "../../supabase/functions/_shared/facts.ts";
import postgres from "npm:postgres@3.4.9";

/** A credential decision of moha_edge::gateway (Storage's: the caller's role and claims). */
export type Decision = {
  ok: boolean;
  role?: string;
  claims?: Record<string, unknown>;
  status?: number;
  error?: string;
  message?: string;
};

type Options = {
  db_url: string;
  /** The check of an API key and/or access token, given as request headers. */
  decide: (headers: [string, string][]) => Decision;
};

const PATH = "/realtime/v1/websocket";
/** Hosted's serializer refuses topics, events and refs over 255 bytes. */
const MAX_FIELD = 255;
/** Frames above this close the socket (hosted's default max payload is far lower for messages). */
const MAX_FRAME = 1 << 20;

let opts: Options;
let sql: postgres.Sql;
let allowedRoles: Set<string>;
/** Why the endpoint is not serving (a database without Realtime's objects), or null. */
let unavailable: string | null = "not configured";

/** The channels joined on each topic (private only). */
const subscribers = new Map<string, Set<Channel>>();
/** Presence per topic: key → the channels tracking it with their metas. */
const presences = new Map<string, Map<string, Map<Channel, Record<string, unknown>>>>();

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export async function configureRealtime(o: Options): Promise<void> {
  opts = o;
  allowedRoles = new Set(["anon", "authenticated", "service_role", ...USER_ROLES]);
  sql = postgres(o.db_url, { max: 10, onnotice: () => {} });
  try {
    await createPartitions();
    await sql.listen("realtime_messages", (body) => {
      deliver(body).catch((e) => console.error("realtime delivery:", e));
    });
    unavailable = null;
  } catch (e) {
    // The rest of the gateway still serves; the websocket answers 503 with the reason.
    unavailable = `the database lacks Realtime's objects (xtask/sql/realtime.sql): ${(e as Error).message}`;
    console.error("realtime:", unavailable);
  }
  setInterval(() => createPartitions().catch((e) => console.error("realtime partitions:", e)), 3600_000);
}

/** Realtime's Tenants.create_messages_partitions/1, through the compat layer's definer function. */
async function createPartitions(): Promise<void> {
  await sql`select extensions.compat_realtime_partitions()`;
}

export function isRealtime(url: URL): boolean {
  return url.pathname === PATH;
}

/** The websocket upgrade; refused (401, as hosted's connect) without a valid API key. */
export function handleRealtime(req: Request, url: URL): Response {
  if (unavailable) return Response.json({ error: `Realtime is unavailable: ${unavailable}` }, { status: 503 });
  if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return Response.json({ error: "Expected a websocket upgrade" }, { status: 400 });
  }
  const apikey = url.searchParams.get("apikey") ?? req.headers.get("apikey");
  if (!apikey) return Response.json({ error: "API key is missing" }, { status: 401 });
  const d = opts.decide([["apikey", apikey]]);
  if (!d.ok) return Response.json({ error: d.message ?? "Invalid API key" }, { status: 401 });
  const vsn = url.searchParams.get("vsn") ?? "1.0.0";
  if (vsn !== "1.0.0" && vsn !== "2.0.0") {
    return Response.json({ error: `unsupported vsn ${vsn}` }, { status: 400 });
  }
  const { socket, response } = Deno.upgradeWebSocket(req);
  new Conn(socket, vsn, apikey);
  return response;
}

type Frame = {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
};

type Policies = {
  broadcastRead: boolean;
  presenceRead: boolean;
  broadcastWrite?: boolean;
  presenceWrite?: boolean;
};

class Refused extends Error {}
class Rollback extends Error {}

function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** One websocket: its serializer version and channels. */
class Conn {
  channels = new Map<string, Channel>();
  closed = false;

  constructor(readonly ws: WebSocket, readonly vsn: "1.0.0" | "2.0.0", readonly apikey: string) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => this.receive(e.data).catch((err) => this.fail(err));
    ws.onclose = () => this.cleanup();
    ws.onerror = () => this.cleanup();
  }

  /** A frame the protocol cannot parse ends the connection, as Phoenix's does (1003/1009). */
  fail(err: unknown) {
    if (err instanceof Refused) {
      try {
        this.ws.close(err.message === "too big" ? 1009 : 1003, "invalid frame");
      } catch { /* already closing */ }
      this.cleanup();
    } else {
      console.error("realtime:", err);
    }
  }

  cleanup() {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.channels.values()) ch.close(false);
    this.channels.clear();
  }

  send(data: string | ArrayBuffer) {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(data);
  }

  text(f: Frame): string {
    return this.vsn === "2.0.0"
      ? JSON.stringify([f.join_ref, f.ref, f.topic, f.event, f.payload])
      : JSON.stringify({ topic: f.topic, event: f.event, payload: f.payload, ref: f.ref, join_ref: f.join_ref });
  }

  reply(f: Frame, status: "ok" | "error", response: unknown) {
    this.send(this.text({ join_ref: f.join_ref, ref: f.ref, topic: f.topic, event: "phx_reply", payload: { status, response } }));
  }

  push(joinRef: string | null, topic: string, event: string, payload: unknown) {
    this.send(this.text({ join_ref: joinRef, ref: null, topic, event, payload }));
  }

  async receive(data: unknown) {
    if (typeof data === "string") {
      if (data.length > MAX_FRAME) throw new Refused("too big");
      let raw: unknown;
      try {
        raw = JSON.parse(data);
      } catch {
        throw new Refused("not JSON");
      }
      await this.handle(this.decodeText(raw), null);
    } else if (data instanceof ArrayBuffer) {
      if (data.byteLength > MAX_FRAME) throw new Refused("too big");
      if (this.vsn !== "2.0.0") throw new Refused("binary frame on 1.0.0");
      const [frame, binary] = decodeUserBroadcastPush(data);
      await this.handle(frame, binary);
    } else {
      throw new Refused("unknown frame");
    }
  }

  decodeText(raw: unknown): Frame {
    const str = (v: unknown) => (v === null || v === undefined ? null : typeof v === "string" ? v : String(v));
    let f: Frame;
    if (this.vsn === "2.0.0") {
      if (!Array.isArray(raw) || raw.length < 5) throw new Refused("expected a V2 array");
      f = { join_ref: str(raw[0]), ref: str(raw[1]), topic: raw[2] as string, event: raw[3] as string, payload: raw[4] };
    } else {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Refused("expected an object");
      const o = raw as Record<string, unknown>;
      f = { join_ref: str(o.join_ref), ref: str(o.ref), topic: o.topic as string, event: o.event as string, payload: o.payload };
    }
    if (typeof f.topic !== "string" || typeof f.event !== "string") throw new Refused("topic and event are strings");
    if (typeof f.payload !== "object" || f.payload === null || Array.isArray(f.payload)) {
      throw new Refused("payload is an object");
    }
    return f;
  }

  async handle(f: Frame, binary: BinaryBroadcast | null) {
    if (f.topic === "phoenix" && f.event === "heartbeat") return this.reply(f, "ok", {});
    if (f.event === "phx_join") return await this.join(f);
    const ch = this.channels.get(f.topic);
    // Phoenix answers a push to a channel the socket has not joined (or joined under another
    // ref) with phx_close/"unmatched topic"; nothing reaches another socket's channel.
    if (!ch || (f.join_ref !== null && f.join_ref !== ch.joinRef)) {
      return this.reply(f, "error", { reason: "unmatched topic" });
    }
    const p = f.payload as Record<string, unknown>;
    switch (f.event) {
      case "phx_leave":
        this.reply(f, "ok", {});
        ch.close(true);
        return;
      case "access_token":
        return await ch.refresh(p.access_token);
      case "broadcast":
        return await ch.broadcast(f, p, binary);
      case "presence":
        return await ch.presence(f, p);
      default:
        // Hosted logs and ignores other events.
        return;
    }
  }

  async join(f: Frame) {
    const topic = f.topic;
    if (!topic.startsWith("realtime:")) return this.reply(f, "error", { reason: "unmatched topic" });
    const sub = topic.slice("realtime:".length);
    if (sub === "") {
      return this.reply(f, "error", { reason: "TopicNameRequired: You must provide a topic name" });
    }
    if (byteLength(topic) > MAX_FIELD) {
      return this.reply(f, "error", { reason: `TopicTooLong: the topic must be at most ${MAX_FIELD} bytes` });
    }
    const p = f.payload as Record<string, unknown>;
    const config = (typeof p.config === "object" && p.config !== null ? p.config : {}) as Record<string, any>;
    if (config.private !== true) {
      return this.reply(f, "error", { reason: "PrivateOnly: This project only allows private channels" });
    }
    if (Array.isArray(config.postgres_changes) && config.postgres_changes.length > 0) {
      return this.reply(f, "error", {
        reason: "PostgresChangesNotServed: this project uses broadcast from the database; Postgres Changes is not served",
      });
    }
    const previous = this.channels.get(topic);
    if (previous) previous.close(false);
    const ch = new Channel(this, topic, sub, f.join_ref, {
      self: config.broadcast?.self === true,
      ack: config.broadcast?.ack === true,
      presenceKey: typeof config.presence?.key === "string" && config.presence.key !== ""
        ? config.presence.key
        : crypto.randomUUID(),
      presenceEnabled: config.presence?.enabled === true,
    });
    const token = typeof p.access_token === "string"
      ? p.access_token
      : typeof p.user_token === "string"
      ? p.user_token
      : null;
    const err = await ch.authorise(token);
    if (err) return this.reply(f, "error", { reason: err });
    this.channels.set(topic, ch);
    ch.subscribe();
    this.reply(f, "ok", { postgres_changes: [] });
    if (ch.presenceEnabled && ch.policies.presenceRead) {
      this.push(ch.joinRef, topic, "presence_state", presenceState(sub));
    }
  }
}

type BinaryBroadcast = { event: string; encoding: "json" | "binary"; payload: Uint8Array; metadata: string };

/** Kind 3 (user broadcast push) of realtime-js' serializer, bounds-checked. */
function decodeUserBroadcastPush(buf: ArrayBuffer): [Frame, BinaryBroadcast] {
  const bytes = new Uint8Array(buf);
  if (bytes.length < 7 || bytes[0] !== 3) throw new Refused("unknown binary frame");
  const sizes = [bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]];
  const encoding = bytes[6];
  let offset = 7;
  const take = (n: number) => {
    if (offset + n > bytes.length) throw new Refused("truncated frame");
    const s = bytes.subarray(offset, offset + n);
    offset += n;
    return s;
  };
  const text = (b: Uint8Array) => {
    try {
      return decoder.decode(b);
    } catch {
      throw new Refused("not UTF-8");
    }
  };
  const joinRef = text(take(sizes[0]));
  const ref = text(take(sizes[1]));
  const topic = text(take(sizes[2]));
  const event = text(take(sizes[3]));
  const metadata = text(take(sizes[4]));
  if (metadata !== "") {
    try {
      const m = JSON.parse(metadata);
      if (typeof m !== "object" || m === null || Array.isArray(m)) throw new Error();
    } catch {
      throw new Refused("metadata is a JSON object");
    }
  }
  const payload = bytes.slice(offset);
  if (encoding === 1) {
    try {
      JSON.parse(text(payload));
    } catch {
      throw new Refused("JSON payload");
    }
  } else if (encoding !== 0) {
    throw new Refused("payload encoding");
  }
  return [
    { join_ref: joinRef || null, ref: ref || null, topic, event: "broadcast", payload: { type: "broadcast", event } },
    { event, encoding: encoding === 1 ? "json" : "binary", payload, metadata },
  ];
}

/** Kind 4 (user broadcast) frame, as hosted sends broadcasts to 2.0.0 clients. */
function userBroadcastFrame(topic: string, event: string, metadata: string, encoding: "json" | "binary", payload: Uint8Array): ArrayBuffer | null {
  const t = encoder.encode(topic), e = encoder.encode(event), m = encoder.encode(metadata);
  if (t.length > MAX_FIELD || e.length > MAX_FIELD || m.length > MAX_FIELD) return null;
  const out = new Uint8Array(5 + t.length + e.length + m.length + payload.length);
  out.set([4, t.length, e.length, m.length, encoding === "json" ? 1 : 0], 0);
  let o = 5;
  for (const part of [t, e, m, payload]) {
    out.set(part, o);
    o += part.length;
  }
  return out.buffer;
}

function presenceState(sub: string): Record<string, { metas: unknown[] }> {
  const out: Record<string, { metas: unknown[] }> = {};
  for (const [key, byChannel] of presences.get(sub) ?? []) {
    out[key] = { metas: [...byChannel.values()] };
  }
  return out;
}

/** Why a token fails, worded as hosted's join errors; the token is only read for the message. */
function tokenRefusal(token: string, d: Decision): string {
  const parts = token.split(".");
  let claims: Record<string, unknown> | null = null;
  try {
    if (parts.length === 3) claims = JSON.parse(atob(parts[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    claims = null;
  }
  if (!claims || typeof claims !== "object") return "MalformedJWT: The token provided is not a valid JWT";
  const exp = typeof claims.exp === "number" ? claims.exp : null;
  const now = Math.floor(Date.now() / 1000);
  if (exp !== null && exp <= now) return `InvalidJWTToken: Token has expired ${now - exp} seconds ago`;
  void d;
  return "JwtSignatureError: Failed to validate JWT signature";
}

class Channel {
  role = "anon";
  claims: Record<string, unknown> = {};
  token: string | null = null;
  policies: Policies = { broadcastRead: false, presenceRead: false };
  expiry: ReturnType<typeof setTimeout> | undefined;
  tracked = false;
  closed = false;
  readonly self: boolean;
  readonly ack: boolean;
  readonly presenceKey: string;
  presenceEnabled: boolean;

  constructor(
    readonly conn: Conn,
    readonly topic: string,
    readonly sub: string,
    readonly joinRef: string | null,
    o: { self: boolean; ack: boolean; presenceKey: string; presenceEnabled: boolean },
  ) {
    this.self = o.self;
    this.ack = o.ack;
    this.presenceKey = o.presenceKey;
    this.presenceEnabled = o.presenceEnabled;
  }

  /** Verifies the token and reads the channel's read policies; the refusal's reason or null. */
  async authorise(token: string | null): Promise<string | null> {
    // An API key in place of a token means the connection's own credential, as hosted has it.
    const bearer = token && !token.startsWith("sb_") ? token : null;
    const headers: [string, string][] = [["apikey", this.conn.apikey]];
    if (bearer) headers.push(["authorization", `Bearer ${bearer}`]);
    const d = opts.decide(headers);
    if (!d.ok) return bearer ? tokenRefusal(bearer, d) : `Unauthorized: ${d.message ?? "invalid API key"}`;
    const claims = d.claims ?? {};
    const role = d.role ?? "anon";
    if (bearer && (typeof claims.role !== "string" || typeof claims.exp !== "number")) {
      return "InvalidJWTToken: Fields `role` and `exp` are required in JWT";
    }
    const denied = `Unauthorized: You do not have permissions to read from this Channel topic: ${this.sub}`;
    if (!allowedRoles.has(role)) return denied;
    this.role = role;
    this.claims = claims;
    this.token = bearer;
    try {
      this.policies = await readPolicies(this.sub, role, claims, this.presenceEnabled);
    } catch (e) {
      console.error("realtime authorisation:", e);
      return denied;
    }
    if (!this.policies.broadcastRead && !this.policies.presenceRead) return denied;
    this.scheduleExpiry();
    return null;
  }

  scheduleExpiry() {
    clearTimeout(this.expiry);
    const exp = typeof this.claims.exp === "number" && this.token ? this.claims.exp : null;
    if (exp === null) return;
    const ms = Math.max(0, exp * 1000 - Date.now());
    // setTimeout's limit is 2^31-1 ms; a token that long-lived is re-checked then.
    this.expiry = setTimeout(() => {
      if (this.token && typeof this.claims.exp === "number" && this.claims.exp * 1000 <= Date.now()) {
        this.shutdown(`Token has expired ${Math.floor(Date.now() / 1000) - (this.claims.exp as number)} seconds ago`);
      } else {
        this.scheduleExpiry();
      }
    }, Math.min(ms + 50, 2 ** 31 - 1));
  }

  subscribe() {
    let set = subscribers.get(this.sub);
    if (!set) subscribers.set(this.sub, set = new Set());
    set.add(this);
  }

  /** hosted's shutdown_response: a system error on the channel, then phx_close. */
  shutdown(message: string) {
    this.conn.push(this.joinRef, this.topic, "system", {
      extension: "system",
      status: "error",
      message,
      channel: this.sub,
    });
    this.close(true);
  }

  close(notify: boolean) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.expiry);
    subscribers.get(this.sub)?.delete(this);
    if (subscribers.get(this.sub)?.size === 0) subscribers.delete(this.sub);
    this.untrack();
    if (this.conn.channels.get(this.topic) === this) this.conn.channels.delete(this.topic);
    if (notify) this.conn.push(this.joinRef, this.topic, "phx_close", {});
  }

  async refresh(token: unknown) {
    if (typeof token !== "string" || token.startsWith("sb_") || token === this.token) return;
    const before = this.policies;
    const err = await this.authorise(token);
    if (err) {
      // authorise's reasons carry hosted's code prefix; shutdown messages do not.
      const message = err.startsWith("Unauthorized: ")
        ? `You no longer have permission to read from this Channel topic: ${this.sub}`
        : err.replace(/^[A-Za-z]+: /, "");
      return this.shutdown(message);
    }
    if ((before.broadcastRead && !this.policies.broadcastRead) || (before.presenceRead && !this.policies.presenceRead)) {
      return this.shutdown(`You no longer have permission to read from this Channel topic: ${this.sub}`);
    }
  }

  async canWrite(extension: "broadcast" | "presence"): Promise<boolean> {
    const key = extension === "broadcast" ? "broadcastWrite" : "presenceWrite";
    if (this.policies[key] === undefined) {
      this.policies[key] = await writePolicy(this.sub, this.role, this.claims, extension);
    }
    return this.policies[key] === true;
  }

  async broadcast(f: Frame, p: Record<string, unknown>, binary: BinaryBroadcast | null) {
    // Refused sends are dropped without a reply, as hosted drops them (an ack then times out).
    if (!(await this.canWrite("broadcast"))) return;
    let event: string, encoding: "json" | "binary", body: Uint8Array, metadata = "";
    if (binary) {
      ({ event, encoding, payload: body, metadata } = binary);
    } else {
      if (typeof p.event !== "string") return;
      event = p.event;
      encoding = "json";
      body = encoder.encode(JSON.stringify(p.payload ?? {}));
    }
    if (byteLength(event) <= MAX_FIELD) fanout(this.sub, event, encoding, body, metadata, this.self ? null : this);
    if (this.ack) this.conn.reply(f, "ok", {});
  }

  async presence(f: Frame, p: Record<string, unknown>) {
    const event = typeof p.event === "string" ? p.event.toLowerCase() : "";
    if (event === "untrack") {
      this.untrack();
      return this.conn.reply(f, "ok", {});
    }
    if (event !== "track") return this.conn.reply(f, "error", {});
    const meta = p.payload ?? {};
    if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
      return this.conn.reply(f, "error", { reason: "Presence track payload must be a map" });
    }
    if (!(await this.canWrite("presence"))) return this.conn.reply(f, "error", {});
    this.presenceEnabled = true;
    let byKey = presences.get(this.sub);
    if (!byKey) presences.set(this.sub, byKey = new Map());
    let byChannel = byKey.get(this.presenceKey);
    if (!byChannel) byKey.set(this.presenceKey, byChannel = new Map());
    const old = byChannel.get(this);
    const fresh = { ...(meta as Record<string, unknown>), phx_ref: crypto.randomUUID() };
    byChannel.set(this, fresh);
    this.tracked = true;
    this.conn.reply(f, "ok", {});
    presenceDiff(this.sub, { [this.presenceKey]: { metas: [fresh] } }, old ? { [this.presenceKey]: { metas: [old] } } : {});
  }

  untrack() {
    if (!this.tracked) return;
    this.tracked = false;
    const byKey = presences.get(this.sub);
    const byChannel = byKey?.get(this.presenceKey);
    const old = byChannel?.get(this);
    if (!byKey || !byChannel || !old) return;
    byChannel.delete(this);
    if (byChannel.size === 0) byKey.delete(this.presenceKey);
    if (byKey.size === 0) presences.delete(this.sub);
    presenceDiff(this.sub, {}, { [this.presenceKey]: { metas: [old] } });
  }
}

function presenceDiff(sub: string, joins: unknown, leaves: unknown) {
  for (const ch of subscribers.get(sub) ?? []) {
    if (ch.presenceEnabled && ch.policies.presenceRead) {
      ch.conn.push(ch.joinRef, ch.topic, "presence_diff", { joins, leaves });
    }
  }
}

/** Sends a broadcast to the topic's listeners that may read it (all but `except`). */
function fanout(sub: string, event: string, encoding: "json" | "binary", body: Uint8Array, metadata: string, except: Channel | null) {
  const set = subscribers.get(sub);
  if (!set) return;
  const topic = `realtime:${sub}`;
  let v2: ArrayBuffer | null | undefined;
  let v1: string | undefined;
  for (const ch of set) {
    if (ch === except || !ch.policies.broadcastRead) continue;
    if (ch.conn.vsn === "2.0.0") {
      if (v2 === undefined) v2 = userBroadcastFrame(topic, event, metadata, encoding, body);
      if (v2) ch.conn.send(v2);
    } else if (encoding === "json") {
      // 1.0.0 clients get JSON; binary payloads do not reach them (as hosted skips them).
      v1 ??= JSON.stringify({
        topic,
        event: "broadcast",
        payload: {
          type: "broadcast",
          event,
          payload: JSON.parse(new TextDecoder().decode(body)),
          ...(metadata ? { meta: JSON.parse(metadata) } : {}),
        },
        ref: null,
        join_ref: null,
      });
      ch.conn.send(v1);
    }
  }
}

/** A message NOTIFYed at commit by realtime.compat_notify_message(). */
async function deliver(body: string) {
  let m = JSON.parse(body) as Record<string, any>;
  if (!m.private || !subscribers.has(m.topic)) return;
  if (m.large) {
    const rows = await sql`select id, topic, event, private, extension, payload, encode(binary_payload, 'base64') as binary
                             from realtime.messages where id = ${m.id} and inserted_at = ${m.inserted_at}`;
    if (rows.length === 0) return;
    m = rows[0];
  }
  if (typeof m.event !== "string") return;
  const metadata = JSON.stringify({ id: m.id });
  if (m.binary) {
    fanout(m.topic, m.event, "binary", Uint8Array.from(atob(m.binary), (c) => c.charCodeAt(0)), metadata, null);
  } else {
    fanout(m.topic, m.event, "json", encoder.encode(JSON.stringify(m.payload ?? {})), metadata, null);
  }
}

/** Sets the caller as Realtime's Authorization.set_conn_config/2 does (role from the whitelist). */
async function asCaller(tx: postgres.TransactionSql, sub: string, role: string, claims: Record<string, unknown>) {
  await tx`select pg_catalog.set_config('role', ${role}, true),
                  pg_catalog.set_config('realtime.topic', ${sub}, true),
                  pg_catalog.set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
                  pg_catalog.set_config('request.jwt.claim.sub', ${String(claims.sub ?? "")}, true),
                  pg_catalog.set_config('request.jwt.claim.role', ${role}, true)`;
}

/** Realtime's read check: probe messages inserted by the server, selected as the caller. */
async function readPolicies(sub: string, role: string, claims: Record<string, unknown>, presence: boolean): Promise<Policies> {
  const b = crypto.randomUUID(), p = crypto.randomUUID();
  let out: Policies = { broadcastRead: false, presenceRead: false };
  try {
    await sql.begin(async (tx) => {
      await tx`insert into realtime.messages (id, topic, extension)
               values (${b}, ${sub}, 'broadcast'), (${p}, ${sub}, 'presence')`;
      await asCaller(tx, sub, role, claims);
      try {
        const rows = await tx`select id from realtime.messages where id in (${b}, ${p})`;
        const ids = new Set(rows.map((r) => r.id));
        out = { broadcastRead: ids.has(b), presenceRead: presence && ids.has(p) };
      } catch (e) {
        // No privilege at all (a role without grants on realtime.messages): no access.
        if ((e as { code?: string }).code !== "42501") throw e;
      }
      throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
  return out;
}

/** Realtime's write check: may the caller insert a message of the topic and extension? */
async function writePolicy(sub: string, role: string, claims: Record<string, unknown>, extension: string): Promise<boolean> {
  let ok = false;
  try {
    await sql.begin(async (tx) => {
      await asCaller(tx, sub, role, claims);
      try {
        await tx`insert into realtime.messages (topic, extension) values (${sub}, ${extension})`;
        ok = true;
      } catch (e) {
        if ((e as { code?: string }).code !== "42501") throw e;
      }
      throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
  return ok;
}
