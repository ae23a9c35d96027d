// Storage objects through the Storage API, for `cargo xtask backup` and `restore` (issue 17):
// the same HTTP calls work against a hosted project and against the local gateway, and restoring
// through the API lets Storage create each object's row (no row written twice, no SQL on
// storage.objects, which hosted refuses).
//
// Reads one job as JSON on stdin:
//   { "op": "download" | "upload" | "verify" | "delete", "api_url": "...", "key": "...",
//     "dir": "<folder of the bytes, one subfolder per bucket>",
//     "objects": [{ "bucket": "...", "name": "...", "content_type": "...", "cache_control": "..." }] }
// and prints one JSON line per object on stdout ({bucket, name, size, sha256} or {bucket, name,
// error}); progress goes to stderr. Eight requests at a time.

type Obj = { bucket: string; name: string; content_type?: string; cache_control?: string };
type Job = { op: string; api_url: string; key: string; dir: string; objects: Obj[] };

const job: Job = JSON.parse(new TextDecoder().decode(await readAll(Deno.stdin.readable)));
const base = job.api_url.replace(/\/+$/, "") + "/storage/v1";
const auth = { apikey: job.key, authorization: `Bearer ${job.key}` };
const encodeName = (name: string) => name.split("/").map(encodeURIComponent).join("/");
const fileOf = (o: Obj) => `${job.dir}/${o.bucket}/${o.name}`;

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function failure(r: Response): Promise<string> {
  return `${r.status} ${(await r.text()).slice(0, 300)}`;
}

async function download(o: Obj): Promise<Record<string, unknown>> {
  const r = await fetch(`${base}/object/authenticated/${o.bucket}/${encodeName(o.name)}`, { headers: auth });
  if (!r.ok) return { error: `download answered ${await failure(r)}` };
  const bytes = new Uint8Array(await r.arrayBuffer());
  const path = fileOf(o);
  await Deno.mkdir(path.substring(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(path, bytes, { mode: 0o600 });
  return { size: bytes.length, sha256: await sha256(bytes) };
}

async function upload(o: Obj): Promise<Record<string, unknown>> {
  const bytes = await Deno.readFile(fileOf(o));
  const headers: Record<string, string> = {
    ...auth,
    "content-type": o.content_type ?? "application/octet-stream",
    "x-upsert": "false",
  };
  if (o.cache_control) headers["cache-control"] = o.cache_control;
  const r = await fetch(`${base}/object/${o.bucket}/${encodeName(o.name)}`, {
    method: "POST",
    headers,
    body: bytes,
  });
  if (!r.ok) return { error: `upload answered ${await failure(r)}` };
  await r.body?.cancel();
  return { size: bytes.length, sha256: await sha256(bytes) };
}

async function verify(o: Obj): Promise<Record<string, unknown>> {
  const r = await fetch(`${base}/object/authenticated/${o.bucket}/${encodeName(o.name)}`, { headers: auth });
  if (!r.ok) return { error: `download answered ${await failure(r)}` };
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { size: bytes.length, sha256: await sha256(bytes) };
}

// Storage's bulk delete: DELETE /object/<bucket> {"prefixes": [...]}, up to 1000 names a call.
async function removeAll(objects: Obj[]): Promise<void> {
  const byBucket = new Map<string, string[]>();
  for (const o of objects) byBucket.set(o.bucket, [...(byBucket.get(o.bucket) ?? []), o.name]);
  let done = 0;
  for (const [bucket, names] of byBucket) {
    for (let i = 0; i < names.length; i += 1000) {
      const prefixes = names.slice(i, i + 1000);
      const r = await fetch(`${base}/object/${bucket}`, {
        method: "DELETE",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ prefixes }),
      });
      const text = await r.text();
      for (const name of prefixes) {
        console.log(JSON.stringify(r.ok ? { bucket, name } : { bucket, name, error: `delete answered ${r.status} ${text.slice(0, 300)}` }));
      }
      done += prefixes.length;
      console.error(`deleted ${done}/${objects.length}`);
    }
  }
}

const ops: Record<string, (o: Obj) => Promise<Record<string, unknown>>> = { download, upload, verify };
if (job.op === "delete") {
  await removeAll(job.objects);
} else {
  const op = ops[job.op];
  if (!op) throw new Error(`unknown op ${job.op}`);
  let next = 0;
  let done = 0;
  const step = Math.max(1, Math.floor(job.objects.length / 20));
  const worker = async () => {
    while (next < job.objects.length) {
      const o = job.objects[next++];
      let result: Record<string, unknown>;
      try {
        result = await op(o);
      } catch (e) {
        result = { error: String(e) };
      }
      console.log(JSON.stringify({ bucket: o.bucket, name: o.name, ...result }));
      done += 1;
      if (done % step === 0 || done === job.objects.length) {
        console.error(`${job.op} ${done}/${job.objects.length}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}
