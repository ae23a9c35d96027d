// The local API gateway of `cargo xtask up`: what Supabase's Kong, edge runtime and Storage API
// do for a hosted project, on 127.0.0.1 without Docker.
//
// - `/functions/v1/<name>`: each edge function runs in its own Deno process from its index.ts,
//   with the environment a hosted function gets (SUPABASE_URL, SUPABASE_DB_URL,
//   SUPABASE_PUBLISHABLE_KEYS, SUPABASE_SECRET_KEYS, SUPABASE_JWKS, and the legacy
//   SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY) plus the secrets of supabase/functions/.env.
//   When the function's `verify_jwt` is true the request is checked here first, as Supabase's
//   relay does (any valid project JWT passes, the anon key included, and so does an API key of the
//   project in `apikey`; OPTIONS passes).
// - `/storage/v1/...`: the Storage API (storage.ts), backed by a local folder, every check the
//   real `storage.objects`/`storage.buckets` RLS evaluated as the caller.
// - `/auth/v1/.well-known/jwks.json`: the public keys of the stack's ES256 signing keys.
//
// Every token and API-key decision is moha-edge's (functions/edge/src/gateway.rs): the
// functions' own verification path, compiled to wasm (functions/gateway-auth), so the gateway and
// the functions cannot disagree. A secret key from a browser is refused, as hosted refuses it.
//
// Run by xtask/src/gateway.rs with one argument: a JSON config file (it holds keys; mode 0600).

import { configureStorage, type Decision, handleStorage } from "./storage.ts";
import { configureRealtime, handleRealtime, isRealtime } from "./realtime.ts";
import { authApi, type AuthSettings } from "./authApi.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/_shared/facts.ts";

type FunctionSpec = { name: string; entry: string; verify_jwt: boolean };
type Config = {
  host: string;
  port: number;
  db_url: string;
  anon_key: string;
  service_role_key: string;
  storage_dir: string;
  deno: string;
  functions: FunctionSpec[];
  /** Secrets from supabase/functions/.env (and test overrides), given to every function. */
  function_env: Record<string, string>;
  /** Stop when the process that started the gateway is gone (tests; `up` detaches instead). */
  exit_with_parent: boolean;
  /** The keys and rules of the checks (moha_edge::gateway), passed to them as they are. */
  auth: {
    jwks: { keys: unknown[] };
    publishable_keys: Record<string, string>;
    secret_keys: Record<string, string>;
  };
  /** The checks' wasm module (functions/gateway-auth, built by `cargo xtask functions build`). */
  auth_module: { js: string; wasm: string };
  /** The local Auth API (authApi.ts): config.toml's [auth] and the signing key. */
  auth_api: AuthSettings;
};

const config: Config = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const publicUrl = `http://${config.host}:${config.port}`;

// ------------------------------------------------------------------------------------ JWTs

/** The exports of functions/gateway-auth (moha_edge::gateway). */
type GatewayAuth = {
  initSync: (options: { module: BufferSource }) => unknown;
  configure: (config: string) => void;
  relay: (headers: string, nowS: number) => string;
  storage: (headers: string, nowS: number) => string;
  sign: (claims: string) => string;
  signedUrl: (token: string, object: string, nowS: number) => boolean;
  signedUpload: (token: string, object: string, nowS: number) => string;
};
const auth = (await import(`file://${config.auth_module.js}`)) as GatewayAuth;
auth.initSync({ module: Deno.readFileSync(config.auth_module.wasm) });
auth.configure(JSON.stringify(config.auth));

/** A check of moha_edge::gateway on the request's headers. */
function decide(check: (headers: string, nowS: number) => string, req: Request): Decision {
  return JSON.parse(check(JSON.stringify([...req.headers]), Date.now() / 1000));
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
    SUPABASE_DB_URL: config.db_url,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify(config.auth.publishable_keys),
    SUPABASE_SECRET_KEYS: JSON.stringify(config.auth.secret_keys),
    SUPABASE_JWKS: JSON.stringify(config.auth.jwks),
    // Legacy keys, still given while hosted gives them.
    SUPABASE_ANON_KEY: config.anon_key,
    SUPABASE_SERVICE_ROLE_KEY: config.service_role_key,
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

const cors: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type, x-upsert",
  "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
};

async function invoke(req: Request, name: string, rest: string, search: string) {
  const w = workers.get(name);
  if (!w) return errorJson(404, "Requested function was not found");
  if (w.spec.verify_jwt && req.method !== "OPTIONS") {
    const d = decide(auth.relay, req);
    if (!d.ok) return errorJson(d.status, d.message);
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
  // A null-body status (a preflight's 204) takes no body at all, not even an empty one.
  const nullBody = [101, 204, 205, 304].includes(res.status);
  return new Response(nullBody ? null : answer, { status: res.status, headers: endToEnd(res.headers) });
}

/** The largest body a function accepts. */
const FUNCTION_BODY_LIMIT = MAX_BODY_BYTES;

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

// Supabase Auth at /auth/v1 (issue 19).
const authRoutes = await authApi({
  dbUrl: config.db_url,
  settings: config.auth_api,
  cors,
  caller: (req) => decide(auth.storage, req),
  apiKey: (req) => decide(auth.relay, req),
});

// ---------------------------------------------------------------------------------- server

async function route(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const segments = url.pathname.split("/").slice(1);
  if (url.pathname === "/__gateway/health") {
    return Response.json({ functions: [...workers.keys()] });
  }
  // Supabase Auth's JWKS (hosted also serves it at /auth/v1/jwks).
  if (url.pathname === "/auth/v1/.well-known/jwks.json" || url.pathname === "/auth/v1/jwks") {
    return Response.json(config.auth.jwks, { headers: cors });
  }
  if (segments[0] === "auth" && segments[1] === "v1") return await authRoutes(req, url, segments.slice(2));
  if (segments[0] === "functions" && segments[1] === "v1" && segments[2]) {
    const name = segments[2];
    const rest = segments.length > 3 ? "/" + segments.slice(3).join("/") : "";
    return await invoke(req, name, rest, url.search);
  }
  if (segments[0] === "storage" && segments[1] === "v1") {
    return await handleStorage(req, url, segments.slice(2));
  }
  // Supabase Realtime's websocket (realtime.ts).
  if (isRealtime(url)) return handleRealtime(req, url);
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

await configureStorage({
  db_url: config.db_url,
  storage_dir: config.storage_dir,
  decide: (req) => decide(auth.storage, req),
  sign: (claims) => auth.sign(claims),
  signedUrl: (token, object) => auth.signedUrl(token, object, Date.now() / 1000),
  signedUpload: (token, object) => auth.signedUpload(token, object, Date.now() / 1000),
  cors,
});
await configureRealtime({
  db_url: config.db_url,
  decide: (headers) => JSON.parse(auth.storage(JSON.stringify(headers), Date.now() / 1000)),
});
for (const spec of config.functions) workers.set(spec.name, { spec, port: 0 });
// Every function is up before the gateway answers, so the first request is not a cold start.
await Promise.all([...workers.values()].map(start));
Deno.serve({ hostname: config.host, port: config.port, onListen: () => {} }, route);
console.error(`gateway listening on ${publicUrl}`);
