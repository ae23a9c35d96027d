// The Storage API of the local gateway through the real @supabase/supabase-js (pinned in
// package.json): every object and bucket call storage-js makes, by users on their own folders
// and, from the attacker's side, on other users' objects; the personas sign in with their
// passwords through the local Auth API. Run by tests/it/storage_api.rs, which seeds the rows,
// passes keys, emails and ids in the environment and asserts on the JSON printed on stdout: for
// each step its HTTP status (200 for success), Storage's error, and data.
import { createClient, type SupabaseClient } from "npm:@supabase/supabase-js@2.119.1";

const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env("GATEWAY_URL");
const as = (_session: null, key = env("PUBLISHABLE_KEY")): SupabaseClient =>
  createClient(url, key, { auth: { persistSession: false, autoRefreshToken: false } });
/** A persona signed in with the demo password through the local Auth API: its session's
 * access token (through the custom access token hook) is what Storage sees. */
async function signedIn(email: string): Promise<SupabaseClient> {
  const c = as(null);
  const { error } = await c.auth.signInWithPassword({ email, password: env("DEMO_PASSWORD") });
  if (error) throw new Error(`sign-in of ${email}: ${error.message}`);
  return c;
}
const client = await signedIn(env("CLIENT_EMAIL"));
const client2 = await signedIn(env("CLIENT2_EMAIL"));
const designer = await signedIn(env("DESIGNER_EMAIL"));
const admin = await signedIn(env("ADMIN_EMAIL"));
const anon = as(null);
const service = as(null, env("SECRET_KEY"));

const me = env("CLIENT_ID");
const other = env("CLIENT2_ID");
const published = env("PUBLISHED_PROJECT");
const unpublished = env("UNPUBLISHED_PROJECT");
const post = env("PUBLISHED_POST");
const draft = env("DRAFT_POST");
const png = Uint8Array.from(atob(env("PNG_BASE64")), (c) => c.charCodeAt(0));
const file = () => new Blob([png], { type: "image/png" });

type Step = { status: number | null; code: string | null; message: string | null; data: unknown };
const out: Record<string, Step> = {};

/** Records a storage-js call: 200 and its data, or the API's status and error code. */
async function step(name: string, call: PromiseLike<{ data: unknown; error: unknown }>) {
  const { data, error } = await call;
  const e = error as { status?: number; statusCode?: string; code?: string; message?: string } | null;
  out[name] = e
    ? { status: e.status ?? null, code: e.code ?? e.statusCode ?? null, message: e.message ?? null, data: null }
    : { status: 200, code: null, message: null, data };
  return data;
}

/** A plain GET of a URL storage-js built: its status, and whether the body is the PNG. */
async function fetched(name: string, target: string) {
  const res = await fetch(target);
  const body = new Uint8Array(await res.arrayBuffer());
  out[name] = {
    status: res.status,
    code: null,
    message: null,
    data: body.length === png.length && body.every((b, i) => b === png[i]),
  };
}

/** A step whose data is a list of objects: recorded as their sorted names. */
async function listed(name: string, call: PromiseLike<{ data: unknown; error: unknown }>) {
  await step(name, call);
  out[name].data = ((out[name].data as { name: string }[] | null) ?? []).map((o) => o.name).sort();
}

const renders = (c: SupabaseClient) => c.storage.from("renders");

// ------------------------------------------------------------------ one's own folder
await step("upload_own", renders(client).upload(`${me}/api/a.png`, file()));
await step("upload_other", renders(client2).upload(`${other}/api/theirs.png`, file()));
await step("upload_into_other", renders(client).upload(`${other}/api/planted.png`, file()));
await listed("list_own", renders(client).list(`${me}/api`));
await listed("list_own_search", renders(client).list(`${me}/api`, { search: "a.", limit: 10, offset: 0, sortBy: { column: "created_at", order: "desc" } }));
await step("update_own", renders(client).update(`${me}/api/a.png`, file()));
await step("move_own", renders(client).move(`${me}/api/a.png`, `${me}/api/b.png`));
await step("exists_moved_from", renders(client).exists(`${me}/api/a.png`));
await step("exists_moved_to", renders(client).exists(`${me}/api/b.png`));
await step("info_own", renders(client).info(`${me}/api/b.png`));
await step("copy_own", renders(client).copy(`${me}/api/b.png`, `${me}/api/c.png`));
const signedOwn = await step(
  "sign_many",
  renders(client).createSignedUrls([`${me}/api/b.png`, `${other}/api/theirs.png`], 60),
) as { signedUrl: string | null; error: string | null }[] | null;
if (signedOwn?.[0]?.signedUrl) await fetched("sign_many_download", signedOwn[0].signedUrl);

// Signed upload URLs: once, for their one path.
const up = await step("sign_upload", renders(client).createSignedUploadUrl(`${me}/api/signed.png`)) as
  | { token: string; path: string }
  | null;
await step("sign_upload_other_path", renders(client).uploadToSignedUrl(`${me}/api/elsewhere.png`, up?.token ?? "", file()));
await step("sign_upload_into_other", renders(anon).uploadToSignedUrl(`${other}/api/signed.png`, up?.token ?? "", file()));
await step("sign_upload_use", renders(anon).uploadToSignedUrl(`${me}/api/signed.png`, up?.token ?? "", file()));
await step("sign_upload_reuse", renders(anon).uploadToSignedUrl(`${me}/api/signed.png`, up?.token ?? "", file()));
await step("sign_upload_for_other", renders(client).createSignedUploadUrl(`${other}/api/x.png`));

// -------------------------------------------------------------- the attacker's side
await listed("list_other_prefix", renders(client).list(`${other}/api`));
await listed("list_other_by_search", renders(client).list("", { search: other }));
await step("move_into_other", renders(client).move(`${me}/api/b.png`, `${other}/api/stolen.png`));
await step("move_traversal", renders(client).move(`${me}/api/b.png`, `${me}/../${other}/api/stolen.png`));
await step("move_traversal_deep", renders(client).move(`${me}/api/b.png`, `${me}/api/../../${other}/stolen.png`));
await step("copy_traversal", renders(client).copy(`${me}/api/b.png`, `${me}/./../${other}/api/stolen.png`));
await step("copy_other_into_own", renders(client).copy(`${other}/api/theirs.png`, `${me}/api/loot.png`));
await step("move_other_into_own", renders(client).move(`${other}/api/theirs.png`, `${me}/api/loot.png`));
await step(
  "move_into_unwritable_bucket",
  renders(client).move(`${me}/api/b.png`, `${published}/from-client.png`, { destinationBucket: "portfolio-public" }),
);
await step(
  "copy_into_unwritable_bucket",
  renders(client).copy(`${me}/api/b.png`, `${published}/from-client.png`, { destinationBucket: "project-media" }),
);
// The secret key passes every policy, so the name rule alone keeps its writes inside the bucket.
await step("service_upload", renders(service).upload(`${other}/api/service.png`, file()));
await step("service_move_traversal", renders(service).move(`${other}/api/service.png`, `../escaped.png`));
await step("service_copy_traversal", renders(service).copy(`${other}/api/service.png`, `${other}/../../escaped.png`));
await step("info_other", renders(client).info(`${other}/api/theirs.png`));
await listed("remove_mixed", renders(client).remove([`${me}/api/c.png`, `${other}/api/theirs.png`]));
await step("other_survives", renders(client2).exists(`${other}/api/theirs.png`));
await listed("remove_own", renders(client).remove([`${me}/api/b.png`, `${me}/api/signed.png`]));
await listed("list_after_remove", renders(client).list(`${me}/api`));

// ------------------------------------------------------------------------ buckets
await step("buckets_as_client", client.storage.listBuckets());
await step("buckets_as_anon", anon.storage.listBuckets());
await step("bucket_get_as_client", client.storage.getBucket("renders"));
await step("bucket_create_as_client", client.storage.createBucket("client-bucket", { public: true }));
await step("bucket_create_as_anon", anon.storage.createBucket("anon-bucket"));
await step("bucket_update_as_client", client.storage.updateBucket("renders", { public: true }));
await step("bucket_empty_as_client", client.storage.emptyBucket("renders"));
await step("bucket_delete_as_admin", admin.storage.deleteBucket("social-uploads"));
await step("buckets_as_service", service.storage.listBuckets());
out.buckets_as_service.data = ((out.buckets_as_service.data as { id: string; public: boolean }[] | null) ?? [])
  .map((b) => `${b.id}${b.public ? " (public)" : ""}`).sort();
await step("bucket_get_as_service", service.storage.getBucket("portfolio-public"));
await step("bucket_create", service.storage.createBucket("scratch", { public: false, fileSizeLimit: "1MB", allowedMimeTypes: ["image/png"] }));
await step("bucket_update", service.storage.updateBucket("scratch", { public: false, fileSizeLimit: 2048, allowedMimeTypes: ["image/png"] }));
await step("bucket_upload", service.storage.from("scratch").upload("x/one.png", file()));
await step("bucket_delete_nonempty", service.storage.deleteBucket("scratch"));
await step("bucket_empty", service.storage.emptyBucket("scratch"));
await step("bucket_delete", service.storage.deleteBucket("scratch"));

// ------------------------------------------------------------------ public media
const media = (c: SupabaseClient, b: string) => c.storage.from(b);
await step("designer_upload_private", media(designer, "project-media").upload(`${published}/photo.png`, file(), { upsert: true }));
await step("designer_upload_unpublished", media(designer, "project-media").upload(`${unpublished}/draft.png`, file(), { upsert: true }));
await step(
  "publish_copy",
  media(designer, "project-media").copy(`${published}/photo.png`, `${published}/photo.png`, { destinationBucket: "portfolio-public" }),
);
await step(
  "publish_unpublished_copy",
  media(designer, "project-media").copy(`${unpublished}/draft.png`, `${unpublished}/draft.png`, { destinationBucket: "portfolio-public" }),
);
await step("publish_unpublished_upload", media(designer, "portfolio-public").upload(`${unpublished}/direct.png`, file()));
await step("client_publish", media(client, "portfolio-public").upload(`${published}/client.png`, file()));
await fetched("public_approved", anon.storage.from("portfolio-public").getPublicUrl(`${published}/photo.png`).data.publicUrl);
await fetched("public_private_bucket", anon.storage.from("project-media").getPublicUrl(`${published}/photo.png`).data.publicUrl);
await fetched("public_unpublished", anon.storage.from("portfolio-public").getPublicUrl(`${unpublished}/draft.png`).data.publicUrl);
await step("public_info", anon.storage.from("portfolio-public").info(`${published}/photo.png`));
await listed("public_list_anon", anon.storage.from("portfolio-public").list(published));
await step("blog_publish_author", media(admin, "blog-public").upload(`${post}/cover.png`, file()));
await step("blog_publish_draft", media(designer, "blog-public").upload(`${draft}/cover.png`, file()));
await fetched("blog_public_approved", anon.storage.from("blog-public").getPublicUrl(`${post}/cover.png`).data.publicUrl);

console.log(JSON.stringify(out));
