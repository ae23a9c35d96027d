// The local Auth API at /auth/v1: the subset of Supabase Auth (GoTrue, github.com/supabase/auth)
// that supabase-js calls, answering as Auth answers (issue 19). Users, identities, sessions and
// refresh tokens live in Auth's own tables of the compat layer (xtask/sql/compat.sql), so seed
// data and triggers on auth.users behave as on hosted.
//
// - POST /signup, POST /token?grant_type=password|refresh_token, GET/PUT /user, POST /logout
//   (scope global|local|others), GET /settings, GET /health, the admin user API under
//   /admin/users (service role only).
// - Passwords: bcrypt at Auth's cost 10 through pgcrypto (`crypt(pw, gen_salt('bf', 10))`).
// - Access tokens carry Auth's claims and pass through the custom access token hook
//   (`[auth.hook.custom_access_token]` of config.toml), called as `supabase_auth_admin` in the
//   transaction that issues the token, with Auth's input; they are signed ES256 with the stack's
//   current signing key, whose public half is the JWKS (see docs/local-stack.md for why the
//   gateway signs).
// - Refresh tokens rotate as Auth's v1 tokens do (auth.refresh_tokens with parent links); a
//   used token still works within `refresh_token_reuse_interval` (it gets a new child), and
//   after it the whole session ends (refresh_token_already_used). Unlike Auth, only each
//   token's SHA-256 is stored.
// - Errors are Auth's: `{code, error_code, msg}` and `x-sb-error-code`, or `{code, message}`
//   for clients that send `X-Supabase-Api-Version: 2024-01-01` (supabase-js does).

import postgres from "npm:postgres@3.4.9";

/** The `[auth]` settings of supabase/config.toml and the signing key (xtask/src/auth_api.rs). */
export type AuthSettings = {
  /** The private JWK that signs access tokens (the stack's current key). */
  signing_key: JsonWebKey & { kid: string };
  /** `iss` of issued tokens. */
  issuer: string;
  jwt_expiry: number;
  refresh_token_rotation: boolean;
  refresh_token_reuse_interval: number;
  enable_signup: boolean;
  email_signup: boolean;
  /** Confirmations off: sign-ups are confirmed at once and get a session. */
  email_autoconfirm: boolean;
  anonymous_sign_ins: boolean;
  site_url: string;
  /** `"schema"."function"` of the custom access token hook, or null when it is off. */
  access_token_hook: string | null;
  /** The hook's URI, as Auth names it in its error. */
  access_token_hook_uri: string | null;
  minimum_password_length: number;
};

/** What the gateway lends the module: its checks of tokens and API keys (moha_edge::gateway). */
export type AuthDeps = {
  dbUrl: string;
  settings: AuthSettings;
  cors: Record<string, string>;
  /** Who the bearer token or API key is (`auth.storage` of the wasm checks). */
  caller: (req: Request) =>
    | { ok: true; role?: string; claims?: Record<string, unknown> }
    | { ok: false; status: number; error: string; message: string };
  /** Whether the request carries a valid project API key or token (as Kong requires). */
  apiKey: (req: Request) => { ok: true } | { ok: false; status: number; message: string };
};

const AUD = "authenticated";
/** Auth's `GOTRUE_JWT_ADMIN_ROLES` default. */
const ADMIN_ROLES = new Set(["service_role", "supabase_admin"]);
/** bcrypt reads at most 72 bytes; Auth refuses longer passwords rather than cut them. */
const MAX_PASSWORD_BYTES = 72;
/** Request bodies Auth's handlers read are small JSON. */
const MAX_BODY_BYTES = 1 << 20;
const INVALID_LOGIN = "Invalid login credentials";
const encoder = new TextEncoder();

class AuthError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Auth's OAuth-style error (`{error, error_description}`), used for a missing refresh token. */
class OAuthError extends Error {
  constructor(readonly error: string, readonly description: string) {
    super(description);
  }
}

type Row = Record<string, unknown>;
type Tx = postgres.TransactionSql;

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function sha256Hex(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Auth's v1 refresh token: 12 random alphanumerics (crypto.SecureAlphanumeric(12)). */
function newRefreshToken(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const out: string[] = [];
  // Rejection sampling: 248 is the largest multiple of 62 below 256, so every letter is as likely.
  while (out.length < 12) {
    for (const b of crypto.getRandomValues(new Uint8Array(16))) {
      if (b < 248 && out.length < 12) out.push(alphabet[b % 62]);
    }
  }
  return out.join("");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A JSON body field of the given type, or Auth's error for a body that does not fit its struct. */
function field<T>(body: Record<string, unknown>, name: string, type: "string" | "object" | "boolean"): T | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  const ok = type === "object" ? isObject(v) : typeof v === type;
  if (!ok) {
    throw new AuthError(400, "bad_json", `Could not parse request body as JSON: field ${name} must be ${type === "object" ? "an object" : `a ${type}`}`);
  }
  return v as T;
}

/** Auth's email check (a practical form of RFC 5322's addr-spec, at most 255 characters). */
function validateEmail(email: string): string {
  const e = email.trim();
  if (e.length > 255 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) {
    throw new AuthError(400, "validation_failed", "Unable to validate email address: invalid format");
  }
  return e.toLowerCase();
}

export async function authApi(deps: AuthDeps) {
  const s = deps.settings;
  // supabase-js's Auth client also sends X-Supabase-Api-Version, and reads these answers' headers.
  const cors = {
    ...deps.cors,
    "access-control-allow-headers": `${deps.cors["access-control-allow-headers"]}, x-supabase-api-version`,
    "access-control-expose-headers": "x-sb-error-code, x-supabase-api-version, x-total-count, link",
  };
  const sql = postgres(deps.dbUrl, { max: 4, prepare: false, onnotice: () => {} });
  const signingKey = await crypto.subtle.importKey(
    "jwk",
    { kty: s.signing_key.kty, crv: s.signing_key.crv, x: s.signing_key.x, y: s.signing_key.y, d: s.signing_key.d, ext: true },
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  // A bcrypt hash at cost 10 that no password matches: an unknown email costs the same work as
  // a wrong password, so timing does not tell which emails exist.
  const [{ hash: decoyHash }] = await sql<{ hash: string }[]>`select extensions.crypt(
      encode(extensions.gen_random_bytes(16), 'hex'), extensions.gen_salt('bf', 10)) as hash`;

  async function sign(claims: Record<string, unknown>): Promise<string> {
    const head = b64url(encoder.encode(JSON.stringify({ alg: "ES256", kid: s.signing_key.kid, typ: "JWT" })));
    const body = b64url(encoder.encode(JSON.stringify(claims)));
    // WebCrypto's ECDSA signature is r || s, the form JWS uses (RFC 7518 §3.4).
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signingKey, encoder.encode(`${head}.${body}`));
    return `${head}.${body}.${b64url(new Uint8Array(sig))}`;
  }

  // ------------------------------------------------------------------------------ responses

  function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
    return Response.json(body, { status, headers: { ...cors, ...headers } });
  }

  function errorResponse(req: Request, e: AuthError): Response {
    const v2024 = (req.headers.get("x-supabase-api-version") ?? "") >= "2024-01-01";
    if (v2024) {
      return json({ code: e.errorCode, message: e.message, ...e.extra }, e.status, {
        "x-supabase-api-version": "2024-01-01",
      });
    }
    return json({ code: e.status, error_code: e.errorCode, msg: e.message, ...e.extra }, e.status, {
      "x-sb-error-code": e.errorCode,
    });
  }

  // ---------------------------------------------------------------------------------- users

  const USER_COLUMNS = sql`u.id, u.aud, u.role, u.email, u.phone, u.email_confirmed_at, u.phone_confirmed_at,
    u.confirmed_at, u.confirmation_sent_at, u.recovery_sent_at, u.email_change, u.email_change_sent_at,
    u.last_sign_in_at, u.raw_app_meta_data, u.raw_user_meta_data, u.created_at, u.updated_at,
    u.banned_until, u.deleted_at, u.is_anonymous, u.is_sso_user`;

  async function loadUser(tx: Tx | typeof sql, id: string): Promise<Row | null> {
    const rows = await tx`select ${USER_COLUMNS} from auth.users u where u.id = ${id}::uuid`;
    return rows[0] ?? null;
  }

  /** A user as Auth's models.User marshals it. */
  async function userJson(tx: Tx | typeof sql, u: Row): Promise<Row> {
    const identities = await tx`select i.id, i.provider_id, i.user_id, i.identity_data, i.provider,
        i.last_sign_in_at, i.created_at, i.updated_at, i.email
      from auth.identities i where i.user_id = ${u.id as string}::uuid order by i.created_at`;
    const out: Row = {
      id: u.id,
      aud: u.aud ?? "",
      role: u.role ?? "",
      email: u.email ?? "",
    };
    if (u.email_confirmed_at) out.email_confirmed_at = u.email_confirmed_at;
    out.phone = u.phone ?? "";
    if (u.phone_confirmed_at) out.phone_confirmed_at = u.phone_confirmed_at;
    if (u.confirmation_sent_at) out.confirmation_sent_at = u.confirmation_sent_at;
    if (u.confirmed_at) out.confirmed_at = u.confirmed_at;
    if (u.recovery_sent_at) out.recovery_sent_at = u.recovery_sent_at;
    if (u.email_change) out.new_email = u.email_change;
    if (u.last_sign_in_at) out.last_sign_in_at = u.last_sign_in_at;
    out.app_metadata = u.raw_app_meta_data ?? {};
    out.user_metadata = u.raw_user_meta_data ?? {};
    out.identities = identities.map((i) => ({
      identity_id: i.id,
      id: i.provider_id,
      user_id: i.user_id,
      identity_data: i.identity_data,
      provider: i.provider,
      last_sign_in_at: i.last_sign_in_at,
      created_at: i.created_at,
      updated_at: i.updated_at,
      email: i.email,
    }));
    out.created_at = u.created_at;
    out.updated_at = u.updated_at;
    if (u.banned_until) out.banned_until = u.banned_until;
    if (u.deleted_at) out.deleted_at = u.deleted_at;
    out.is_anonymous = u.is_anonymous ?? false;
    return out;
  }

  function checkPassword(pw: string): void {
    if (encoder.encode(pw).length > MAX_PASSWORD_BYTES) {
      throw new AuthError(400, "validation_failed", `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`);
    }
    if ([...pw].length < s.minimum_password_length) {
      const message = `Password should be at least ${s.minimum_password_length} characters.`;
      throw new AuthError(422, "weak_password", message, { weak_password: { reasons: ["length"] } });
    }
  }

  async function emailTaken(tx: Tx | typeof sql, email: string, except?: string): Promise<boolean> {
    const rows = await tx`select 1 from auth.users u
      where lower(u.email) = ${email} and u.aud = ${AUD} and u.is_sso_user = false
        and (${except ?? null}::uuid is null or u.id <> ${except ?? null}::uuid)`;
    return rows.length > 0;
  }

  /** A new email user with their email identity, as Auth's signup and admin create make them. */
  async function createUser(
    tx: Tx,
    p: {
      email: string;
      password: string | null;
      confirmed: boolean;
      userMetadata: Record<string, unknown>;
      appMetadata?: Record<string, unknown>;
      role?: string;
      banDuration?: string;
    },
  ): Promise<Row> {
    const id = crypto.randomUUID();
    // Auth sets provider and providers itself; an admin's app_metadata adds to them.
    const app = { ...(p.appMetadata ?? {}), provider: "email", providers: ["email"] };
    await tx`insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
        email_confirmed_at, confirmation_token, recovery_token, email_change_token_new, email_change,
        raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_anonymous)
      values ('00000000-0000-0000-0000-000000000000', ${id}::uuid, ${AUD}, ${p.role ?? AUD}, ${p.email},
        case when ${p.password}::text is null then ''
             else extensions.crypt(${p.password}::text, extensions.gen_salt('bf', 10)) end,
        case when ${p.confirmed} then now() end, '', '', '', '',
        ${tx.json(app as postgres.JSONValue)}, ${tx.json(p.userMetadata as postgres.JSONValue)}, now(), now(), false)`;
    await tx`insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
      values (${id}, ${id}::uuid, ${tx.json({ sub: id, email: p.email, email_verified: false, phone_verified: false })},
        'email', now(), now(), now())`;
    return (await loadUser(tx, id))!;
  }

  // ------------------------------------------------------------------------- access tokens

  /** The claims Auth puts in an access token (tokens.GenerateAccessToken), before the hook. */
  async function baseClaims(tx: Tx, user: Row, sessionId: string): Promise<Record<string, unknown>> {
    const amr = await tx`select authentication_method as method, extract(epoch from updated_at)::bigint as ts
      from auth.mfa_amr_claims where session_id = ${sessionId}::uuid order by updated_at desc`;
    const iat = Math.floor(Date.now() / 1000);
    return {
      iss: s.issuer,
      sub: user.id,
      aud: user.aud ?? AUD,
      exp: iat + s.jwt_expiry,
      iat,
      email: user.email ?? "",
      phone: user.phone ?? "",
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: user.role ?? "",
      aal: "aal1",
      amr: amr.map((a) => ({ method: a.method, timestamp: Number(a.ts) })),
      session_id: sessionId,
      is_anonymous: user.is_anonymous ?? false,
    };
  }

  /**
   * Runs the custom access token hook as Auth does (hookspgfunc): in the issuing transaction, as
   * `supabase_auth_admin`, under a 2 s statement timeout; its answer is checked as Auth checks it.
   */
  async function runHook(tx: Tx, userId: string, claims: Record<string, unknown>, method: string) {
    if (!s.access_token_hook) return claims;
    const input = {
      metadata: { uuid: crypto.randomUUID(), time: new Date().toISOString(), name: "customize-access-token" },
      user_id: userId,
      claims,
      authentication_method: method,
    };
    let output: unknown;
    try {
      await tx`savepoint access_token_hook`;
      await tx.unsafe("set local role supabase_auth_admin");
      await tx.unsafe("set local statement_timeout to 2000");
      // The name comes from config.toml, checked to be two plain identifiers (auth_api.rs).
      // postgres.js serializes a jsonb parameter itself: the object goes as it is.
      const rows = await tx.unsafe(`select ${s.access_token_hook}($1::jsonb) as out`, [input as unknown as postgres.JSONValue]);
      output = rows[0]?.out;
      await tx.unsafe("reset statement_timeout");
      await tx.unsafe("reset role");
      await tx`release savepoint access_token_hook`;
    } catch (e) {
      // The hook's own SQL error stays in the log, as Auth logs it; the caller sees Auth's answer.
      console.error(`auth: hook errored out: ${(e as Error)?.message ?? e}`);
      throw new AuthError(500, "unexpected_failure", `Error running hook URI: ${s.access_token_hook_uri}`);
    }
    if (isObject(output) && isObject(output.error) && typeof output.error.message === "string" && output.error.message !== "") {
      const code = typeof output.error.http_code === "number" ? output.error.http_code : 500;
      throw new AuthError(code, code >= 500 ? "unexpected_failure" : "unknown", output.error.message);
    }
    if (!isObject(output) || !("claims" in output)) {
      throw new AuthError(500, "unexpected_failure", "output claims field is missing");
    }
    if (!isObject(output.claims)) {
      throw new AuthError(500, "unexpected_failure", "Error unmarshaling JSON output.");
    }
    const problems = claimProblems(output.claims);
    if (problems.length > 0) {
      throw new AuthError(
        500,
        "unexpected_failure",
        `output claims do not conform to the expected schema: \n${problems.map((p) => `- ${p}\n`).join("")}`,
      );
    }
    return output.claims;
  }

  /** Auth's MinimumViableTokenSchema (internal/tokens/service.go). */
  function claimProblems(c: Record<string, unknown>): string[] {
    const out: string[] = [];
    for (const r of ["aud", "exp", "iat", "sub", "email", "phone", "role", "aal", "session_id", "is_anonymous"]) {
      if (!(r in c)) out.push(`(root): ${r} is required`);
    }
    const types: Record<string, (v: unknown) => boolean> = {
      aud: (v) => typeof v === "string" || Array.isArray(v),
      exp: Number.isInteger,
      iat: Number.isInteger,
      nbf: Number.isInteger,
      jti: (v) => typeof v === "string",
      iss: (v) => typeof v === "string",
      sub: (v) => typeof v === "string",
      email: (v) => typeof v === "string",
      phone: (v) => typeof v === "string",
      app_metadata: isObject,
      user_metadata: isObject,
      role: (v) => typeof v === "string",
      aal: (v) => typeof v === "string",
      amr: (v) => Array.isArray(v) && v.every((x) => typeof x === "string" || isObject(x)),
      session_id: (v) => typeof v === "string",
      client_id: (v) => typeof v === "string",
    };
    for (const [k, ok] of Object.entries(types)) {
      if (k in c && !ok(c[k])) out.push(`${k}: Invalid type.`);
    }
    return out;
  }

  async function accessToken(tx: Tx, user: Row, sessionId: string, method: string) {
    const claims = await runHook(tx, user.id as string, await baseClaims(tx, user, sessionId), method);
    const exp = claims.exp as number;
    return { token: await sign(claims), exp };
  }

  /** A new session with its first refresh token and access token (IssueRefreshToken). */
  async function issueSession(tx: Tx, user: Row, req: Request, method: string) {
    const sessionId = crypto.randomUUID();
    await tx`insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent)
      values (${sessionId}::uuid, ${user.id as string}::uuid, now(), now(), 'aal1', ${req.headers.get("user-agent")})`;
    await tx`insert into auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method)
      values (${crypto.randomUUID()}::uuid, ${sessionId}::uuid, now(), now(), ${method})`;
    const refresh = newRefreshToken();
    await tx`insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, session_id)
      values ('00000000-0000-0000-0000-000000000000', ${await sha256Hex(refresh)}, ${user.id as string}, false,
        now(), now(), ${sessionId}::uuid)`;
    await tx`update auth.users set last_sign_in_at = now(), updated_at = now() where id = ${user.id as string}::uuid`;
    await tx`update auth.identities set last_sign_in_at = now(), updated_at = now()
      where user_id = ${user.id as string}::uuid and provider = 'email'`;
    const fresh = (await loadUser(tx, user.id as string))!;
    const { token, exp } = await accessToken(tx, fresh, sessionId, method);
    return tokenResponse(tx, token, exp, refresh, fresh);
  }

  async function tokenResponse(tx: Tx, token: string, exp: number, refresh: string, user: Row) {
    return {
      access_token: token,
      token_type: "bearer",
      expires_in: exp - Math.floor(Date.now() / 1000),
      expires_at: exp,
      refresh_token: refresh,
      user: await userJson(tx, user),
    };
  }

  // ---------------------------------------------------------------------------- endpoints

  async function readJson(req: Request): Promise<Record<string, unknown>> {
    const declared = Number(req.headers.get("content-length") ?? NaN);
    if (declared > MAX_BODY_BYTES) {
      req.body?.cancel().catch(() => {});
      throw new AuthError(413, "request_entity_too_large", "Request body too large");
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (req.body) {
      for await (const chunk of req.body) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) throw new AuthError(413, "request_entity_too_large", "Request body too large");
        chunks.push(chunk);
      }
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    const text = new TextDecoder().decode(bytes);
    if (text.trim() === "") return {};
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      // A deeply nested body fails here too (RangeError), never further in.
      throw new AuthError(400, "bad_json", `Could not parse request body as JSON: ${(e as Error).name}`);
    }
    if (!isObject(body)) {
      throw new AuthError(400, "bad_json", "Could not parse request body as JSON: the body is not an object");
    }
    return body;
  }

  async function signup(req: Request): Promise<Response> {
    const body = await readJson(req);
    const emailIn = field<string>(body, "email", "string") ?? "";
    const phone = field<string>(body, "phone", "string") ?? "";
    // Neither an email nor a phone is an anonymous sign-in (Auth's /signup route decides this
    // before sign-ups are checked); the local stack serves none.
    if (emailIn === "" && phone === "") {
      if (!s.anonymous_sign_ins) throw new AuthError(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled");
      throw new AuthError(422, "feature_disabled", "anonymous sign-ins are not served by the local stack (docs/local-stack.md)");
    }
    if (!s.enable_signup) throw new AuthError(422, "signup_disabled", "Signups not allowed for this instance");
    const password = field<string>(body, "password", "string");
    const data = field<Record<string, unknown>>(body, "data", "object") ?? {};
    if (emailIn !== "" && phone !== "") {
      throw new AuthError(400, "validation_failed", "Only an email address or phone number should be provided on signup.");
    }
    if (phone !== "") throw new AuthError(400, "phone_provider_disabled", "Phone signups are disabled");
    if (!s.email_signup) throw new AuthError(400, "email_provider_disabled", "Email signups are disabled");
    if (password === undefined || password === "") {
      throw new AuthError(400, "validation_failed", "Signup requires a valid password");
    }
    checkPassword(password);
    const email = validateEmail(emailIn);
    const out = await sql.begin(async (tx) => {
      // One sign-up per address at a time: the check and the insert do not race.
      await tx`select pg_advisory_xact_lock(hashtext(${"auth.signup:" + email}))`;
      if (await emailTaken(tx, email)) {
        throw new AuthError(422, "user_already_exists", "User already registered");
      }
      const user = await createUser(tx, { email, password, confirmed: s.email_autoconfirm, userMetadata: data });
      if (!s.email_autoconfirm) return await userJson(tx, user);
      return await issueSession(tx, user, req, "password");
    });
    return json(out);
  }

  async function passwordGrant(req: Request): Promise<Response> {
    const body = await readJson(req);
    const emailIn = field<string>(body, "email", "string") ?? "";
    const phone = field<string>(body, "phone", "string") ?? "";
    const password = field<string>(body, "password", "string") ?? "";
    if (emailIn !== "" && phone !== "") {
      throw new AuthError(400, "validation_failed", "Only an email address or phone number should be provided on login.");
    }
    if (phone !== "") throw new AuthError(422, "phone_provider_disabled", "Phone logins are disabled");
    if (emailIn === "") throw new AuthError(400, "validation_failed", "missing email or phone");
    const email = emailIn.trim().toLowerCase();
    const out = await sql.begin(async (tx) => {
      const rows = await tx`select ${USER_COLUMNS},
          coalesce(u.encrypted_password, '') <> '' as has_password,
          -- crypt() refuses an empty hash, so an account without a password is never tried.
          case when coalesce(u.encrypted_password, '') = '' then false
               else u.encrypted_password = extensions.crypt(${password}, u.encrypted_password) end as matches
        from auth.users u
        where lower(u.email) = ${email} and u.aud = ${AUD} and u.is_sso_user = false
          and u.deleted_at is null
        limit 1`;
      const user = rows[0];
      if (!user || !user.has_password) {
        // As much bcrypt work as a real check, then Auth's one answer for both cases.
        await tx`select extensions.crypt(${password}, ${decoyHash})`;
        throw new AuthError(400, "invalid_credentials", INVALID_LOGIN);
      }
      if (user.banned_until && new Date(user.banned_until as string) > new Date()) {
        throw new AuthError(400, "user_banned", "User is banned");
      }
      if (!user.matches) throw new AuthError(400, "invalid_credentials", INVALID_LOGIN);
      if (!user.email_confirmed_at) throw new AuthError(400, "email_not_confirmed", "Email not confirmed");
      return await issueSession(tx, user, req, "password");
    });
    return json(out);
  }

  async function refreshGrant(req: Request): Promise<Response> {
    const body = await readJson(req);
    const presented = field<string>(body, "refresh_token", "string") ?? "";
    if (presented === "") throw new OAuthError("invalid_request", "refresh_token required");
    const hash = await sha256Hex(presented);
    const out = await sql.begin(async (tx) => {
      // The token row and its session are locked: concurrent refreshes of one token take turns.
      const rows = await tx`select t.id, t.token, t.revoked, t.session_id, t.parent,
          extract(epoch from now() - t.updated_at) as age_s, s.not_after, s.id as sid, t.user_id
        from auth.refresh_tokens t left join auth.sessions s on s.id = t.session_id
        where t.token = ${hash} for update of t`;
      const token = rows[0];
      if (!token) throw new AuthError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
      const user = await loadUser(tx, token.user_id as string);
      if (!user) throw new AuthError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
      if (user.banned_until && new Date(user.banned_until as string) > new Date()) {
        throw new AuthError(400, "user_banned", "Invalid Refresh Token: User Banned");
      }
      if (!token.sid) {
        await tx`delete from auth.refresh_tokens where id = ${token.id as string}`;
        return new AuthError(400, "session_not_found", "Invalid Refresh Token: No Valid Session Found");
      }
      if (token.not_after && new Date(token.not_after as string) < new Date()) {
        throw new AuthError(400, "session_expired", "Invalid Refresh Token: Session Expired");
      }
      const sessionId = token.sid as string;
      if (token.revoked && Number(token.age_s) > s.refresh_token_reuse_interval) {
        // Reuse after the interval: the token was stolen or replayed, so the session ends (as
        // Auth's v2 tokens do with LogoutSession; its v1 revokes the session's tokens), committed
        // although the request fails. Its access tokens then fail at /user with session_not_found.
        if (s.refresh_token_rotation) {
          await tx`delete from auth.sessions where id = ${sessionId}::uuid`;
        }
        return new AuthError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used");
      }
      // Within the interval a revoked token (a client that lost the answer, two tabs refreshing
      // at once) gets a new child of its own, as Auth's GrantRefreshTokenSwap does. Auth hands
      // back the existing child instead, which needs the token in plain text; only hashes are
      // kept here.
      await tx`update auth.refresh_tokens set revoked = true, updated_at = now()
        where id = ${token.id as string} and revoked = false`;
      const issued = newRefreshToken();
      await tx`insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
        values ('00000000-0000-0000-0000-000000000000', ${await sha256Hex(issued)}, ${user.id as string}, false,
          now(), now(), ${token.token as string}, ${sessionId}::uuid)`;
      const { token: access, exp } = await accessToken(tx, user, sessionId, "token_refresh");
      await tx`update auth.sessions set refreshed_at = now() at time zone 'utc', updated_at = now(),
          user_agent = ${req.headers.get("user-agent")} where id = ${sessionId}::uuid`;
      return await tokenResponse(tx, access, exp, issued, user);
    });
    // A failure that must stay committed (the revoked family) comes back as a value.
    if (out instanceof AuthError) throw out;
    return json(out);
  }

  /** The signed-in caller (requireAuthentication + maybeLoadUserOrSession). */
  async function signedIn(req: Request): Promise<{ user: Row; sessionId: string | null; claims: Record<string, unknown> }> {
    const claims = bearerClaims(req);
    const sub = claims.sub;
    if (typeof sub !== "string" || sub === "") throw new AuthError(403, "bad_jwt", "invalid claim: missing sub claim");
    if (!/^[0-9a-f-]{36}$/i.test(sub)) throw new AuthError(400, "bad_jwt", "invalid claim: sub claim must be a UUID");
    const user = await loadUser(sql, sub);
    if (!user) throw new AuthError(403, "user_not_found", "User from sub claim in JWT does not exist");
    const sid = typeof claims.session_id === "string" && claims.session_id !== "" ? claims.session_id : null;
    if (sid !== null) {
      const rows = await sql`select id from auth.sessions where id = ${sid}::uuid and user_id = ${sub}::uuid`
        .catch(() => []);
      if (rows.length === 0) {
        throw new AuthError(403, "session_not_found", "Session from session_id claim in JWT does not exist");
      }
    }
    return { user, sessionId: sid, claims };
  }

  /** The bearer token's verified claims (any API key alone is not a user). */
  function bearerClaims(req: Request): Record<string, unknown> {
    const authz = req.headers.get("authorization") ?? "";
    if (!/^bearer\s+\S/i.test(authz)) {
      throw new AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token");
    }
    const d = deps.caller(req);
    if (!d.ok) {
      throw new AuthError(d.status === 401 ? 401 : 403, "bad_jwt", `invalid JWT: unable to parse or verify signature, ${d.message}`);
    }
    return d.claims ?? { role: d.role };
  }

  async function getUser(req: Request): Promise<Response> {
    const { user, claims } = await signedIn(req);
    const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
    if (aud !== AUD) throw new AuthError(400, "validation_failed", "Token audience doesn't match request audience");
    return json(await userJson(sql, user));
  }

  async function updateUser(req: Request): Promise<Response> {
    const body = await readJson(req);
    const { user, sessionId } = await signedIn(req);
    const email = field<string>(body, "email", "string") ?? "";
    const phone = field<string>(body, "phone", "string") ?? "";
    const password = field<string>(body, "password", "string");
    const data = field<Record<string, unknown>>(body, "data", "object");
    const appData = field<Record<string, unknown>>(body, "app_metadata", "object");
    if (password !== undefined) checkPassword(password);
    if (appData !== undefined) {
      throw new AuthError(403, "not_admin", "Updating app_metadata requires admin privileges");
    }
    if ((email !== "" && validateEmail(email) !== user.email) || (phone !== "" && phone !== user.phone)) {
      // Auth mails a confirmation link for a new address; the local stack sends no mail.
      throw new AuthError(422, "validation_failed", "changing the email or phone needs a confirmation message, which the local stack does not send; an admin can change it (PUT /admin/users/{id})");
    }
    const out = await sql.begin(async (tx) => {
      if (password !== undefined && password !== "") {
        const [{ same }] = await tx`select case when coalesce(encrypted_password, '') = '' then false
            else encrypted_password = extensions.crypt(${password}, encrypted_password) end as same
          from auth.users where id = ${user.id as string}::uuid`;
        if (same) throw new AuthError(422, "same_password", "New password should be different from the old password.");
        await tx`update auth.users set encrypted_password = extensions.crypt(${password}, extensions.gen_salt('bf', 10)),
            updated_at = now() where id = ${user.id as string}::uuid`;
        // A new password ends every other session, as Auth's LogoutAllExceptMe.
        await tx`delete from auth.sessions where user_id = ${user.id as string}::uuid
          and (${sessionId}::uuid is null or id <> ${sessionId}::uuid)`;
      }
      if (data !== undefined) {
        await tx`update auth.users set raw_user_meta_data = ${mergeSql(tx, data)}, updated_at = now()
          where id = ${user.id as string}::uuid`;
      }
      return await userJson(tx, (await loadUser(tx, user.id as string))!);
    });
    return json(out);
  }

  /** Auth's UpdateUserMetaData: keys merge into the stored object, a null value removes its key. */
  function mergeSql(tx: Tx, patch: Record<string, unknown>) {
    const removed = Object.keys(patch).filter((k) => patch[k] === null);
    const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null));
    return tx`(coalesce(raw_user_meta_data, '{}'::jsonb) || ${tx.json(set as postgres.JSONValue)}) - ${removed}::text[]`;
  }

  async function logout(req: Request, url: URL): Promise<Response> {
    const scope = url.searchParams.get("scope") ?? "";
    if (!["", "global", "local", "others"].includes(scope)) {
      throw new AuthError(400, "validation_failed", `Unsupported logout scope "${scope}"`);
    }
    const { user, sessionId } = await signedIn(req);
    const uid = user.id as string;
    if (sessionId !== null && scope === "local") {
      await sql`delete from auth.sessions where id = ${sessionId}::uuid`;
    } else if (sessionId !== null && scope === "others") {
      await sql`delete from auth.sessions where user_id = ${uid}::uuid and id <> ${sessionId}::uuid`;
    } else {
      await sql`delete from auth.sessions where user_id = ${uid}::uuid`;
    }
    return new Response(null, { status: 204, headers: cors });
  }

  // ------------------------------------------------------------------------------- admin

  function requireAdmin(req: Request): void {
    const claims = bearerClaims(req);
    if (!ADMIN_ROLES.has(String(claims.role ?? ""))) throw new AuthError(403, "not_admin", "User not allowed");
  }

  function uuidParam(id: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
      throw new AuthError(404, "validation_failed", "user_id must be an UUID");
    }
    return id.toLowerCase();
  }

  /** `ban_duration` as Auth reads it: "none" or a Go duration such as "24h", "1h30m". */
  function banUntil(v: string): Date | null {
    if (v === "none") return null;
    const units: Record<string, number> = { h: 3600e3, m: 60e3, s: 1e3, ms: 1 };
    const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== v) {
      throw new AuthError(400, "validation_failed", `invalid format for ban duration: time: invalid duration "${v}"`);
    }
    return new Date(Date.now() + parts.reduce((t, p) => t + Number(p[1]) * units[p[2]], 0));
  }

  async function adminList(url: URL): Promise<Response> {
    const page = Math.max(1, Number.parseInt(url.searchParams.get("page") ?? "1", 10) || 1);
    const perPage = Math.min(1000, Math.max(1, Number.parseInt(url.searchParams.get("per_page") ?? "50", 10) || 50));
    const [{ n }] = await sql`select count(*)::int as n from auth.users where aud = ${AUD}`;
    const rows = await sql`select ${USER_COLUMNS} from auth.users u where u.aud = ${AUD}
      order by u.created_at desc, u.id limit ${perPage} offset ${(page - 1) * perPage}`;
    const users = [];
    for (const r of rows) users.push(await userJson(sql, r));
    const last = Math.max(1, Math.ceil(Number(n) / perPage));
    const base = `${s.issuer}/admin/users?per_page=${perPage}`;
    const links = [`<${base}&page=${last}>; rel="last"`];
    if (page < last) links.unshift(`<${base}&page=${page + 1}>; rel="next"`);
    return json({ users, aud: AUD }, 200, { "x-total-count": String(n), link: links.join(", ") });
  }

  async function adminCreate(req: Request): Promise<Response> {
    const body = await readJson(req);
    const emailIn = field<string>(body, "email", "string") ?? "";
    const phone = field<string>(body, "phone", "string") ?? "";
    const password = field<string>(body, "password", "string");
    const confirm = field<boolean>(body, "email_confirm", "boolean") ?? false;
    const userMetadata = field<Record<string, unknown>>(body, "user_metadata", "object") ??
      field<Record<string, unknown>>(body, "data", "object") ?? {};
    const appMetadata = field<Record<string, unknown>>(body, "app_metadata", "object");
    const role = field<string>(body, "role", "string");
    const ban = field<string>(body, "ban_duration", "string");
    if (phone !== "") throw new AuthError(400, "phone_provider_disabled", "Phone signups are disabled");
    if (emailIn === "") throw new AuthError(400, "validation_failed", "Cannot create a user without either an email or phone");
    const email = validateEmail(emailIn);
    if (password !== undefined) checkPassword(password);
    const until = ban !== undefined ? banUntil(ban) : null;
    const out = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext(${"auth.signup:" + email}))`;
      if (await emailTaken(tx, email)) {
        throw new AuthError(422, "email_exists", "A user with this email address has already been registered");
      }
      const user = await createUser(tx, {
        email,
        password: password ?? null,
        confirmed: confirm,
        userMetadata,
        appMetadata,
        role,
      });
      if (until) await tx`update auth.users set banned_until = ${until} where id = ${user.id as string}::uuid`;
      return await userJson(tx, (await loadUser(tx, user.id as string))!);
    });
    return json(out);
  }

  async function adminGet(id: string): Promise<Response> {
    const user = await loadUser(sql, uuidParam(id));
    if (!user) throw new AuthError(404, "user_not_found", "User not found");
    return json(await userJson(sql, user));
  }

  async function adminUpdate(req: Request, id: string): Promise<Response> {
    const uid = uuidParam(id);
    const body = await readJson(req);
    const emailIn = field<string>(body, "email", "string");
    const password = field<string>(body, "password", "string");
    const confirm = field<boolean>(body, "email_confirm", "boolean");
    const userMetadata = field<Record<string, unknown>>(body, "user_metadata", "object");
    const appMetadata = field<Record<string, unknown>>(body, "app_metadata", "object");
    const role = field<string>(body, "role", "string");
    const ban = field<string>(body, "ban_duration", "string");
    if (password !== undefined) checkPassword(password);
    const out = await sql.begin(async (tx) => {
      const user = await loadUser(tx, uid);
      if (!user) throw new AuthError(404, "user_not_found", "User not found");
      if (emailIn !== undefined && emailIn !== "") {
        const email = validateEmail(emailIn);
        if (email !== user.email) {
          if (await emailTaken(tx, email, uid)) {
            throw new AuthError(422, "email_exists", "A user with this email address has already been registered");
          }
          await tx`update auth.users set email = ${email}, updated_at = now() where id = ${uid}::uuid`;
          await tx`update auth.identities set identity_data = identity_data || ${tx.json({ email })}, updated_at = now()
            where user_id = ${uid}::uuid and provider = 'email'`;
        }
      }
      if (password !== undefined) {
        await tx`update auth.users set encrypted_password = extensions.crypt(${password}, extensions.gen_salt('bf', 10)),
            updated_at = now() where id = ${uid}::uuid`;
      }
      if (confirm === true) {
        await tx`update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()) where id = ${uid}::uuid`;
      }
      if (userMetadata !== undefined) {
        await tx`update auth.users set raw_user_meta_data = ${mergeSql(tx, userMetadata)}, updated_at = now()
          where id = ${uid}::uuid`;
      }
      if (appMetadata !== undefined) {
        const removed = Object.keys(appMetadata).filter((k) => appMetadata[k] === null);
        const set = Object.fromEntries(Object.entries(appMetadata).filter(([, v]) => v !== null));
        await tx`update auth.users set raw_app_meta_data =
            (coalesce(raw_app_meta_data, '{}'::jsonb) || ${tx.json(set as postgres.JSONValue)}) - ${removed}::text[],
            updated_at = now() where id = ${uid}::uuid`;
      }
      if (role !== undefined) await tx`update auth.users set role = ${role}, updated_at = now() where id = ${uid}::uuid`;
      if (ban !== undefined) {
        const until = banUntil(ban);
        await tx`update auth.users set banned_until = ${until}, updated_at = now() where id = ${uid}::uuid`;
        // A banned user's sessions end, as Auth's ban does.
        if (until) await tx`delete from auth.sessions where user_id = ${uid}::uuid`;
      }
      return await userJson(tx, (await loadUser(tx, uid))!);
    });
    return json(out);
  }

  async function adminDelete(req: Request, id: string): Promise<Response> {
    const uid = uuidParam(id);
    const body = await readJson(req);
    const soft = field<boolean>(body, "should_soft_delete", "boolean") ?? false;
    const done = await sql.begin(async (tx) => {
      const user = await loadUser(tx, uid);
      if (!user) return false;
      if (soft) {
        // Auth's soft delete: the row stays, obfuscated, and cannot sign in.
        await tx`delete from auth.identities where user_id = ${uid}::uuid`;
        await tx`delete from auth.sessions where user_id = ${uid}::uuid`;
        await tx`update auth.users set deleted_at = now(), email = null, phone = null,
            encrypted_password = '', updated_at = now() where id = ${uid}::uuid`;
      } else {
        await tx`delete from auth.users where id = ${uid}::uuid`;
      }
      return true;
    });
    if (!done) throw new AuthError(404, "user_not_found", "User not found");
    return json({});
  }

  // ------------------------------------------------------------------------------ routing

  function settings(): Row {
    return {
      external: {
        anonymous_users: s.anonymous_sign_ins,
        apple: false, azure: false, bitbucket: false, discord: false, facebook: false, figma: false,
        fly: false, github: false, gitlab: false, google: false, keycloak: false, kakao: false,
        linkedin: false, linkedin_oidc: false, notion: false, spotify: false, slack: false,
        slack_oidc: false, workos: false, twitch: false, twitter: false, x: false, zoom: false,
        email: s.email_signup,
        phone: false,
      },
      disable_signup: !s.enable_signup,
      mailer_autoconfirm: s.email_autoconfirm,
      phone_autoconfirm: false,
      sms_provider: "",
      saml_enabled: false,
    };
  }

  async function handle(req: Request, url: URL, path: string[]): Promise<Response> {
    const route = path.join("/");
    const m = req.method;
    if (m === "OPTIONS") return new Response("ok", { headers: cors });
    // Kong's key-auth guards every Auth route but the JWKS: a request without a project key or
    // token stops there.
    const key = deps.apiKey(req);
    if (!key.ok) return json({ message: key.message }, key.status);
    if (route === "health" && m === "GET") {
      return json({ version: "local", name: "GoTrue", description: "GoTrue is a user registration and authentication API" });
    }
    if (route === "settings" && m === "GET") return json(settings());
    if (route === "signup" && m === "POST") return await signup(req);
    if (route === "token" && m === "POST") {
      const grant = url.searchParams.get("grant_type");
      if (grant === "password") return await passwordGrant(req);
      if (grant === "refresh_token") return await refreshGrant(req);
      throw new AuthError(400, "invalid_credentials", "unsupported_grant_type");
    }
    if (route === "user" && m === "GET") return await getUser(req);
    if (route === "user" && m === "PUT") return await updateUser(req);
    if (route === "logout" && m === "POST") return await logout(req, url);
    if (path[0] === "admin" && path[1] === "users" && path.length <= 3) {
      requireAdmin(req);
      if (path.length === 2 && m === "GET") return await adminList(url);
      if (path.length === 2 && m === "POST") return await adminCreate(req);
      if (path.length === 3 && m === "GET") return await adminGet(path[2]);
      if (path.length === 3 && m === "PUT") return await adminUpdate(req, path[2]);
      if (path.length === 3 && m === "DELETE") return await adminDelete(req, path[2]);
    }
    throw new AuthError(404, "not_found", "Not Found: this local Auth API serves what supabase-js's auth and auth.admin call (docs/local-stack.md)");
  }

  return async (req: Request, url: URL, path: string[]): Promise<Response> => {
    try {
      return await handle(req, url, path);
    } catch (e) {
      if (e instanceof AuthError) return errorResponse(req, e);
      if (e instanceof OAuthError) return json({ error: e.error, error_description: e.description }, 400);
      // Never the database's message: it may name the statement. The log has it.
      console.error(`auth: ${(e as Error)?.message ?? e}`);
      return errorResponse(req, new AuthError(500, "unexpected_failure", "Unexpected failure, please check server logs for more information"));
    }
  };
}
