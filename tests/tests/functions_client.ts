// A web client against the local gateway with the real @supabase/supabase-js (pinned in
// package.json): Storage upload, download and signed URL, and functions.invoke. Run by
// tests/tests/functions_gateway.rs, which passes the URLs, keys and ids in the environment and
// reads the JSON printed on stdout.
import { createClient } from "npm:@supabase/supabase-js@2.119.1";

const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const supabase = createClient(env("GATEWAY_URL"), env("ANON_KEY"), {
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
}));
