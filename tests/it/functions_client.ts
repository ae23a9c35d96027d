// Clients against the local gateway with the real @supabase/supabase-js (pinned in
// package.json), created with the current API keys: a web client with the publishable key and a
// user's session (Storage upload, download and signed URL, functions.invoke), the same key with
// no session, and a server client with the secret key. Run by tests/it/functions_gateway.rs,
// which passes the URLs, keys and ids in the environment and reads the JSON printed on stdout.
import { createClient } from "npm:@supabase/supabase-js@2.119.1";

const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const supabase = createClient(env("GATEWAY_URL"), env("PUBLISHABLE_KEY"), {
  global: { headers: { Authorization: `Bearer ${env("ACCESS_TOKEN")}` } },
  auth: { persistSession: false, autoRefreshToken: false },
});

const png = Uint8Array.from(atob(env("PNG_BASE64")), (c) => c.charCodeAt(0));
const bucket = supabase.storage.from("renders");
const own = `${env("USER_ID")}/client-js/input.png`;

const uploaded = await bucket.upload(own, new Blob([png], { type: "image/png" }), { upsert: true });
const downloaded = await bucket.download(own);
const bytes = downloaded.data ? new Uint8Array(await downloaded.data.arrayBuffer()) : null;
const signed = await bucket.createSignedUrl(own, 60);
const viaSigned = signed.data
  ? new Uint8Array(await (await fetch(signed.data.signedUrl)).arrayBuffer())
  : null;
const foreign = await bucket.upload(
  `${env("OTHER_USER_ID")}/client-js/x.png`,
  new Blob([png], { type: "image/png" }),
);
const invoked = await supabase.functions.invoke("process-render-request", {
  body: { request_id: env("REQUEST_ID") },
});
const same = (a: Uint8Array | null) =>
  a !== null && a.length === png.length && a.every((b, i) => b === png[i]);

// The publishable key without a session: the anonymous role, which the function refuses (it
// serves users and the service role) and private Storage hides objects from.
const anonymous = createClient(env("GATEWAY_URL"), env("PUBLISHABLE_KEY"), {
  auth: { persistSession: false, autoRefreshToken: false },
});
const anonInvoked = await anonymous.functions.invoke("assign-leads", {
  body: { lead_id: "8f1c1a8e-3c1b-4f7e-9a57-0d7b1f0c2a11" },
});
const anonDownload = await anonymous.storage.from("renders").download(own);

// The secret key from a server (Deno's own User-Agent): the service role, past RLS.
const server = createClient(env("GATEWAY_URL"), env("SECRET_KEY"), {
  auth: { persistSession: false, autoRefreshToken: false },
});
const serviceDownload = await server.storage.from("renders").download(own);
const serviceBytes = serviceDownload.data
  ? new Uint8Array(await serviceDownload.data.arrayBuffer())
  : null;
const drained = await server.functions.invoke("process-render-request", { body: { drain: true } });
const status = (e: unknown) => (e as { context?: Response } | null)?.context?.status ?? null;

console.log(JSON.stringify({
  upload: {
    path: uploaded.data?.path ?? null,
    fullPath: uploaded.data?.fullPath ?? null,
    error: uploaded.error?.message ?? null,
  },
  download_matches: same(bytes),
  signed_matches: same(viaSigned),
  foreign_upload_error: foreign.error ? foreign.error.message : null,
  invoke: { data: invoked.data ?? null, error: invoked.error?.message ?? null },
  anon_invoke_status: status(anonInvoked.error),
  anon_download_error: anonDownload.error ? anonDownload.error.message : null,
  service_download_matches: same(serviceBytes),
  drain: { data: drained.data ?? null, error: drained.error?.message ?? null },
}));
