// Rust edge function social-connect: see functions/social-connect. Build with `cargo xtask functions build`.
import * as wasm from "./pkg/social_connect.js";
import { serveWasm } from "../_shared/serve.ts";

serveWasm(wasm, new URL("./pkg/social_connect_bg.wasm", import.meta.url));
