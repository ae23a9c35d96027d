// Rust edge function metrics: see functions/metrics. Build with `cargo xtask functions build`.
import * as wasm from "./pkg/metrics.js";
import { serveWasm } from "../_shared/serve.ts";

serveWasm(wasm, new URL("./pkg/metrics_bg.wasm", import.meta.url));
