// Rust edge function fetch-social-updates: see functions/fetch-social-updates. Build with `cargo xtask functions build`.
import * as wasm from "./pkg/fetch_social_updates.js";
import { serveWasm } from "../_shared/serve.ts";

serveWasm(wasm, new URL("./pkg/fetch_social_updates_bg.wasm", import.meta.url));
