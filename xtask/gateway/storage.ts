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

import { USER_ROLES } from "../../supabase/functions/_shared/facts.ts";
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
  /** moha_edge::gateway's check of a Storage request's token or API key. */
  decide: (req: Request) => Decision;
  /** moha_edge::gateway's signature of a signed URL's claims (HS256, the project's secret). */
  sign: (claims: string) => string;
  /** moha_edge::gateway's check of a signed URL's token for `object` (`bucket/name`). */
  signedUrl: (token: string, object: string) => boolean;
  /** The claims of a signed upload URL's token for `object`, as JSON, or `null`. */
  signedUpload: (token: string, object: string) => string;
  /** The CORS headers every answer carries. */
  cors: Record<string, string>;
};

const encoder = new TextEncoder();
type Bytes = Uint8Array<ArrayBuffer>;

// Set once by configureStorage, before the gateway serves.
let config: StorageOptions;
let cors: Record<string, string>;
let sql: postgres.Sql;
/** The roles Storage switches to: Supabase's API roles and the business roles the access token
 * hook puts in users' tokens (granted to `authenticator`, as Supabase's custom-roles guide for
 * Storage asks). */
let STORAGE_ROLES: Set<string>;

export async function configureStorage(opts: StorageOptions): Promise<void> {
  config = opts;
  cors = opts.cors;
  sql = postgres(opts.db_url, { max: 8, prepare: false, onnotice: () => {} });
  STORAGE_ROLES = new Set(["anon", "authenticated", "service_role", ...USER_ROLES]);
}

/** Signed URLs are the gateway's own tokens, signed as Storage signs them. */
function signJwt(claims: Record<string, unknown>): string {
  return config.sign(JSON.stringify(claims));
}

/** Storage's own default limit (`[storage] file_size_limit`). */
const GLOBAL_FILE_LIMIT = 50 * 1024 * 1024;

class StorageError extends Error {
  constructor(readonly status: number, readonly error: string, message: string, readonly code?: string) {
    super(message);
  }
}

/** Storage's error codes (src/internal/errors/codes.ts) for the errors answered here, which
 * storage-js reads (`exists()` looks for NoSuchKey). */
const ERROR_CODES: Record<string, string> = {
  "Unauthorized": "AccessDenied",
  "not_found": "NoSuchKey",
  "Bucket not found": "NoSuchBucket",
  "Duplicate": "KeyAlreadyExists",
  "Payload too large": "EntityTooLarge",
  "invalid_mime_type": "InvalidMimeType",
  "Invalid Input": "InvalidBucketName",
};

function storageError(e: StorageError): Response {
  return Response.json(
    { statusCode: String(e.status), code: e.code ?? ERROR_CODES[e.error] ?? e.error, error: e.error, message: e.message },
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
    // storage.allow_delete_query: the Storage server's mark, which storage.protect_delete()
    // asks of every delete on the Storage tables (the API deletes rows and bytes together).
    await tx`select pg_catalog.set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
                    pg_catalog.set_config('request.jwt.claim.role', ${caller.role}, true),
                    pg_catalog.set_config('request.jwt.claim.sub', ${String(caller.claims.sub ?? "")}, true),
                    pg_catalog.set_config('storage.allow_delete_query', 'true', true)`;
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

/** Who an upload writes as: the caller (RLS decides), or, for a signed upload URL, the gateway
 * itself with the owner the URL was issued to (its policies were checked when it was signed). */
type Writer = { caller: Caller; owner: string | null; upsert: boolean };

function ownerOf(caller: Caller): string | null {
  return caller.role === "service_role" ? null : (caller.claims.sub as string | undefined) ?? null;
}

async function upload(req: Request, bucketId: string, name: string, writer: (req: Request) => Writer): Promise<Response> {
  // A malformed form is refused first: it costs nothing and needs no body.
  const type = req.headers.get("content-type") ?? "application/octet-stream";
  const boundary = formBoundary(type);
  const { caller, owner, upsert } = writer(req);
  checkName(name);
  const bucket = await findBucket(bucketId);
  const limit = Math.min(GLOBAL_FILE_LIMIT, Number(bucket.file_size_limit ?? GLOBAL_FILE_LIMIT));
  const { bytes, mime, cacheControl } = await readUpload(req, type, boundary, limit);
  if (!mimeAllowed(bucket, mime)) {
    throw new StorageError(415, "invalid_mime_type", `mime type ${mime} is not supported`);
  }
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
      await writeFile(bucketId, name, bytes, version);
      return rows[0].id as string;
    });
    return Response.json({ Key: `${bucketId}/${name}`, Id: id }, { headers: cors });
  } catch (e) {
    throw writeRefusal(e);
  }
}

async function writeFile(bucketId: string, name: string, bytes: Uint8Array, version: string): Promise<void> {
  const path = filePath(bucketId, name);
  await Deno.mkdir(path.substring(0, path.lastIndexOf("/")), { recursive: true });
  const tmp = `${path}.${version}.tmp`;
  await Deno.writeFile(tmp, bytes, { mode: 0o600 });
  await Deno.rename(tmp, path);
}

/** A write's database error as Storage answers it: RLS → 403, an existing name → 409. */
function writeRefusal(e: unknown): unknown {
  if (isRlsDenial(e)) {
    return new StorageError(403, "Unauthorized", "new row violates row-level security policy");
  }
  if ((e as { code?: string })?.code === "23505") {
    return new StorageError(409, "Duplicate", "The resource already exists");
  }
  return e;
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

/** The first `n` segments as a bucket and the rest as an object name. */
function split(p: string[]): readonly [string, string] {
  if (p.length < 2) throw new StorageError(400, "InvalidKey", "give a bucket and an object name");
  return [p[0], p.slice(1).join("/")] as const;
}

const notFound = () => new StorageError(404, "not_found", "Object not found");

function str(body: unknown, key: string, required: boolean): string | undefined {
  const v = (body as Record<string, unknown> | null)?.[key];
  if (v === undefined || v === null) {
    if (required) throw new StorageError(400, "InvalidRequest", `body must have required property '${key}'`);
    return undefined;
  }
  if (typeof v !== "string") throw new StorageError(400, "InvalidRequest", `body/${key} must be string`);
  return v;
}

function int(body: unknown, key: string, min: number): number | undefined {
  const v = (body as Record<string, unknown> | null)?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw new StorageError(400, "InvalidRequest", `body/${key} must be an integer >= ${min}`);
  }
  return v;
}

async function storage(req: Request, url: URL, path: string[]): Promise<Response> {
  if (req.method === "OPTIONS") return new Response("ok", { headers: cors });
  if (path[0] === "bucket") return buckets(req, url, path.slice(1));
  if (path[0] !== "object") {
    throw new StorageError(404, "not_found", "this local gateway serves /storage/v1/object and /bucket only");
  }
  const [kind, ...rest] = path.slice(1);
  const m = req.method;
  if (kind === "public" && (m === "GET" || m === "HEAD")) {
    const [bucketId, name] = split(rest);
    const bucket = await findBucket(bucketId);
    // Public download skips RLS, but only for a bucket marked public, as on Supabase.
    if (!bucket.public) throw notFound();
    return serveFile(bucketId, name, await objectRow(bucketId, name));
  }
  if (kind === "info" && m === "GET") {
    const [scope, ...more] = rest;
    if (scope === "public") return info(null, split(more), true);
    if (scope === "authenticated") return info(storageCaller(req), split(more), false);
    return info(storageCaller(req), split(rest), false);
  }
  if (kind === "sign" && m === "POST" && rest.length === 1) return signUrls(req, rest[0]);
  if (kind === "sign") {
    const [bucketId, name] = split(rest);
    if (m === "POST") return signUrl(req, bucketId, name);
    if (m === "GET") {
      // Storage's signed-URL tokens: this object, scope "download", an exp, and no audience.
      const token = url.searchParams.get("token") ?? "";
      if (!config.signedUrl(token, `${bucketId}/${name}`)) {
        throw new StorageError(400, "InvalidSignature", "the signature is invalid or has expired");
      }
      return serveFile(bucketId, name, await objectRow(bucketId, name));
    }
  }
  if (kind === "upload" && rest[0] === "sign") {
    const [bucketId, name] = split(rest.slice(1));
    if (m === "POST") return signUpload(req, bucketId, name);
    if (m === "PUT") {
      const token = url.searchParams.get("token") ?? "";
      return upload(req, bucketId, name, () => {
        const claims = JSON.parse(config.signedUpload(token, `${bucketId}/${name}`)) as
          | { owner?: string | null; upsert?: boolean }
          | null;
        if (claims === null) {
          throw new StorageError(400, "InvalidSignature", "the signature is invalid or has expired");
        }
        // As Storage's uploadSignedObject: the gateway writes, with the signer's owner.
        return {
          caller: { role: "service_role", claims: {} },
          owner: claims.owner ?? null,
          upsert: claims.upsert === true,
        };
      });
    }
  }
  if (kind === "list" && m === "POST" && rest.length === 1) return list(req, rest[0]);
  if (kind === "move" && m === "POST" && rest.length === 0) return move(req);
  if (kind === "copy" && m === "POST" && rest.length === 0) return copy(req);
  // Storage's bulk delete, `DELETE /object/<bucket>` with {"prefixes": [names]} (issue 17:
  // `cargo xtask restore --force` empties Storage this way, as on hosted, never by SQL).
  if (m === "DELETE" && kind !== undefined && rest.length === 0) {
    return removeObjects(req, kind);
  }
  const objectPath = kind === "authenticated" ? rest : [kind, ...rest];
  const [bucketId, name] = split(objectPath);
  switch (m) {
    case "GET":
    case "HEAD": {
      const caller = storageCaller(req);
      return serveFile(bucketId, name, await visibleObject(caller, bucketId, name));
    }
    case "POST":
      return upload(req, bucketId, name, (r) => {
        const caller = storageCaller(r);
        return { caller, owner: ownerOf(caller), upsert: r.headers.get("x-upsert") === "true" };
      });
    case "PUT":
      return upload(req, bucketId, name, (r) => {
        const caller = storageCaller(r);
        return { caller, owner: ownerOf(caller), upsert: true };
      });
    case "DELETE":
      return removeObject(req, bucketId, name);
  }
  throw new StorageError(405, "MethodNotAllowed", `method ${m} is not served here`);
}

async function signUrl(req: Request, bucketId: string, name: string): Promise<Response> {
  const caller = storageCaller(req);
  const body = await readJson(req);
  const iat = Math.floor(Date.now() / 1000);
  const expiresIn = signedUrlLifetime((body as { expiresIn?: unknown } | null)?.expiresIn, iat);
  await visibleObject(caller, bucketId, name);
  const token = await signJwt({ url: `${bucketId}/${name}`, scope: "download", iat, exp: iat + expiresIn });
  const encoded = name.split("/").map(encodeURIComponent).join("/");
  return Response.json({ signedURL: `/object/sign/${bucketId}/${encoded}?token=${token}` }, {
    headers: cors,
  });
}

/** Storage's MAX_OBJECTS_PER_REQUEST: the most names one bulk call takes. */
const MAX_OBJECTS = 1000;

function names(body: unknown, key: string): string[] {
  const v = (body as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_OBJECTS || v.some((p) => typeof p !== "string")) {
    throw new StorageError(400, "InvalidRequest", `give ${key}: a list of 1 to ${MAX_OBJECTS} object names`);
  }
  return v as string[];
}

/** Signed URLs for several objects: one for each name the caller may select, an error for the
 * rest (Storage's `signObjectUrls`). */
async function signUrls(req: Request, bucketId: string): Promise<Response> {
  const caller = storageCaller(req);
  const body = await readJson(req);
  const iat = Math.floor(Date.now() / 1000);
  const expiresIn = signedUrlLifetime((body as { expiresIn?: unknown } | null)?.expiresIn, iat);
  const paths = names(body, "paths");
  const visible = new Set(
    (await asCaller(caller, (tx) =>
      tx<{ name: string }[]>`select name from storage.objects
        where bucket_id = ${bucketId} and name = any(${paths}::text[])`
    )).map((r) => r.name),
  );
  const out = [];
  for (const path of paths) {
    if (!visible.has(path)) {
      out.push({ error: "Either the object does not exist or you do not have access to it", path, signedURL: null });
      continue;
    }
    const token = await signJwt({ url: `${bucketId}/${path}`, scope: "download", iat, exp: iat + expiresIn });
    out.push({ error: null, path, signedURL: `/object/sign/${bucketId}/${path}?token=${token}` });
  }
  return Response.json(out, { headers: cors });
}

/** Storage's `uploadSignedUrlExpirationTime` default: two hours. */
const SIGNED_UPLOAD_SECONDS = 7200;

/**
 * A signed upload URL (Storage's `signUploadObjectUrl`): the caller's insert is tried now, as
 * them, and rolled back; the URL then uploads to this one name, once unless it was signed with
 * `x-upsert: true` (a second upload meets the object and gets 409).
 */
async function signUpload(req: Request, bucketId: string, name: string): Promise<Response> {
  const caller = storageCaller(req);
  checkName(name);
  await findBucket(bucketId);
  const owner = ownerOf(caller);
  const upsert = req.headers.get("x-upsert") === "true";
  await canWrite(caller, bucketId, name, owner, upsert);
  const iat = Math.floor(Date.now() / 1000);
  const url = `${bucketId}/${name}`;
  const token = await signJwt({ owner, url, upsert, scope: "upload", iat, exp: iat + SIGNED_UPLOAD_SECONDS });
  return Response.json({ url: `/object/upload/sign/${url}?token=${token}`, token }, { headers: cors });
}

class Rollback extends Error {}

/** Whether the caller may write `name` (Storage's `canUpload`): the insert is tried as them
 * and rolled back; refusals as a write's. */
async function canWrite(caller: Caller, bucketId: string, name: string, owner: string | null, upsert: boolean) {
  try {
    await asCaller(caller, async (tx) => {
      if (upsert) {
        await tx`insert into storage.objects (bucket_id, name, owner, owner_id, version)
          values (${bucketId}, ${name}, ${owner}, ${owner}, ${crypto.randomUUID()})
          on conflict (bucket_id, name) do update set version = excluded.version,
            owner = excluded.owner, owner_id = excluded.owner_id`;
      } else {
        await tx`insert into storage.objects (bucket_id, name, owner, owner_id, version)
          values (${bucketId}, ${name}, ${owner}, ${owner}, ${crypto.randomUUID()})`;
      }
      throw new Rollback();
    });
  } catch (e) {
    if (e instanceof Rollback) return;
    throw writeRefusal(e);
  }
}

type Listed = {
  name: string;
  id: string | null;
  updated_at: string | null;
  created_at: string | null;
  last_accessed_at: string | null;
  metadata: unknown;
};

const SORT_COLUMNS = ["name", "updated_at", "created_at", "last_accessed_at"];

/** `POST /object/list/<bucket>` (Storage's `searchObjects`): one folder level through
 * `storage.search`, as the caller, so RLS decides which objects (and folders) show. */
async function list(req: Request, bucketId: string): Promise<Response> {
  const caller = storageCaller(req);
  const body = await readJson(req);
  let prefix = str(body, "prefix", true)!;
  const search = str(body, "search", false) ?? "";
  const limit = int(body, "limit", 1) ?? 100;
  const offset = int(body, "offset", 0) ?? 0;
  const sortBy = (body as { sortBy?: { column?: unknown; order?: unknown } } | null)?.sortBy;
  const column = sortBy?.column ?? "name";
  const order = sortBy?.order ?? "asc";
  if (typeof column !== "string" || !SORT_COLUMNS.includes(column) || (order !== "asc" && order !== "desc")) {
    throw new StorageError(400, "InvalidRequest", "sortBy: column name, updated_at, created_at or last_accessed_at; order asc or desc");
  }
  if (prefix.length > 0 && !prefix.endsWith("/")) prefix = `${prefix}/`;
  // As Storage: the pattern is escaped only when sorting by a time column.
  const escape = (s: string) => column === "name" ? s : s.replace(/[\\%_]/g, (c) => `\\${c}`);
  const p = escape(prefix);
  const q = escape(search);
  const rows = await asCaller(caller, (tx) =>
    tx<Listed[]>`select * from storage.search(${p}, ${bucketId}, ${limit}::int,
      ${(p + q).split("/").length}::int, ${offset}::int, ${q}, ${column}, ${order})`
  );
  return Response.json(rows, { headers: cors });
}

type Moved = { bucketId: string; sourceKey: string; destBucket: string; destKey: string };

function transfer(body: unknown): Moved {
  const bucketId = str(body, "bucketId", true)!;
  const sourceKey = str(body, "sourceKey", true)!;
  const destKey = str(body, "destinationKey", true)!;
  const destBucket = str(body, "destinationBucket", false) ?? bucketId;
  checkName(sourceKey);
  checkName(destKey);
  return { bucketId, sourceKey, destBucket, destKey };
}

/**
 * `POST /object/move` (Storage's `moveObject`): the caller must select the source and update it
 * to its new bucket and name, so the update's `using` (source) and `with check` (destination)
 * policies both decide. The bytes move inside the same transaction.
 */
async function move(req: Request): Promise<Response> {
  const caller = storageCaller(req);
  const { bucketId, sourceKey, destBucket, destKey } = transfer(await readJson(req));
  await findBucket(bucketId);
  await findBucket(destBucket);
  const owner = ownerOf(caller);
  const version = crypto.randomUUID();
  try {
    const id = await asCaller(caller, async (tx) => {
      const seen = await tx`select id from storage.objects where bucket_id = ${bucketId} and name = ${sourceKey}`;
      if (seen.length === 0) throw notFound();
      const rows = await tx<{ id: string }[]>`update storage.objects
        set bucket_id = ${destBucket}, name = ${destKey}, version = ${version},
            owner = coalesce(${owner}::uuid, owner), owner_id = coalesce(${owner}, owner_id)
        where bucket_id = ${bucketId} and name = ${sourceKey}
        returning id`;
      if (rows.length === 0) throw new StorageError(403, "Unauthorized", "Access denied");
      if (bucketId !== destBucket || sourceKey !== destKey) {
        const to = filePath(destBucket, destKey);
        await Deno.mkdir(to.substring(0, to.lastIndexOf("/")), { recursive: true });
        await Deno.rename(filePath(bucketId, sourceKey), to);
      }
      return rows[0].id;
    });
    return Response.json({ message: "Successfully moved", Id: id, Key: destKey }, { headers: cors });
  } catch (e) {
    throw writeRefusal(e);
  }
}

/**
 * `POST /object/copy` (Storage's `copyObject`): the caller must select the source and insert
 * the destination (upsert with `x-upsert: true`), as themselves; the destination bucket's
 * size and type limits apply.
 */
async function copy(req: Request): Promise<Response> {
  const caller = storageCaller(req);
  const body = await readJson(req);
  const { bucketId, sourceKey, destBucket, destKey } = transfer(body);
  await findBucket(bucketId);
  const dest = await findBucket(destBucket);
  const upsert = req.headers.get("x-upsert") === "true";
  const owner = ownerOf(caller);
  const version = crypto.randomUUID();
  try {
    const row = await asCaller(caller, async (tx) => {
      const src = await tx<{ metadata: Record<string, unknown> | null; user_metadata: unknown }[]>`
        select metadata, user_metadata from storage.objects
        where bucket_id = ${bucketId} and name = ${sourceKey}`;
      if (src.length === 0) throw notFound();
      const metadata = { ...(src[0].metadata ?? {}) };
      const given = (body as { copyMetadata?: unknown; metadata?: Record<string, unknown> }) ?? {};
      if (given.copyMetadata === false && given.metadata) {
        if (typeof given.metadata.cacheControl === "string") metadata.cacheControl = given.metadata.cacheControl;
        if (typeof given.metadata.mimetype === "string") metadata.mimetype = given.metadata.mimetype;
      }
      const size = Number(metadata.size ?? 0);
      const limit = Math.min(GLOBAL_FILE_LIMIT, Number(dest.file_size_limit ?? GLOBAL_FILE_LIMIT));
      if (size > limit) throw tooLarge();
      const mime = String(metadata.mimetype ?? "application/octet-stream");
      if (!mimeAllowed(dest, mime)) {
        throw new StorageError(415, "invalid_mime_type", `mime type ${mime} is not supported`);
      }
      const rows = upsert
        ? await tx`insert into storage.objects (bucket_id, name, owner, owner_id, metadata, user_metadata, version)
            values (${destBucket}, ${destKey}, ${owner}, ${owner}, ${tx.json(metadata as postgres.JSONValue)},
              ${tx.json(src[0].user_metadata as postgres.JSONValue)}, ${version})
            on conflict (bucket_id, name) do update set metadata = excluded.metadata,
              user_metadata = excluded.user_metadata, version = excluded.version,
              owner = excluded.owner, owner_id = excluded.owner_id, updated_at = now()
            returning id, bucket_id, name, owner, version, metadata, created_at, updated_at`
        : await tx`insert into storage.objects (bucket_id, name, owner, owner_id, metadata, user_metadata, version)
            values (${destBucket}, ${destKey}, ${owner}, ${owner}, ${tx.json(metadata as postgres.JSONValue)},
              ${tx.json(src[0].user_metadata as postgres.JSONValue)}, ${version})
            returning id, bucket_id, name, owner, version, metadata, created_at, updated_at`;
      await writeFile(destBucket, destKey, await Deno.readFile(filePath(bucketId, sourceKey)), version);
      return rows[0];
    });
    return Response.json({ Id: row.id, Key: `${destBucket}/${destKey}`, ...row }, { headers: cors });
  } catch (e) {
    throw writeRefusal(e);
  }
}

type InfoRow = {
  id: string;
  name: string;
  version: string | null;
  bucket_id: string;
  metadata: Record<string, unknown> | null;
  user_metadata: unknown;
  created_at: string;
  updated_at: string;
};

/** `GET /object/info/...` (Storage's info renderer). A public bucket's objects are read as the
 * gateway, as Storage reads them as its superuser; others as the caller. */
async function info(caller: Caller | null, [bucketId, name]: readonly [string, string], publicRoute: boolean) {
  checkName(name);
  const bucket = await findBucket(bucketId);
  if (caller === null && !bucket.public) throw new StorageError(404, "Bucket not found", "Bucket not found");
  const query = (tx: postgres.Sql | postgres.TransactionSql) =>
    tx<InfoRow[]>`select id, name, version, bucket_id, metadata, user_metadata, created_at, updated_at
      from storage.objects where bucket_id = ${bucketId} and name = ${name}`;
  const rows = bucket.public || publicRoute || caller === null
    ? await query(sql)
    : await asCaller(caller, (tx) => query(tx));
  if (rows.length === 0) throw notFound();
  const o = rows[0];
  const m = o.metadata ?? {};
  return Response.json({
    id: o.id,
    name: o.name,
    version: o.version,
    bucket_id: o.bucket_id,
    size: m.size ?? null,
    content_type: m.mimetype ?? null,
    cache_control: m.cacheControl ?? null,
    etag: m.eTag ?? null,
    metadata: o.user_metadata,
    last_modified: o.updated_at,
    created_at: o.created_at,
  }, { headers: cors });
}

/** `DELETE /object/<bucket>/<name>` (Storage's `deleteObject`): 404 when there is no such
 * object, 403 when the caller's policies do not delete it. */
async function removeObject(req: Request, bucketId: string, name: string): Promise<Response> {
  const caller = storageCaller(req);
  await objectRow(bucketId, name);
  const deleted = await asCaller(caller, async (tx) => {
    const rows = await tx`delete from storage.objects where bucket_id = ${bucketId} and name = ${name} returning id`;
    if (rows.length > 0) await Deno.remove(filePath(bucketId, name)).catch(() => {});
    return rows.length;
  });
  if (deleted === 0) throw new StorageError(403, "Unauthorized", "Access denied");
  return Response.json({ message: "Successfully deleted" }, { headers: cors });
}

/** Deletes the named objects of a bucket the caller may delete (RLS decides; the others stay,
 * without an error), rows then bytes; answers with the deleted objects, as Storage does. */
async function removeObjects(req: Request, bucketId: string): Promise<Response> {
  const caller = storageCaller(req);
  const prefixes = names(await readJson(req), "prefixes");
  await findBucket(bucketId);
  const deleted = await asCaller(caller, async (tx) => {
    const rows = await tx`delete from storage.objects
      where bucket_id = ${bucketId} and name = any(${prefixes}::text[])
      returning name, id, metadata, created_at, updated_at`;
    for (const r of rows) {
      await Deno.remove(filePath(bucketId, r.name as string)).catch(() => {});
    }
    return rows;
  });
  return Response.json(deleted.map((r) => ({ ...r, bucket_id: bucketId })), { headers: cors });
}

// ---------------------------------------------------------------------------------- buckets

/** Storage's bucket-name rule (`isValidBucketName`). */
function checkBucketName(name: unknown): asserts name is string {
  if (
    typeof name !== "string" || name.length === 0 || name.length > 100 || name.trim() !== name ||
    !/^[A-Za-z0-9_!.*'() &$=@;:+,?-]*$/.test(name) || name.endsWith("--table-s3")
  ) {
    throw new StorageError(400, "Invalid Input", "Bucket name invalid");
  }
}

/** A bucket's `file_size_limit` and `allowed_mime_types` from a create or update body. */
function bucketLimits(body: Record<string, unknown>): { limit?: number | null; mimes?: string[] | null } {
  const out: { limit?: number | null; mimes?: string[] | null } = {};
  const l = body.file_size_limit;
  if (l === null) out.limit = null;
  else if (typeof l === "number" || typeof l === "string") {
    const m = String(l).match(/^([0-9]+(?:\.[0-9]+)?)(gb|mb|kb|b)?$/i);
    if (!m) throw new StorageError(400, "InvalidRequest", "file_size_limit: bytes or a size like 20MB");
    const unit = { gb: 1 << 30, mb: 1 << 20, kb: 1 << 10, b: 1 }[(m[2] ?? "b").toLowerCase()]!;
    out.limit = Math.floor(Number(m[1]) * unit);
    if (out.limit > GLOBAL_FILE_LIMIT) throw tooLarge();
  }
  const t = body.allowed_mime_types;
  if (t === null) out.mimes = null;
  else if (t !== undefined) {
    if (!Array.isArray(t) || t.some((x) => typeof x !== "string" || x.length > 1000)) {
      throw new StorageError(400, "InvalidRequest", "allowed_mime_types: a list of MIME types");
    }
    out.mimes = (t as string[]).filter((x) => x);
  }
  return out;
}

const BUCKET_COLUMNS = "id, name, owner, public, created_at, updated_at, file_size_limit, allowed_mime_types";

/**
 * The bucket API. Every call runs as the caller against the real `storage.buckets` policies
 * (the model grants no role any bucket policy, so only the service key manages buckets and
 * only it sees them); `empty` deletes through the caller's `storage.objects` policies.
 */
async function buckets(req: Request, url: URL, path: string[]): Promise<Response> {
  const caller = storageCaller(req);
  const m = req.method;
  if (path.length === 0 && m === "GET") {
    const q = url.searchParams;
    const limit = q.has("limit") ? Number(q.get("limit")) : null;
    const offset = q.has("offset") ? Number(q.get("offset")) : null;
    const search = q.get("search") ?? "";
    const column = q.get("sortColumn") ?? "name";
    const order = q.get("sortOrder") === "desc" ? "desc" : "asc";
    if (!["id", "name", "created_at", "updated_at"].includes(column)) {
      throw new StorageError(400, "InvalidRequest", "sortColumn: id, name, created_at or updated_at");
    }
    const rows = await asCaller(caller, (tx) =>
      tx.unsafe(
        `select ${BUCKET_COLUMNS} from storage.buckets where name ilike $1
         order by ${column} ${order} limit $2 offset $3`,
        [`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, limit, offset ?? 0],
      )
    );
    return Response.json(rows, { headers: cors });
  }
  if (path.length === 0 && m === "POST") {
    const body = ((await readJson(req)) ?? {}) as Record<string, unknown>;
    checkBucketName(body.name);
    const id = body.id ?? body.name;
    checkBucketName(id);
    const { limit, mimes } = bucketLimits(body);
    const owner = ownerOf(caller);
    try {
      await asCaller(caller, (tx) =>
        tx`insert into storage.buckets (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types)
          values (${id}, ${body.name as string}, ${owner}, ${owner}, ${body.public === true},
            ${limit ?? null}, ${mimes ?? null})`
      );
    } catch (e) {
      const refused = writeRefusal(e);
      if (refused instanceof StorageError && refused.status === 409) {
        throw new StorageError(409, "Duplicate", "The resource already exists", "BucketAlreadyExists");
      }
      throw refused;
    }
    return Response.json({ name: body.name }, { headers: cors });
  }
  const [id, action] = path;
  checkBucketName(id);
  if (path.length === 1 && m === "GET") {
    const rows = await asCaller(caller, (tx) =>
      tx.unsafe(`select ${BUCKET_COLUMNS} from storage.buckets where id = $1`, [id])
    );
    if (rows.length === 0) throw new StorageError(404, "Bucket not found", "Bucket not found");
    return Response.json(rows[0], { headers: cors });
  }
  if (path.length === 1 && m === "PUT") {
    const body = ((await readJson(req)) ?? {}) as Record<string, unknown>;
    const { limit, mimes } = bucketLimits(body);
    const pub = typeof body.public === "boolean" ? body.public : null;
    if (pub === null && limit === undefined && mimes === undefined) {
      throw new StorageError(400, "InvalidRequest", "No content provided");
    }
    const rows = await asCaller(caller, (tx) =>
      tx`update storage.buckets set
          public = coalesce(${pub}, public),
          file_size_limit = case when ${limit !== undefined} then ${limit ?? null}::bigint else file_size_limit end,
          allowed_mime_types = case when ${mimes !== undefined} then ${mimes ?? null}::text[] else allowed_mime_types end,
          updated_at = now()
        where id = ${id} returning id`
    ).catch((e) => {
      throw writeRefusal(e);
    });
    if (rows.length === 0) throw new StorageError(404, "Bucket not found", "Bucket not found");
    return Response.json({ message: "Successfully updated" }, { headers: cors });
  }
  if (path.length === 2 && action === "empty" && m === "POST") {
    const seen = await asCaller(caller, (tx) => tx`select id from storage.buckets where id = ${id}`);
    if (seen.length === 0) throw new StorageError(404, "Bucket not found", "Bucket not found");
    await asCaller(caller, async (tx) => {
      const rows = await tx`delete from storage.objects where bucket_id = ${id} returning name`;
      for (const r of rows) await Deno.remove(filePath(id, r.name as string)).catch(() => {});
    });
    return Response.json({ message: "Successfully emptied" }, { headers: cors });
  }
  if (path.length === 1 && m === "DELETE") {
    // Unlike Storage, which counts the objects as its superuser first, a caller who cannot see
    // the bucket learns nothing about it, not even whether it is empty.
    const seen = await asCaller(caller, (tx) => tx`select id from storage.buckets where id = ${id}`);
    if (seen.length === 0) throw new StorageError(404, "Bucket not found", "Bucket not found");
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from storage.objects where bucket_id = ${id}`;
    if (n > 0) throw new StorageError(409, "ResourceNotEmpty", "The bucket you tried to delete is not empty");
    const rows = await asCaller(caller, (tx) => tx`delete from storage.buckets where id = ${id} returning id`);
    if (rows.length === 0) throw new StorageError(404, "Bucket not found", "Bucket not found");
    return Response.json({ message: "Successfully deleted" }, { headers: cors });
  }
  throw new StorageError(405, "MethodNotAllowed", `method ${m} is not served here`);
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
