// Realtime with the real @supabase/supabase-js (pinned in package.json) against the local
// gateway's Realtime endpoint. Run by tests/it/realtime.rs with SCENARIO and the URLs, keys,
// tokens and ids in the environment; prints one JSON object on stdout, which the Rust test
// asserts. Database writes go through the `postgres` driver as the platform's own code would.
import { createClient, type RealtimeChannel, type SupabaseClient } from "npm:@supabase/supabase-js@2.119.1";
import postgres from "npm:postgres@3.4.9";

const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const URL_ = env("GATEWAY_URL");
const KEY = env("PUBLISHABLE_KEY");
const sql = postgres(env("DB_URL"), { max: 2, onnotice: () => {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

type Got = { event?: string; payload?: any; meta?: any; system?: any; at: number };
type Joined = {
  client: SupabaseClient;
  ch: RealtimeChannel;
  status: string;
  error: string | null;
  got: Got[];
  closed: boolean;
  token: { value: string | null };
};

/** A client as a browser makes it: the publishable key, and the user's token if signed in. */
async function client(token: string | null, vsn?: string) {
  const holder = { value: token };
  const client = createClient(URL_, KEY, {
    ...(token ? { accessToken: async () => holder.value } : {}),
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: vsn ? { vsn } : {},
  } as any);
  if (token) await client.realtime.setAuth();
  return { client, holder };
}

async function join(
  token: string | null,
  topic: string,
  o: { vsn?: string; config?: Record<string, unknown>; presence?: boolean } = {},
): Promise<Joined> {
  const { client: c, holder } = await client(token, o.vsn);
  const got: Got[] = [];
  const ch = c.channel(topic, { config: { private: true, ...(o.config ?? {}) } });
  ch.on("broadcast", { event: "*" }, (m: any) => got.push({ event: m.event, payload: m.payload, meta: m.meta, at: now() }));
  ch.on("system", {}, (m: any) => got.push({ system: m, at: now() }));
  if (o.presence) ch.on("presence", { event: "sync" }, () => {});
  const j: Joined = { client: c, ch, status: "", error: null, got, closed: false, token: holder };
  await new Promise<void>((resolve) => {
    let done = false;
    const timer = setTimeout(() => {
      if (!done) {
        done = true;
        j.status = "NO_ANSWER";
        resolve();
      }
    }, 8000);
    ch.subscribe((status: string, err?: Error) => {
      if (status === "CLOSED") j.closed = true;
      if (done) return;
      done = true;
      clearTimeout(timer);
      j.status = status;
      j.error = err?.message ?? null;
      resolve();
    });
  });
  return j;
}

async function close(...js: Joined[]) {
  for (const j of js) {
    try {
      await j.client.removeAllChannels();
    } catch { /* gone */ }
    j.client.realtime.disconnect();
  }
}

async function waitFor(pred: () => boolean, ms: number) {
  const until = now() + ms;
  while (!pred() && now() < until) await sleep(10);
  return pred();
}

const scenarios: Record<string, () => Promise<unknown>> = {
  // Sales A hears the assignment assign-leads makes; Sales B may not join A's topic; a 1.0.0
  // client gets the same message as JSON; sending on a topic one may only listen to is dropped.
  async leads() {
    const topic = `leads:${env("SALES_A_ID")}`;
    const a = await join(env("SALES_A_TOKEN"), topic);
    const a1 = await join(env("SALES_A_TOKEN"), topic, { vsn: "1.0.0" });
    const b = await join(env("SALES_B_TOKEN"), topic);
    const started = now();
    const res = await fetch(`${URL_}/functions/v1/assign-leads`, {
      method: "POST",
      headers: { authorization: `Bearer ${env("ADMIN_TOKEN")}`, "content-type": "application/json" },
      body: JSON.stringify({ lead_id: env("LEAD_ID") }),
    });
    const answer = await res.json();
    const answered = now();
    const lead = env("LEAD_ID");
    const arrived = (j: Joined) => j.got.find((g) => g.event === "lead_assigned" && g.payload?.id === lead);
    await waitFor(() => !!arrived(a) && !!arrived(a1), 3000);
    // A listener sends on its own leads topic (ack on): refused, so dropped and never delivered.
    const sender = await join(env("SALES_A_TOKEN"), topic, { config: { broadcast: { ack: true, self: true } } });
    const sent = await sender.ch.send({ type: "broadcast", event: "forged", payload: { id: lead, status: "won" } }, { timeout: 1500 });
    await sleep(300);
    const out = {
      status: res.status,
      assigned_to: answer.assigned_to,
      a: { status: a.status, error: a.error, message: arrived(a) ?? null },
      a1: { status: a1.status, message: arrived(a1) ?? null },
      b: { status: b.status, error: b.error },
      delay_after_answer_ms: arrived(a) ? arrived(a)!.at - answered : null,
      call_ms: answered - started,
      forged_send: sent,
      forged_seen: [...a.got, ...sender.got].filter((g) => g.event === "forged").length,
    };
    await close(a, a1, b, sender);
    return out;
  },

  // A client hears their own render's status changes and nothing of another client's.
  async renders() {
    const mine = await join(env("CLIENT_TOKEN"), `user:${env("CLIENT_ID")}`);
    const theirs = await join(env("CLIENT2_TOKEN"), `user:${env("CLIENT2_ID")}`);
    const peek = await join(env("CLIENT2_TOKEN"), `user:${env("CLIENT_ID")}`);
    const reviewer = await join(env("DESIGNER_TOKEN"), "renders:review");
    const clientReview = await join(env("CLIENT_TOKEN"), "renders:review");
    const [{ id }] = await sql`insert into public.render_requests (user_id, input_file_path)
      values (${env("CLIENT_ID")}, ${env("CLIENT_ID") + "/rt/input.png"}) returning id::text`;
    for (const status of ["processing", "succeeded"]) {
      await sql`update public.render_requests set status = ${status}::public.render_status where id = ${id}`;
    }
    await waitFor(() => mine.got.filter((g) => g.event === "render_status").length >= 2, 3000);
    await sleep(300);
    const out = {
      id,
      mine: { status: mine.status, got: mine.got.map((g) => [g.event, g.payload?.id, g.payload?.status]) },
      theirs: { status: theirs.status, got: theirs.got.map((g) => [g.event, g.payload?.id]) },
      peek: { status: peek.status, error: peek.error },
      reviewer: { status: reviewer.status, got: reviewer.got.map((g) => [g.event, g.payload?.id, g.payload?.status]) },
      client_review: { status: clientReview.status, error: clientReview.error },
      payload_keys: Object.keys(mine.got[0]?.payload ?? {}).sort(),
    };
    await close(mine, theirs, peek, reviewer, clientReview);
    return out;
  },

  // The inbox topic hears a message inserted into any month's partition.
  async inbox() {
    const account = env("ACCOUNT_ID");
    const sales = await join(env("SALES_A_TOKEN"), `inbox:${account}`);
    const months = JSON.parse(env("RECEIVED_AT")) as string[];
    const ids: string[] = [];
    for (const at of months) {
      const [{ id, part }] = await sql`insert into public.social_messages (account_id, message_type, content, received_at)
        values (${account}, 'direct_message', ${"hello from " + at}, ${at}) returning id::text, tableoid::regclass::text as part`;
      ids.push(id + " " + part);
    }
    await waitFor(() => sales.got.length >= months.length, 3000);
    // A message of a month without a partition lands in the default one; making the month's
    // partition moves it into a table attached afterwards, which sends nothing again.
    const [{ id: later }] = await sql`insert into public.social_messages (account_id, message_type, content, received_at)
      values (${account}, 'direct_message', 'from the future', now() + interval '8 months') returning id::text`;
    await waitFor(() => sales.got.some((g) => g.payload?.id === later), 3000);
    const [{ moved }] = await sql`select public.create_social_messages_partitions(9) as moved`;
    const [{ part }] = await sql`select tableoid::regclass::text as part from public.social_messages where id = ${later}`;
    await sleep(500);
    const out = {
      later: { moved, part, deliveries: sales.got.filter((g) => g.payload?.id === later).length },
      status: sales.status,
      inserted: ids,
      got: sales.got.map((g) => [g.event, g.payload?.id, g.payload?.received_at]),
      payload_keys: Object.keys(sales.got[0]?.payload ?? {}).sort(),
    };
    await close(sales);
    return out;
  },

  // The publishable key without a session (anon) is refused on every private topic.
  async anon() {
    const topics = JSON.parse(env("TOPICS")) as string[];
    const out: Record<string, unknown> = {};
    for (const t of topics) {
      const j = await join(null, t);
      out[t] = { status: j.status, error: j.error };
      await close(j);
    }
    return out;
  },

  // An expired token is disconnected; a refreshed one keeps the channel; a token already
  // expired, or forged, is refused at join.
  async expiry() {
    const topic = `user:${env("CLIENT_ID")}`;
    const refreshed = await join(env("SHORT_TOKEN_A"), topic);
    const lapsing = await join(env("SHORT_TOKEN_B"), topic);
    const expired = await join(env("EXPIRED_TOKEN"), topic);
    const forged = await join(env("FORGED_TOKEN"), topic);
    refreshed.token.value = env("FRESH_TOKEN");
    await refreshed.client.realtime.setAuth();
    const expiresAt = Number(env("SHORT_EXP")) * 1000;
    while (Date.now() < expiresAt + 1500) await sleep(50);
    await sql`insert into public.notifications (user_id, kind, title) values (${env("CLIENT_ID")}, 'test', 'after expiry')`;
    await waitFor(() => refreshed.got.some((g) => g.event === "notification"), 3000);
    await sleep(200);
    const out = {
      refreshed: { status: refreshed.status, state: refreshed.ch.state, got: refreshed.got.map((g) => g.event ?? g.system?.message) },
      lapsing: { status: lapsing.status, state: lapsing.ch.state, closed: lapsing.closed, got: lapsing.got.map((g) => g.event ?? g.system) },
      expired: { status: expired.status, error: expired.error },
      forged: { status: forged.status, error: forged.error },
    };
    await close(refreshed, lapsing, expired, forged);
    return out;
  },

  // Two signed-in Admins on dashboard:admin see each other; they may broadcast to each other;
  // a Sales user may not join.
  async presence() {
    const topic = "dashboard:admin";
    const one = await join(env("ADMIN_TOKEN"), topic, { presence: true, config: { presence: { key: env("ADMIN_ID") } } });
    const two = await join(env("ADMIN2_TOKEN"), topic, { presence: true, config: { presence: { key: env("ADMIN2_ID") } } });
    const sales = await join(env("SALES_A_TOKEN"), topic, { presence: true });
    const t1 = await one.ch.track({ user_id: env("ADMIN_ID"), name: "Ada" });
    const t2 = await two.ch.track({ user_id: env("ADMIN2_ID"), name: "Abe" });
    const keys = (j: Joined) => Object.keys(j.ch.presenceState()).sort();
    await waitFor(() => keys(one).length === 2 && keys(two).length === 2, 3000);
    const sent = await one.ch.send({ type: "broadcast", event: "note", payload: { text: "hi" } });
    await waitFor(() => two.got.some((g) => g.event === "note"), 2000);
    const before = keys(two);
    const seenByOne = keys(one);
    await one.ch.untrack();
    await waitFor(() => keys(two).length === 1, 2000);
    const out = {
      one: { status: one.status, track: t1, keys: seenByOne },
      two: { status: two.status, track: t2, keys_before: before, keys_after: keys(two), note: two.got.some((g) => g.event === "note") },
      sent,
      sales: { status: sales.status, error: sales.error },
    };
    await close(one, two, sales);
    return out;
  },

  // 1,000 lead updates in one burst: at most two dashboard messages, the last with the final
  // counts (read afterwards with the same SQL the observability metrics use).
  async burst() {
    const admin = await join(env("ADMIN_TOKEN"), "dashboard:admin");
    // Outside the previous message's second.
    await sleep(1200);
    const leads = (await sql`select id::text from public.leads order by id limit 1000`).map((r) => r.id);
    const started = now();
    // One statement per lead, pipelined on one connection in one transaction.
    await sql.begin((tx) =>
      leads.map((id, i) => tx`update public.leads set assigned_to = ${i % 2 === 0 ? null : env("SALES_A_ID")} where id = ${id}`)
    );
    const took = now() - started;
    await sleep(2500);
    const [{ unassigned }] = await sql`select private.realtime_dashboard_counters() ->> 'leads_unassigned' as unassigned`;
    const counters = admin.got.filter((g) => g.event === "counters");
    // The leads assigned in 50 transactions of 20 updates: the first commit in a second sends,
    // the others do not (the counts move all along); the minute's flush job (run here at once)
    // sends the final counts.
    await sleep(1200);
    const before = admin.got.length;
    const started2 = now();
    for (let t = 0; t < 50; t++) {
      await sql.begin((tx) =>
        leads.slice(t * 20, t * 20 + 20).map((id) => tx`update public.leads set assigned_to = ${env("SALES_A_ID")} where id = ${id}`)
      );
    }
    const took2 = now() - started2;
    await sleep(1500);
    const during = admin.got.slice(before).filter((g) => g.event === "counters").length;
    const [{ unassigned: unassigned2 }] = await sql`select private.realtime_dashboard_counters() ->> 'leads_unassigned' as unassigned`;
    await sql`select private.realtime_dashboard_flush()`;
    await sleep(500);
    const after = admin.got.slice(before).filter((g) => g.event === "counters");
    await sql`select private.realtime_dashboard_flush()`;
    await sleep(300);
    const out = {
      status: admin.status,
      updates: leads.length,
      burst_ms: took,
      messages: counters.length,
      last: counters.at(-1)?.payload ?? null,
      final_unassigned: unassigned,
      spread: {
        burst_ms: took2,
        messages: during,
        after_flush: after.length,
        last: after.at(-1)?.payload ?? null,
        final_unassigned: unassigned2,
        second_flush_sent: admin.got.slice(before).filter((g) => g.event === "counters").length - after.length,
      },
    };
    await close(admin);
    return out;
  },
};

const scenario = env("SCENARIO");
const result = await scenarios[scenario]();
console.log(JSON.stringify(result));
await sql.end();
Deno.exit(0);
