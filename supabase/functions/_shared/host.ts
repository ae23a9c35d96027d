// The host side of the Rust edge functions: the database through postgres.js over
// SUPABASE_DB_URL (one transaction per request, as a fixed role with the caller's claims), HTTP
// through fetch, and time. The Rust side sees these through moha_edge's Db, Http and Clock.

import { HOST_ROLES } from "./facts.ts";

type Conn = {
  unsafe: (query: string, params?: unknown[]) => Promise<unknown[]>;
  release: () => void;
};
type Sql = { reserve: () => Promise<Conn> };

// Only these roles may be asked for; the role name is never taken from input (a caller's role
// comes from their verified token and must be one of USER_ROLES). service_role is for the one
// statement that needs it (decrypting a social account's token); moha_agent is the mcp
// function's, for a request whose API token it has checked by hash.
const ROLES = new Set(HOST_ROLES);

let pool: Promise<Sql> | undefined;

function db(): Promise<Sql> {
  // Loaded on first use, so requests that never touch the database start fast.
  pool ??= import("npm:postgres@3.4.9").then(({ default: postgres }) => {
    const url = Deno.env.get("SUPABASE_DB_URL");
    if (!url) throw { message: "SUPABASE_DB_URL is not set; set it in the function's environment" };
    return postgres(url, { max: 4, prepare: false, onnotice: () => {} }) as unknown as Sql;
  });
  return pool;
}

function dbError(e: unknown): { code?: string; message: string; hint?: string } {
  const err = e as { code?: string; message?: string; hint?: string };
  return { code: err?.code, message: err?.message ?? String(e), hint: err?.hint };
}

const jsonReplacer = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

// A transaction is opened lazily, by its first statement: a request that runs none (an MCP
// ping, tools/list) costs no round trip, and one that does pays one for the opening.
type Open = { conn: Conn; setup?: string; opened: boolean };

// The role comes from ROLES and the claims travel base64-encoded: the opening's only text from
// outside is [A-Za-z0-9+/=], which cannot end a quoted literal, so the opening needs no
// parameter and costs one round trip instead of the two of a described statement.
function opening(role: string, claims: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(claims)) binary += String.fromCharCode(byte);
  const b64 = btoa(binary);
  if (!/^[A-Za-z0-9+/=]*$/.test(b64)) throw { message: "claims did not encode" };
  return `begin; set local role ${role}; ` +
    `select pg_catalog.set_config('request.jwt.claims', ` +
    `pg_catalog.convert_from(pg_catalog.decode('${b64}', 'base64'), 'UTF8'), true)`;
}

export class Host {
  #txs = new Map<number, Open>();
  #next = 1;

  async begin(role: string, claims: string): Promise<number> {
    if (!ROLES.has(role)) throw { message: `role ${role} may not be used by a function` };
    const setup = opening(role, claims);
    let conn: Conn;
    try {
      conn = await (await db()).reserve();
    } catch (e) {
      throw dbError(e);
    }
    const id = this.#next++;
    this.#txs.set(id, { conn, setup, opened: false });
    return id;
  }

  async query(tx: number, sql: string, params: string): Promise<string> {
    const open = this.#txs.get(tx);
    if (!open) throw { message: "transaction is closed" };
    try {
      if (!open.opened) {
        // Marked first, so a failed opening is still ended with rollback before the session
        // goes back to the pool. Awaited before the statement: it must never run outside the
        // transaction and role.
        open.opened = true;
        await open.conn.unsafe(open.setup!);
      }
      const rows = await open.conn.unsafe(sql, JSON.parse(params));
      return JSON.stringify(rows, jsonReplacer);
    } catch (e) {
      throw dbError(e);
    }
  }

  commit(tx: number): Promise<void> {
    return this.#end(tx, "commit");
  }

  rollback(tx: number): Promise<void> {
    return this.#end(tx, "rollback");
  }

  async #end(tx: number, how: "commit" | "rollback"): Promise<void> {
    const open = this.#txs.get(tx);
    if (!open) return;
    this.#txs.delete(tx);
    try {
      // Never opened: nothing to end. Commit in an aborted transaction (a failed opening or
      // statement) rolls back, so the session always goes back to the pool outside one.
      if (open.opened) await open.conn.unsafe(how);
    } catch (e) {
      throw dbError(e);
    } finally {
      open.conn.release();
    }
  }

  /** Rolls back whatever a failed handler left open. */
  async close(): Promise<void> {
    for (const id of [...this.#txs.keys()]) await this.rollback(id).catch(() => {});
  }

  async fetch(meta: string, body: Uint8Array<ArrayBuffer>) {
    const m = JSON.parse(meta) as {
      method: string;
      url: string;
      headers: [string, string][];
      timeout_ms: number;
    };
    const res = await fetch(m.url, {
      method: m.method,
      headers: m.headers,
      body: m.method === "GET" || m.method === "HEAD" ? undefined : body,
      signal: AbortSignal.timeout(m.timeout_ms),
    });
    return {
      status: res.status,
      headers: JSON.stringify([...res.headers]),
      body: new Uint8Array(await res.arrayBuffer()),
    };
  }

  now(): number {
    return Date.now();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  seed(): number {
    return Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);
  }
}
