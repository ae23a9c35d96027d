// Rust edge function mcp: see functions/mcp. Build with `cargo xtask functions build`.
import * as wasm from "./pkg/mcp.js";
import { serveWasm } from "../_shared/serve.ts";

serveWasm(wasm, new URL("./pkg/mcp_bg.wasm", import.meta.url));
