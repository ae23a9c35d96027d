// Rust edge function assign-leads: see functions/assign-leads. Build with `cargo xtask functions build`.
import * as wasm from "./pkg/assign_leads.js";
import { serveWasm } from "../_shared/serve.ts";

serveWasm(wasm, new URL("./pkg/assign_leads_bg.wasm", import.meta.url));
