// Rust edge function process-render-request: see functions/process-render-request. Build with `cargo xtask functions build`.
import * as wasm from "./pkg/process_render_request.js";
import { serveWasm } from "../_shared/serve.ts";

serveWasm(wasm, new URL("./pkg/process_render_request_bg.wasm", import.meta.url));
