// The host side of the Rust edge functions: the database through postgres.js over
// SUPABASE_DB_URL (one transaction per request, as a fixed role with the caller's claims), HTTP
// through fetch, and time. The Rust side sees these through moha_edge's Db, Http and Clock.

type Conn = {
  unsafe: (query: string, params?: unknown[]) => Promise<unknown[]>;
  release: () => void;
};
type Sql = { reserve: () => Promise<Conn> };

// Only these roles may be asked for; the role name is never taken from input (a caller's role
// comes from their verified token and must be one of moha_edge::db::USER_ROLES). service_role
// is for the one statement that needs it (decrypting a social account's token); moha_agent is
// the mcp function's, for a request whose API token it has checked by hash.
const ROLES = new Set([
  "authenticated",
  "moha_admin",
  "moha_designer",
  "moha_client",
  "moha_sales",
  "ai_agent",
  "service_role",
  "moha_agent",
  "metrics_reader",
]);

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

export class Host {
  #txs = new Map<number, Conn>();
  #next = 1;

  async begin(role: string, claims: string): Promise<number> {
    if (!ROLES.has(role)) throw { message: `role ${role} may not be used by a function` };
    let conn: Conn | undefined;
    try {
      conn = await (await db()).reserve();
      const c = conn;
      // Sent together: postgres.js pipelines statements issued before the first answer, so
      // the three cost two round trips (the parameterised one is described first, as every
      // one is with `prepare: false`) instead of four. allSettled, so none is still running
      // at rollback.
      const setup = await Promise.allSettled([
        c.unsafe("begin"),
        c.unsafe(`set local role ${role}`),
        c.unsafe("select pg_catalog.set_config('request.jwt.claims', $1, true)", [claims]),
      ]);
      const failed = setup.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    } catch (e) {
      if (conn) {
        await conn.unsafe("rollback").catch(() => {});
        conn.release();
      }
      throw dbError(e);
    }
    const id = this.#next++;
    this.#txs.set(id, conn);
    return id;
  }

  async query(tx: number, sql: string, params: string): Promise<string> {
    const conn = this.#txs.get(tx);
    if (!conn) throw { message: "transaction is closed" };
    try {
      const rows = await conn.unsafe(sql, JSON.parse(params));
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
    const conn = this.#txs.get(tx);
    if (!conn) return;
    this.#txs.delete(tx);
    try {
      await conn.unsafe(how);
    } catch (e) {
      throw dbError(e);
    } finally {
      conn.release();
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
