// Rust edge function generate-ai-insights: see functions/generate-ai-insights. Build with `cargo xtask functions build`.
import * as wasm from "./pkg/generate_ai_insights.js";
import { serveWasm } from "../_shared/serve.ts";

serveWasm(wasm, new URL("./pkg/generate_ai_insights_bg.wasm", import.meta.url));
