// The local API gateway of `cargo xtask up`: what Supabase's Kong, edge runtime and Storage API
// do for a hosted project, on 127.0.0.1 without Docker.
//
// - `/functions/v1/<name>`: each edge function runs in its own Deno process from its index.ts,
//   with the environment a hosted function gets (SUPABASE_URL, SUPABASE_ANON_KEY,
//   SUPABASE_SERVICE_ROLE_KEY, SUPABASE_DB_URL) plus the secrets of supabase/functions/.env.
//   When the function's `verify_jwt` is true the bearer token is checked here first, as
//   Supabase's relay does (any valid project JWT passes, the anon key included; OPTIONS passes).
// - `/storage/v1/object/...`: upload, download, public download and signed URLs, backed by a
//   local folder. Every check is the real `storage.objects` RLS evaluated as the caller: the
//   row is inserted or selected in a transaction after `set local role <jwt role>` and
//   `request.jwt.claims`, as Supabase Storage does, so the service key bypasses RLS exactly as
//   it does there.
// - `/auth/v1/.well-known/jwks.json`: an empty key set (the local stack signs HS256 only).
//
// Run by xtask/src/gateway.rs with one argument: a JSON config file (it holds keys; mode 0600).

import postgres from "npm:postgres@3.4.9";

type FunctionSpec = { name: string; entry: string; verify_jwt: boolean };
type Config = {
  host: string;
  port: number;
  db_url: string;
  jwt_secret: string;
  anon_key: string;
  service_role_key: string;
  storage_dir: string;
  deno: string;
  functions: FunctionSpec[];
  /** Secrets from supabase/functions/.env (and test overrides), given to every function. */
  function_env: Record<string, string>;
  /** Stop when the process that started the gateway is gone (tests; `up` detaches instead). */
  exit_with_parent: boolean;
  /** The business roles signed-in users' tokens may name (sql::moha::BUSINESS_ROLES). */
  user_roles: string[];
};

const config: Config = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const publicUrl = `http://${config.host}:${config.port}`;
const encoder = new TextEncoder();
type Bytes = Uint8Array<ArrayBuffer>;

// ------------------------------------------------------------------------------------ JWTs

const hmacKey = await crypto.subtle.importKey(
  "raw",
  encoder.encode(config.jwt_secret),
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["sign", "verify"],
);

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function unb64url(s: string): Bytes {
  const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

type Claims = Record<string, unknown> & { role?: string; sub?: string; exp?: number };

/** The claims of an HS256 token signed with the project secret and not expired, else null. */
async function verifyJwt(token: string): Promise<Claims | null> {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(unb64url(parts[0])));
    if (header.alg !== "HS256") return null;
    const ok = await crypto.subtle.verify(
      "HMAC",
      hmacKey,
      unb64url(parts[2]),
      encoder.encode(`${parts[0]}.${parts[1]}`),
    );
    if (!ok) return null;
    const claims = JSON.parse(new TextDecoder().decode(unb64url(parts[1]))) as Claims;
    if (typeof claims !== "object" || claims === null) return null;
    if (typeof claims.exp === "number" && Date.now() / 1000 >= claims.exp) return null;
    return claims;
  } catch {
    return null;
  }
}

async function signJwt(claims: Record<string, unknown>): Promise<string> {
  const head = b64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = b64url(encoder.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(`${head}.${body}`));
  return `${head}.${body}.${b64url(new Uint8Array(sig))}`;
}

function bearer(req: Request): string | null {
  const h = req.headers.get("authorization");
  const m = h?.match(/^bearer\s+(.+)$/i);
  return m ? m[1].trim() : null;
}

// ------------------------------------------------------------------------------- functions

type Worker = {
  spec: FunctionSpec;
  port: number;
  child?: Deno.ChildProcess;
  ready?: Promise<void>;
};

const workers = new Map<string, Worker>();

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(port: number, child: Deno.ChildProcess, name: string): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`function ${name} exited while starting; see the log above`);
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`function ${name} did not listen within 60 s`);
}

/** Starts (or restarts, after a crash) the function's Deno process. */
function start(w: Worker): Promise<void> {
  w.port = freePort();
  const env: Record<string, string> = {
    ...config.function_env,
    // What a hosted function finds in its environment.
    SUPABASE_URL: publicUrl,
    SUPABASE_ANON_KEY: config.anon_key,
    SUPABASE_SERVICE_ROLE_KEY: config.service_role_key,
    SUPABASE_DB_URL: config.db_url,
    // Where serve.ts listens; Supabase's runtime ignores these.
    PORT: String(w.port),
    HOST: "127.0.0.1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  // Deno itself needs these to find its cache; they are not secrets.
  for (const k of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(k);
    if (v !== undefined && !(k in env)) env[k] = v;
  }
  const dir = w.spec.entry.substring(0, w.spec.entry.lastIndexOf("/"));
  w.child = new Deno.Command(config.deno, {
    args: ["run", "--no-prompt", "--allow-read", "--allow-env", "--allow-net", w.spec.entry],
    cwd: dir,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const child = w.child;
  child.status.then((s) => {
    if (w.child === child && !stopping) {
      console.error(`function ${w.spec.name} exited (${s.code}); it restarts on the next request`);
      w.child = undefined;
      w.ready = undefined;
    }
  });
  w.ready = waitForPort(w.port, child, w.spec.name);
  return w.ready;
}

function errorJson(status: number, message: string): Response {
  // The shape Supabase's relay answers with.
  return Response.json({ code: status, message }, { status, headers: cors });
}

const cors = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type, x-upsert",
  "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
};

async function invoke(req: Request, name: string, rest: string, search: string) {
  const w = workers.get(name);
  if (!w) return errorJson(404, "Requested function was not found");
  if (w.spec.verify_jwt && req.method !== "OPTIONS") {
    const token = bearer(req);
    if (!token) return errorJson(401, "Missing authorization header");
    if (!(await verifyJwt(token))) return errorJson(401, "Invalid JWT");
  }
  if (!w.child) start(w);
  await w.ready;
  // Function requests and answers are small JSON: read whole, each goes out in one write with a
  // content-length instead of as a chunked stream. A body over the functions' own 1 MiB limit
  // (or of unknown length) is streamed on, so the gateway never holds a large one in memory.
  const length = Number(req.headers.get("content-length") ?? NaN);
  const body = req.method === "GET" || req.method === "HEAD"
    ? undefined
    : length <= FUNCTION_BODY_LIMIT
    ? new Uint8Array(await req.arrayBuffer())
    : req.body;
  const res = await fetch(`http://127.0.0.1:${w.port}/${name}${rest}${search}`, {
    method: req.method,
    headers: endToEnd(req.headers),
    body,
    redirect: "manual",
  });
  const answer = await res.arrayBuffer();
  return new Response(answer, { status: res.status, headers: endToEnd(res.headers) });
}

/** The largest body a function accepts (moha_edge::validate::MAX_BODY_BYTES). */
const FUNCTION_BODY_LIMIT = 1 << 20;

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the framing the new message sets itself. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "host",
]);

/**
 * The headers a proxy passes on. A client's `connection: close` in particular must not reach
 * the function: it would close the kept-alive connection to the function after every request,
 * so each call would pay for a new TCP connection.
 */
function endToEnd(headers: Headers): Headers {
  const named = (headers.get("connection") ?? "").split(",").map((h) => h.trim().toLowerCase());
  const out = new Headers();
  for (const [k, v] of headers) {
    if (!HOP_BY_HOP.has(k) && !named.includes(k)) out.append(k, v);
  }
  return out;
}

// --------------------------------------------------------------------------------- storage

const sql = postgres(config.db_url, { max: 8, prepare: false, onnotice: () => {} });
/** Storage's own default limit (`[storage] file_size_limit`). */
const GLOBAL_FILE_LIMIT = 50 * 1024 * 1024;
/** The roles Storage switches to: Supabase's API roles and the business roles the access token
 * hook puts in users' tokens (granted to `authenticator`, as Supabase's custom-roles guide for
 * Storage asks). */
const STORAGE_ROLES = new Set(["anon", "authenticated", "service_role", ...config.user_roles]);

class StorageError extends Error {
  constructor(readonly status: number, readonly error: string, message: string) {
    super(message);
  }
}

function storageError(e: StorageError): Response {
  return Response.json(
    { statusCode: String(e.status), error: e.error, message: e.message },
    { status: e.status, headers: cors },
  );
}

type Caller = { role: string; claims: Claims };

/** Who calls Storage: the bearer token, else the apikey, as Supabase Storage reads them. */
async function storageCaller(req: Request): Promise<Caller> {
  const token = bearer(req) ?? req.headers.get("apikey");
  if (!token) throw new StorageError(400, "Error", "headers must have required property 'authorization'");
  const claims = await verifyJwt(token);
  if (!claims) throw new StorageError(400, "InvalidJWT", "invalid signature or expired token");
  const role = typeof claims.role === "string" ? claims.role : "anon";
  if (!STORAGE_ROLES.has(role)) {
    throw new StorageError(403, "Unauthorized", `role ${role} may not use storage`);
  }
  return { role, claims };
}

/** Runs `fn` in a transaction as the caller, with their claims, so RLS decides. */
function asCaller<T>(caller: Caller, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    // The role is one of STORAGE_ROLES, never free text.
    await tx.unsafe(`set local role ${caller.role}`);
    await tx`select pg_catalog.set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
                    pg_catalog.set_config('request.jwt.claim.role', ${caller.role}, true),
                    pg_catalog.set_config('request.jwt.claim.sub', ${String(caller.claims.sub ?? "")}, true)`;
    return await fn(tx);
  }) as Promise<T>;
}

function isRlsDenial(e: unknown): boolean {
  return (e as { code?: string })?.code === "42501";
}

/**
 * Object names as Supabase Storage accepts them (its `isValidKey` character set), and, because
 * names become paths of the local folder, never `.`/`..` segments or empty segments.
 */
function checkName(name: string): void {
  const ok = name.length > 0 && name.length <= 1024 &&
    /^(\w|\/|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$/.test(name) &&
    name.split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
  if (!ok) throw new StorageError(400, "InvalidKey", `Invalid key: ${name}`);
}

function filePath(bucket: string, name: string): string {
  return `${config.storage_dir}/${bucket}/${name}`;
}

type Bucket = {
  id: string;
  public: boolean;
  file_size_limit: string | null;
  allowed_mime_types: string[] | null;
};

async function findBucket(id: string): Promise<Bucket> {
  // Bucket metadata is read as the gateway's own login, as Storage reads it as its admin.
  const rows = await sql<Bucket[]>`select id, public, file_size_limit::text as file_size_limit,
      allowed_mime_types from storage.buckets where id = ${id}`;
  if (rows.length === 0) throw new StorageError(404, "Bucket not found", "Bucket not found");
  return rows[0];
}

function mimeAllowed(bucket: Bucket, mime: string): boolean {
  const allowed = bucket.allowed_mime_types;
  if (!allowed || allowed.length === 0) return true;
  const base = mime.split(";")[0].trim().toLowerCase();
  return allowed.some((a) =>
    a.endsWith("/*") ? base.startsWith(a.slice(0, -1).toLowerCase()) : a.toLowerCase() === base
  );
}

type Part = { headers: Record<string, string>; name: string | null; filename: string | null; body: Bytes };

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * multipart/form-data parts. Parsed here rather than with Request.formData() because
 * supabase-js sends the file under an empty field name, which Deno's parser drops while
 * Supabase Storage takes the first file part whatever its name.
 */
function multipart(body: Bytes, boundary: string): Part[] {
  const delim = encoder.encode(`--${boundary}`);
  const parts: Part[] = [];
  let at = indexOf(body, delim, 0);
  while (at >= 0) {
    const start = at + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing "--"
    const headEnd = indexOf(body, encoder.encode("\r\n\r\n"), start);
    const next = indexOf(body, delim, start);
    if (headEnd < 0 || next < 0) break;
    const headers: Record<string, string> = {};
    for (const line of new TextDecoder().decode(body.subarray(start + 2, headEnd)).split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const disposition = headers["content-disposition"] ?? "";
    parts.push({
      headers,
      name: disposition.match(/\bname="([^"]*)"/)?.[1] ?? null,
      filename: disposition.match(/\bfilename="([^"]*)"/)?.[1] ?? null,
      // The part ends with CRLF before the next delimiter.
      body: body.subarray(headEnd + 4, next - 2),
    });
    at = next;
  }
  return parts;
}

async function readUpload(req: Request): Promise<{ bytes: Bytes; mime: string; cacheControl: string }> {
  const type = req.headers.get("content-type") ?? "application/octet-stream";
  const raw = new Uint8Array(await req.arrayBuffer());
  const boundary = type.match(/^multipart\/form-data;.*boundary="?([^";]+)"?/i)?.[1];
  if (boundary) {
    const parts = multipart(raw, boundary);
    const file = parts.find((p) => p.filename !== null);
    if (!file) throw new StorageError(400, "InvalidRequest", "the form carries no file");
    const cache = parts.find((p) => p.name === "cacheControl" && p.filename === null);
    return {
      bytes: file.body,
      mime: file.headers["content-type"] ?? "application/octet-stream",
      cacheControl: cache ? `max-age=${new TextDecoder().decode(cache.body)}` : "no-cache",
    };
  }
  return { bytes: raw, mime: type, cacheControl: req.headers.get("cache-control") ?? "no-cache" };
}

async function upload(req: Request, bucketId: string, name: string, update: boolean): Promise<Response> {
  const caller = await storageCaller(req);
  checkName(name);
  const bucket = await findBucket(bucketId);
  const declared = Number(req.headers.get("content-length") ?? "0");
  const limit = Math.min(GLOBAL_FILE_LIMIT, Number(bucket.file_size_limit ?? GLOBAL_FILE_LIMIT));
  const tooLarge = () =>
    new StorageError(413, "Payload too large", "The object exceeded the maximum allowed size");
  if (declared > limit + 64 * 1024) throw tooLarge();
  const { bytes, mime, cacheControl } = await readUpload(req);
  if (bytes.length > limit) throw tooLarge();
  if (!mimeAllowed(bucket, mime)) {
    throw new StorageError(415, "invalid_mime_type", `mime type ${mime} is not supported`);
  }
  const upsert = update || req.headers.get("x-upsert") === "true";
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const metadata = {
    eTag: `"${[...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`,
    size: bytes.length,
    mimetype: mime,
    cacheControl,
    lastModified: new Date().toUTCString(),
    contentLength: bytes.length,
    httpStatusCode: 200,
  };
  const owner = caller.role === "service_role" ? null : (caller.claims.sub as string | undefined) ?? null;
  const version = crypto.randomUUID();
  try {
    const id = await asCaller(caller, async (tx) => {
      const rows = upsert
        ? await tx`insert into storage.objects (bucket_id, name, owner, owner_id, metadata, version)
            values (${bucketId}, ${name}, ${owner}, ${owner}, ${tx.json(metadata)}, ${version})
            on conflict (bucket_id, name) do update set metadata = excluded.metadata,
              version = excluded.version, owner = excluded.owner, owner_id = excluded.owner_id,
              updated_at = now()
            returning id`
        : await tx`insert into storage.objects (bucket_id, name, owner, owner_id, metadata, version)
            values (${bucketId}, ${name}, ${owner}, ${owner}, ${tx.json(metadata)}, ${version})
            returning id`;
      // The bytes land inside the transaction: a failed write rolls the row back.
      const path = filePath(bucketId, name);
      await Deno.mkdir(path.substring(0, path.lastIndexOf("/")), { recursive: true });
      const tmp = `${path}.${version}.tmp`;
      await Deno.writeFile(tmp, bytes, { mode: 0o600 });
      await Deno.rename(tmp, path);
      return rows[0].id as string;
    });
    return Response.json({ Key: `${bucketId}/${name}`, Id: id }, { headers: cors });
  } catch (e) {
    if (isRlsDenial(e)) {
      throw new StorageError(403, "Unauthorized", "new row violates row-level security policy");
    }
    if ((e as { code?: string })?.code === "23505") {
      throw new StorageError(409, "Duplicate", "The resource already exists");
    }
    throw e;
  }
}

type ObjectRow = { metadata: { mimetype?: string; cacheControl?: string; eTag?: string } | null };

async function serveFile(bucketId: string, name: string, row: ObjectRow): Promise<Response> {
  let bytes: Bytes;
  try {
    bytes = await Deno.readFile(filePath(bucketId, name));
  } catch {
    throw new StorageError(404, "not_found", "Object not found");
  }
  const m = row.metadata ?? {};
  const headers: Record<string, string> = {
    ...cors,
    "content-type": m.mimetype ?? "application/octet-stream",
    "cache-control": m.cacheControl ?? "no-cache",
  };
  if (m.eTag) headers.etag = m.eTag;
  return new Response(bytes, { headers });
}

/** The object's row if the caller may select it (RLS), else a 404 that reveals nothing. */
async function visibleObject(caller: Caller, bucketId: string, name: string): Promise<ObjectRow> {
  checkName(name);
  const rows = await asCaller(
    caller,
    (tx) =>
      tx<ObjectRow[]>`select metadata from storage.objects where bucket_id = ${bucketId} and name = ${name}`,
  );
  if (rows.length === 0) throw new StorageError(404, "not_found", "Object not found");
  return rows[0];
}

async function objectRow(bucketId: string, name: string): Promise<ObjectRow> {
  checkName(name);
  const rows = await sql<ObjectRow[]>`select metadata from storage.objects
      where bucket_id = ${bucketId} and name = ${name}`;
  if (rows.length === 0) throw new StorageError(404, "not_found", "Object not found");
  return rows[0];
}

async function storage(req: Request, url: URL, path: string[]): Promise<Response> {
  if (req.method === "OPTIONS") return new Response("ok", { headers: cors });
  if (path[0] !== "object") {
    throw new StorageError(404, "not_found", "this local gateway serves /storage/v1/object only");
  }
  const [kind, ...rest] = path.slice(1);
  const split = (p: string[]) => {
    if (p.length < 2) throw new StorageError(400, "InvalidKey", "give a bucket and an object name");
    return [p[0], p.slice(1).join("/")] as const;
  };
  if (kind === "public" && (req.method === "GET" || req.method === "HEAD")) {
    const [bucketId, name] = split(rest);
    const bucket = await findBucket(bucketId);
    // Public download skips RLS, but only for a bucket marked public, as on Supabase.
    if (!bucket.public) throw new StorageError(404, "not_found", "Object not found");
    return serveFile(bucketId, name, await objectRow(bucketId, name));
  }
  if (kind === "sign") {
    const [bucketId, name] = split(rest);
    if (req.method === "POST") {
      const caller = await storageCaller(req);
      const body = await req.json().catch(() => ({}));
      const expiresIn = Number(body?.expiresIn);
      if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
        throw new StorageError(400, "InvalidRequest", "expiresIn must be a positive number of seconds");
      }
      await visibleObject(caller, bucketId, name);
      const iat = Math.floor(Date.now() / 1000);
      const token = await signJwt({ url: `${bucketId}/${name}`, iat, exp: iat + Math.floor(expiresIn) });
      const encoded = name.split("/").map(encodeURIComponent).join("/");
      return Response.json({ signedURL: `/object/sign/${bucketId}/${encoded}?token=${token}` }, {
        headers: cors,
      });
    }
    if (req.method === "GET") {
      const claims = await verifyJwt(url.searchParams.get("token") ?? "");
      if (!claims || claims.url !== `${bucketId}/${name}`) {
        throw new StorageError(400, "InvalidSignature", "the signature is invalid or has expired");
      }
      return serveFile(bucketId, name, await objectRow(bucketId, name));
    }
  }
  const objectPath = kind === "authenticated" ? rest : [kind, ...rest];
  const [bucketId, name] = split(objectPath);
  switch (req.method) {
    case "GET":
    case "HEAD": {
      const caller = await storageCaller(req);
      return serveFile(bucketId, name, await visibleObject(caller, bucketId, name));
    }
    case "POST":
      return upload(req, bucketId, name, false);
    case "PUT":
      return upload(req, bucketId, name, true);
  }
  throw new StorageError(405, "MethodNotAllowed", `method ${req.method} is not served here`);
}

// ---------------------------------------------------------------------------------- server

async function route(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const segments = url.pathname.split("/").slice(1);
  if (url.pathname === "/__gateway/health") {
    return Response.json({ functions: [...workers.keys()] });
  }
  if (url.pathname === "/auth/v1/.well-known/jwks.json") {
    return Response.json({ keys: [] });
  }
  if (segments[0] === "functions" && segments[1] === "v1" && segments[2]) {
    const name = segments[2];
    const rest = segments.length > 3 ? "/" + segments.slice(3).join("/") : "";
    return await invoke(req, name, rest, url.search);
  }
  if (segments[0] === "storage" && segments[1] === "v1") {
    let path: string[];
    try {
      path = segments.slice(2).map(decodeURIComponent);
    } catch {
      return storageError(new StorageError(400, "InvalidKey", "the path is not valid percent-encoding"));
    }
    try {
      return await storage(req, url, path);
    } catch (e) {
      if (e instanceof StorageError) return storageError(e);
      console.error(`storage: ${(e as Error)?.message ?? e}`);
      return storageError(new StorageError(500, "internal", "internal error"));
    }
  }
  return Response.json({ message: "no Route matched with those values" }, { status: 404 });
}

let stopping = false;

async function shutdown(): Promise<never> {
  stopping = true;
  for (const w of workers.values()) {
    try {
      w.child?.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  }
  await Promise.allSettled([...workers.values()].map((w) => w.child?.status));
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);
if (config.exit_with_parent) {
  const parent = Deno.ppid;
  setInterval(() => {
    if (Deno.ppid !== parent) shutdown();
  }, 500);
}

for (const spec of config.functions) workers.set(spec.name, { spec, port: 0 });
// Every function is up before the gateway answers, so the first request is not a cold start.
await Promise.all([...workers.values()].map(start));
Deno.serve({ hostname: config.host, port: config.port, onListen: () => {} }, route);
console.error(`gateway listening on ${publicUrl}`);
