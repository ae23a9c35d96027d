// supabase-js (pinned in package.json) against the local Auth API (issue 19): a new person signs
// up, signs in, calls a function and Storage with the session; an Admin promotes and demotes
// them, refreshes follow the database; wrong passwords, reused refresh tokens, logout scopes and
// the admin API answer as Supabase Auth does. Run by tests/it/auth_api.rs, which passes URLs,
// keys and names in the environment and reads the JSON printed on stdout.
//
// Data-API reads and writes (PostgREST's job, not served locally) are made the way PostgREST
// makes them: `set local role` to the token's role and `request.jwt.claims`, so RLS decides.
import { createClient } from "npm:@supabase/supabase-js@2.119.1";
import postgres from "npm:postgres@3.4.9";

const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env("GATEWAY_URL");
const publishable = env("PUBLISHABLE_KEY");
const db = postgres(env("DB_URL"), { max: 2, prepare: false, onnotice: () => {} });
const opts = { auth: { persistSession: false, autoRefreshToken: false } };
const client = () => createClient(url, publishable, opts);

function claimsOf(token: string): Record<string, unknown> {
  const b64 = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)));
}

/** Whether the JWKS the stack publishes verifies the token (ES256, by kid). */
async function verifies(token: string): Promise<boolean> {
  const [h, p, s] = token.split(".");
  const head = JSON.parse(atob(h.replaceAll("-", "+").replaceAll("_", "/")));
  const jwks = await (await fetch(`${url}/auth/v1/.well-known/jwks.json`)).json();
  const jwk = jwks.keys.find((k: { kid: string }) => k.kid === head.kid);
  if (!jwk || head.alg !== "ES256") return false;
  const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const sig = Uint8Array.from(atob(s.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, sig, new TextEncoder().encode(`${h}.${p}`));
}

/** Runs `query` as PostgREST would for this access token; the error's SQLSTATE if refused. */
async function asToken<T>(token: string, query: (tx: postgres.TransactionSql) => Promise<T>): Promise<T | { sqlstate: string }> {
  const claims = claimsOf(token);
  const role = String(claims.role);
  if (!/^[a-z_]+$/.test(role)) throw new Error(`odd role ${role}`);
  try {
    return await db.begin(async (tx) => {
      await tx.unsafe(`set local role ${role}`);
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
      return await query(tx);
    }) as T;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code) return { sqlstate: code };
    throw e;
  }
}

const leadCount = (token: string) =>
  asToken(token, async (tx) => Number((await tx`select count(*) as n from public.leads`)[0].n));

const errorOf = (e: unknown) => {
  const x = e as { status?: number; code?: string; message?: string } | null;
  return x ? { status: x.status ?? null, code: x.code ?? null, message: x.message ?? null } : null;
};

const out: Record<string, unknown> = {};

// --- sign-up ---------------------------------------------------------------------------------
const email = env("NEW_EMAIL");
const password = "correct horse battery staple";
const newcomer = client();
const signUp = await newcomer.auth.signUp({
  email,
  password,
  options: { data: { full_name: "Nia Newcomer" } },
});
const uid = signUp.data.user?.id ?? "";
out.signup = {
  error: errorOf(signUp.error),
  has_session: signUp.data.session !== null,
  role: signUp.data.session ? claimsOf(signUp.data.session.access_token).role : null,
  app_metadata: signUp.data.user?.app_metadata ?? null,
  identities: signUp.data.user?.identities?.map((i) => i.provider) ?? null,
};
const profile = await db`select r.name from public.users u join public.roles r on r.id = u.role_id where u.id = ${uid}::uuid`;
out.profile_role = profile[0]?.name ?? null;
const again = await client().auth.signUp({ email, password });
out.signup_again = errorOf(again.error);

// --- sign-in ---------------------------------------------------------------------------------
const signIn = await newcomer.auth.signInWithPassword({ email, password });
const session1 = signIn.data.session!;
const claims1 = claimsOf(session1.access_token);
out.signin = {
  error: errorOf(signIn.error),
  role: claims1.role,
  claim_names: Object.keys(claims1).sort(),
  aud: claims1.aud,
  amr: claims1.amr,
  aal: claims1.aal,
  is_anonymous: claims1.is_anonymous,
  sub_is_user: claims1.sub === uid,
  verifies: await verifies(session1.access_token),
  session_row: (await db`select count(*)::int as n from auth.sessions where id = ${String(claims1.session_id)}::uuid and user_id = ${uid}::uuid`)[0].n,
  hash_only: (await db`select count(*)::int as n from auth.refresh_tokens where token = ${session1.refresh_token}`)[0].n === 0,
};
const me = await newcomer.auth.getUser();
out.get_user = { id_matches: me.data.user?.id === uid, error: errorOf(me.error) };

// --- Storage and a function with the session ----------------------------------------------
const png = Uint8Array.from(atob(env("PNG_BASE64")), (c) => c.charCodeAt(0));
const input = `${uid}/auth-js/room.png`;
const up = await newcomer.storage.from("renders").upload(input, new Blob([png], { type: "image/png" }), { upsert: true });
// Staff link a client record to the new person (renders need one), and the job row is made as
// the app's backend makes it; the function then loads it as the caller (RLS).
const job = await db.begin(async (tx) => {
  await tx`insert into public.clients (name, email, user_id) values ('auth-js client', ${email}, ${uid}::uuid)`;
  const [r] = await tx`insert into public.render_requests (user_id, input_file_path, model)
    values (${uid}::uuid, ${input}, 'gemini-2.5-flash-image') returning id::text`;
  await tx`insert into public.render_parameters (request_id, style, lighting) values (${r.id}::uuid, 'Japandi', 'soft')`;
  return r.id as string;
}) as string;
const invoked = typeof job === "string"
  ? await newcomer.functions.invoke("process-render-request", { body: { request_id: job } })
  : null;
out.invoke = {
  upload_error: up.error?.message ?? null,
  job: typeof job === "string" ? "created" : job,
  status: (invoked?.data as { status?: string } | null)?.status ?? null,
  error: invoked?.error ? String(invoked.error.message) : null,
  error_body: invoked?.error?.context instanceof Response ? await invoked.error.context.text() : null,
};

// --- promotion, refresh, demotion, the role guard ---------------------------------------------
const admin = client();
const adminIn = await admin.auth.signInWithPassword({ email: env("ADMIN_EMAIL"), password: env("DEMO_PASSWORD") });
const adminToken = adminIn.data.session?.access_token ?? "";
out.admin_signin = { error: errorOf(adminIn.error), role: adminToken ? claimsOf(adminToken).role : null };
const setRole = (name: string) =>
  asToken(adminToken, (tx) =>
    tx`update public.users set role_id = (select id from public.roles where name = ${name}) where id = ${uid}::uuid returning id`
      .then((r) => r.length));
out.promote = await setRole("Sales");
await db`insert into public.leads (client_name, assigned_to) values ('auth-js lead', ${uid}::uuid)`;
const promoted = await newcomer.auth.refreshSession();
const salesToken = promoted.data.session?.access_token ?? "";
out.after_promotion = {
  error: errorOf(promoted.error),
  role: salesToken ? claimsOf(salesToken).role : null,
  leads: await leadCount(salesToken),
};
out.demote = await setRole("Client");
const stillValid = claimsOf(salesToken);
out.after_demotion = {
  token_still_valid: (stillValid.exp as number) > Date.now() / 1000,
  role: stillValid.role,
  leads: await leadCount(salesToken),
};
const demoted = await newcomer.auth.refreshSession();
out.after_demotion_refresh = {
  error: errorOf(demoted.error),
  role: demoted.data.session ? claimsOf(demoted.data.session.access_token).role : null,
};

// --- wrong password and unknown email ----------------------------------------------------------
const raw = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const r = await fetch(`${url}/auth/v1/${path}`, {
    method: "POST",
    headers: { apikey: publishable, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null), error_code: r.headers.get("x-sb-error-code") };
};
const wrong = await client().auth.signInWithPassword({ email, password: "not the password" });
out.wrong_password = errorOf(wrong.error);
out.wrong_password_raw = await raw("token?grant_type=password", { email, password: "not the password" });
out.unknown_email_raw = await raw("token?grant_type=password", { email: `nobody-${uid}@moha.test`, password: "not the password" });

// --- refresh-token reuse after the interval ----------------------------------------------------
const reuser = client();
const r0 = (await reuser.auth.signInWithPassword({ email, password })).data.session!;
const r1 = (await reuser.auth.refreshSession()).data.session!;
const withinInterval = await client().auth.refreshSession({ refresh_token: r0.refresh_token });
out.reuse_within_interval = { error: errorOf(withinInterval.error), same_session: withinInterval.data.session ? claimsOf(withinInterval.data.session.access_token).session_id === claimsOf(r1.access_token).session_id : null };
// The interval (10 s in config.toml) has passed for r0: its revocation is dated 11 s ago.
await db`update auth.refresh_tokens set updated_at = now() - interval '11 seconds'
  where session_id = ${String(claimsOf(r0.access_token).session_id)}::uuid and revoked`;
const reused = await client().auth.refreshSession({ refresh_token: r0.refresh_token });
out.reuse_after_interval = errorOf(reused.error);
const successor = await client().auth.refreshSession({ refresh_token: r1.refresh_token });
out.successor_after_reuse = errorOf(successor.error);
const revokedUser = await fetch(`${url}/auth/v1/user`, {
  headers: { apikey: publishable, authorization: `Bearer ${r1.access_token}` },
});
out.access_token_after_reuse = { status: revokedUser.status, body: await revokedUser.json() };

// --- logout scopes ------------------------------------------------------------------------------
const a = client();
const b = client();
const sa = (await a.auth.signInWithPassword({ email, password })).data.session!;
const sb = (await b.auth.signInWithPassword({ email, password })).data.session!;
const localOut = await a.auth.signOut({ scope: "local" });
out.logout_local = {
  error: errorOf(localOut.error),
  ended: errorOf((await client().auth.refreshSession({ refresh_token: sa.refresh_token })).error),
  other_still_refreshes: (await client().auth.refreshSession({ refresh_token: sb.refresh_token })).error === null,
};
const c = client();
const sc = (await c.auth.signInWithPassword({ email, password })).data.session!;
const globalOut = await c.auth.signOut();
out.logout_global = {
  error: errorOf(globalOut.error),
  sessions_left: (await db`select count(*)::int as n from auth.sessions where user_id = ${uid}::uuid`)[0].n,
  refresh: errorOf((await client().auth.refreshSession({ refresh_token: sc.refresh_token })).error),
};

// --- the admin API --------------------------------------------------------------------------
const asAnon = await client().auth.admin.listUsers();
out.admin_with_publishable_key = errorOf(asAnon.error);
const legacyAnon = createClient(url, env("LEGACY_ANON_KEY"), opts);
out.admin_with_legacy_anon_key = errorOf((await legacyAnon.auth.admin.listUsers()).error);
const withUserToken = createClient(url, publishable, { ...opts, global: { headers: { Authorization: `Bearer ${adminToken}` } } });
out.admin_with_admin_persona_token = errorOf((await withUserToken.auth.admin.listUsers()).error);
const server = createClient(url, env("SECRET_KEY"), opts);
const listed = await server.auth.admin.listUsers({ page: 1, perPage: 2 });
const created = await server.auth.admin.createUser({ email: `made-${uid}@moha.test`, password: "made by admin", email_confirm: true, user_metadata: { full_name: "Made Byadmin" } });
const madeId = created.data.user?.id ?? "";
const got = await server.auth.admin.getUserById(madeId);
const updated = await server.auth.admin.updateUserById(madeId, { user_metadata: { team: "north" } });
const madeSignIn = await client().auth.signInWithPassword({ email: `made-${uid}@moha.test`, password: "made by admin" });
const deleted = await server.auth.admin.deleteUser(madeId);
const gone = await server.auth.admin.getUserById(madeId);
out.admin = {
  list_error: errorOf(listed.error),
  listed: listed.data.users.length,
  total: (listed.data as { total?: number }).total ?? null,
  create_error: errorOf(created.error),
  get_email: got.data.user?.email ?? null,
  update_metadata: updated.data.user?.user_metadata ?? null,
  made_signs_in_as: madeSignIn.data.session ? claimsOf(madeSignIn.data.session.access_token).role : errorOf(madeSignIn.error),
  delete_error: errorOf(deleted.error),
  after_delete: errorOf(gone.error),
};

// --- settings and health ------------------------------------------------------------------------
const settings = await (await fetch(`${url}/auth/v1/settings`, { headers: { apikey: publishable } })).json();
const health = await fetch(`${url}/auth/v1/health`, { headers: { apikey: publishable } });
out.settings = { disable_signup: settings.disable_signup, mailer_autoconfirm: settings.mailer_autoconfirm, email: settings.external?.email };
out.health = health.status;

await db.end();
console.log(JSON.stringify(out));
