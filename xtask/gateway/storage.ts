// The Storage API of the local gateway (xtask/gateway/main.ts routes `/storage/v1/...` here):
// what Supabase Storage serves for a hosted project, backed by a local folder.
//
// Every check is the real `storage.objects` RLS evaluated as the caller: the row is inserted or
// selected in a transaction after `set local role <jwt role>` and `request.jwt.claims`, as
// Supabase Storage does, so the service key bypasses RLS exactly as it does there.
// `apikey: sb_publishable_...` calls as `anon`, `sb_secret_...` as `service_role`; tokens need
// `exp` and the users' `aud` (legacy API keys: none). Bodies are counted as they arrive and
// refused past their limit; forms need an RFC 2046 boundary (at most 70 characters) and are
// parsed in one linear pass.

import postgres from "npm:postgres@3.4.9";

type Claims = Record<string, unknown> & { role?: string; sub?: string };
/** A decision of moha_edge::gateway (functions/gateway-auth) on a request. */
export type Decision =
  | { ok: true; role?: string; claims?: Claims }
  | { ok: false; status: number; error: string; message: string };

export type StorageOptions = {
  db_url: string;
  /** The folder that holds the objects' bytes, one sub-folder per bucket. */
  storage_dir: string;
  /** Signs the signed URLs' tokens (the project's HS256 secret). */
  jwt_secret: string;
  /** The business roles signed-in users' tokens may name (sql::moha::BUSINESS_ROLES). */
  user_roles: string[];
  /** moha_edge::gateway's check of a Storage request's token or API key. */
  decide: (req: Request) => Decision;
  /** moha_edge::gateway's check of a signed URL's token for `object` (`bucket/name`). */
  signedUrl: (token: string, object: string) => boolean;
  /** The CORS headers every answer carries. */
  cors: Record<string, string>;
};

const encoder = new TextEncoder();
type Bytes = Uint8Array<ArrayBuffer>;

// Set once by configureStorage, before the gateway serves.
let config: StorageOptions;
let cors: Record<string, string>;
let sql: postgres.Sql;
let hmacKey: CryptoKey;
/** The roles Storage switches to: Supabase's API roles and the business roles the access token
 * hook puts in users' tokens (granted to `authenticator`, as Supabase's custom-roles guide for
 * Storage asks). */
let STORAGE_ROLES: Set<string>;

export async function configureStorage(opts: StorageOptions): Promise<void> {
  config = opts;
  cors = opts.cors;
  sql = postgres(opts.db_url, { max: 8, prepare: false, onnotice: () => {} });
  STORAGE_ROLES = new Set(["anon", "authenticated", "service_role", ...opts.user_roles]);
  // Signed URLs are the gateway's own tokens, signed with the project's HS256 secret.
  hmacKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(opts.jwt_secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function signJwt(claims: Record<string, unknown>): Promise<string> {
  const head = b64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = b64url(encoder.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(`${head}.${body}`));
  return `${head}.${body}.${b64url(new Uint8Array(sig))}`;
}


/** Storage's own default limit (`[storage] file_size_limit`). */
const GLOBAL_FILE_LIMIT = 50 * 1024 * 1024;

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

/** Who calls Storage: a token (the bearer, else a legacy apikey) or the project's API key. */
function storageCaller(req: Request): Caller {
  const d = config.decide(req);
  if (!d.ok) throw new StorageError(d.status, d.error, d.message);
  const role = d.role ?? "anon";
  if (!STORAGE_ROLES.has(role)) {
    throw new StorageError(403, "Unauthorized", `role ${role} may not use storage`);
  }
  return { role, claims: d.claims ?? {} };
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

const tooLarge = () => new StorageError(413, "Payload too large", "The object exceeded the maximum allowed size");

/**
 * The request body, counted as it arrives: past `limit` bytes the stream is cancelled and the
 * request refused, so an over-size body (chunked or not) is never held whole.
 */
async function readBody(req: Request, limit: number, refuse: () => StorageError): Promise<Bytes> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    req.body?.cancel().catch(() => {});
    throw refuse();
  }
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw refuse();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Fastify's default body limit, which Storage keeps for its JSON routes. */
const JSON_BODY_LIMIT = 1 << 20;

async function readJson(req: Request): Promise<unknown> {
  const raw = await readBody(
    req,
    JSON_BODY_LIMIT,
    () => new StorageError(413, "Payload too large", "Request body is too large"),
  );
  try {
    return JSON.parse(new TextDecoder().decode(raw));
  } catch {
    return {};
  }
}

/** A form's bytes beyond its file: delimiters, part headers, small fields. */
const FORM_OVERHEAD = 64 * 1024;

/**
 * The boundary of a multipart/form-data content type, null for any other type. RFC 2046 §5.1.1
 * allows 1 to 70 characters from a fixed set; anything else is refused before the body is read.
 */
function formBoundary(type: string): string | null {
  const [media, ...params] = type.split(";");
  if (!/^\s*multipart\/form-data\s*$/i.test(media)) return null;
  let boundary: string | undefined;
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== "boundary") continue;
    boundary = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  const bchars = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
  if (boundary === undefined || !bchars.test(boundary)) {
    throw new StorageError(400, "InvalidRequest", "multipart boundary must be 1 to 70 characters (RFC 2046)");
  }
  return boundary;
}

/**
 * A search for `needle` (Knuth-Morris-Pratt): each call returns the next start at or after
 * `from`, or -1. Calls with increasing `from` read each byte of `hay` once.
 */
function searcher(hay: Uint8Array, needle: Uint8Array): (from: number) => number {
  const fail = new Int32Array(needle.length);
  for (let i = 1, k = 0; i < needle.length; i++) {
    while (k > 0 && needle[i] !== needle[k]) k = fail[k - 1];
    if (needle[i] === needle[k]) k++;
    fail[i] = k;
  }
  return (from) => {
    for (let i = from, k = 0; i < hay.length; i++) {
      while (k > 0 && hay[i] !== needle[k]) k = fail[k - 1];
      if (hay[i] === needle[k]) k++;
      if (k === needle.length) return i - k + 1;
    }
    return -1;
  };
}

/** The first `needle` in `hay[from, to)`, or -1 (a short needle: linear in the range). */
function find(hay: Uint8Array, needle: Uint8Array, from: number, to: number): number {
  outer: for (let i = from; i + needle.length <= to; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const CRLF = encoder.encode("\r\n");
const CRLF2 = encoder.encode("\r\n\r\n");

/**
 * multipart/form-data parts. Parsed here rather than with Request.formData() because
 * supabase-js sends the file under an empty field name, which Deno's parser drops while
 * Supabase Storage takes the first file part whatever its name. One pass finds the delimiters;
 * each part is then read within its own bounds, so the whole parse is linear in the body.
 * A part whose headers do not end before the next delimiter is skipped.
 */
function multipart(body: Bytes, boundary: string): Part[] {
  const dash = encoder.encode(`--${boundary}`);
  // Delimiters are "--boundary" at the very start or after a CRLF (RFC 2046 §5.1.1).
  const search = searcher(body, encoder.encode(`\r\n--${boundary}`));
  const next = (from: number) => {
    const at = search(from);
    return at < 0 ? -1 : at + 2;
  };
  const parts: Part[] = [];
  let at = find(body, dash, 0, dash.length) === 0 ? 0 : next(0);
  while (at >= 0) {
    const after = at + dash.length;
    if (body[after] === 0x2d && body[after + 1] === 0x2d) break; // closing "--"
    const following = next(after);
    if (following < 0) break;
    at = following;
    const end = following - 2; // the CRLF before the next delimiter
    const line = find(body, CRLF, after, end + 2);
    if (line < 0) continue;
    // Headers run from the end of the delimiter line to the first empty line.
    const headEnd = find(body, CRLF2, line, end + 2);
    if (headEnd < 0 || headEnd + 4 > end) continue;
    const headers: Record<string, string> = {};
    for (const h of new TextDecoder().decode(body.subarray(line + 2, headEnd)).split("\r\n")) {
      const c = h.indexOf(":");
      if (c > 0) headers[h.slice(0, c).trim().toLowerCase()] = h.slice(c + 1).trim();
    }
    const disposition = headers["content-disposition"] ?? "";
    parts.push({
      headers,
      name: disposition.match(/\bname="([^"]*)"/)?.[1] ?? null,
      filename: disposition.match(/\bfilename="([^"]*)"/)?.[1] ?? null,
      body: body.subarray(headEnd + 4, end),
    });
  }
  return parts;
}

type Upload = { bytes: Bytes; mime: string; cacheControl: string };

/** The file of an upload (raw body or form), read under the bucket's limit. */
async function readUpload(
  req: Request,
  type: string,
  boundary: string | null,
  limit: number,
): Promise<Upload> {
  if (boundary === null) {
    const bytes = await readBody(req, limit, tooLarge);
    return { bytes, mime: type, cacheControl: req.headers.get("cache-control") ?? "no-cache" };
  }
  const parts = multipart(await readBody(req, limit + FORM_OVERHEAD, tooLarge), boundary);
  const file = parts.find((p) => p.filename !== null);
  if (!file) throw new StorageError(400, "InvalidRequest", "the form carries no file");
  if (file.body.length > limit) throw tooLarge();
  const cache = parts.find((p) => p.name === "cacheControl" && p.filename === null);
  return {
    bytes: file.body,
    mime: file.headers["content-type"] ?? "application/octet-stream",
    cacheControl: cache ? `max-age=${new TextDecoder().decode(cache.body)}` : "no-cache",
  };
}

async function upload(req: Request, bucketId: string, name: string, update: boolean): Promise<Response> {
  // A malformed form is refused first: it costs nothing and needs no body.
  const type = req.headers.get("content-type") ?? "application/octet-stream";
  const boundary = formBoundary(type);
  const caller = storageCaller(req);
  checkName(name);
  const bucket = await findBucket(bucketId);
  const limit = Math.min(GLOBAL_FILE_LIMIT, Number(bucket.file_size_limit ?? GLOBAL_FILE_LIMIT));
  const { bytes, mime, cacheControl } = await readUpload(req, type, boundary, limit);
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

/**
 * A signed URL's lifetime in seconds, bounded as Supabase Storage bounds it: the route's schema
 * wants an integer >= 1 and `assertValidNumericJWTExpiration` (src/internal/auth/jwt.ts,
 * supabase/storage#1020) keeps `exp` within Number.MAX_SAFE_INTEGER / 1000; else 400.
 */
function signedUrlLifetime(value: unknown, now: number): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1 || n > MAX_SIGNED_EXP - now) {
    throw new StorageError(400, "InvalidParameter", "Invalid Parameter expiresIn");
  }
  return n;
}
const MAX_SIGNED_EXP = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

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
      const caller = storageCaller(req);
      const body = await readJson(req);
      const iat = Math.floor(Date.now() / 1000);
      const expiresIn = signedUrlLifetime((body as { expiresIn?: unknown } | null)?.expiresIn, iat);
      await visibleObject(caller, bucketId, name);
      const token = await signJwt({
        url: `${bucketId}/${name}`,
        scope: "download",
        iat,
        exp: iat + expiresIn,
      });
      const encoded = name.split("/").map(encodeURIComponent).join("/");
      return Response.json({ signedURL: `/object/sign/${bucketId}/${encoded}?token=${token}` }, {
        headers: cors,
      });
    }
    if (req.method === "GET") {
      // Storage's signed-URL tokens: this object, scope "download", an exp, and no audience.
      const token = url.searchParams.get("token") ?? "";
      if (!config.signedUrl(token, `${bucketId}/${name}`)) {
        throw new StorageError(400, "InvalidSignature", "the signature is invalid or has expired");
      }
      return serveFile(bucketId, name, await objectRow(bucketId, name));
    }
  }
  // Storage's bulk delete, `DELETE /object/<bucket>` with {"prefixes": [names]} (issue 17:
  // `cargo xtask restore --force` empties Storage this way, as on hosted, never by SQL).
  if (req.method === "DELETE" && kind !== undefined && rest.length === 0) {
    return removeObjects(req, kind);
  }
  const objectPath = kind === "authenticated" ? rest : [kind, ...rest];
  const [bucketId, name] = split(objectPath);
  switch (req.method) {
    case "GET":
    case "HEAD": {
      const caller = storageCaller(req);
      return serveFile(bucketId, name, await visibleObject(caller, bucketId, name));
    }
    case "POST":
      return upload(req, bucketId, name, false);
    case "PUT":
      return upload(req, bucketId, name, true);
  }
  throw new StorageError(405, "MethodNotAllowed", `method ${req.method} is not served here`);
}

/** Deletes the named objects of a bucket the caller may delete (RLS decides), rows then bytes;
 * answers with the deleted objects, as Storage does. */
async function removeObjects(req: Request, bucketId: string): Promise<Response> {
  const caller = storageCaller(req);
  const body = await readJson(req);
  const prefixes = (body as { prefixes?: unknown } | null)?.prefixes;
  if (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== "string") || prefixes.length > 1000) {
    throw new StorageError(400, "InvalidRequest", "give prefixes: a list of at most 1000 object names");
  }
  await findBucket(bucketId);
  const deleted = await asCaller(caller, async (tx) => {
    const rows = await tx`delete from storage.objects
      where bucket_id = ${bucketId} and name = any(${prefixes as string[]}::text[])
      returning name, id, metadata, created_at, updated_at`;
    for (const r of rows) {
      await Deno.remove(filePath(bucketId, r.name as string)).catch(() => {});
    }
    return rows;
  });
  return Response.json(deleted.map((r) => ({ ...r, bucket_id: bucketId })), { headers: cors });
}


/** Answers `/storage/v1/<segments...>` (`segments`: the path after `v1`, still encoded). */
export async function handleStorage(req: Request, url: URL, segments: string[]): Promise<Response> {
  let path: string[];
  try {
    path = segments.map(decodeURIComponent);
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
