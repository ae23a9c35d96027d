//! The local gateway's token and API-key checks: `moha_edge::gateway`, the functions' own
//! verification path, compiled to wasm and loaded by `xtask/gateway/main.ts`. Built by `cargo
//! xtask functions build` into `xtask/gateway/pkg/`. There is no logic here, only the exports.

#[cfg(target_arch = "wasm32")]
mod exports {
    use std::cell::RefCell;

    use moha_edge::gateway::Gateway;
    use wasm_bindgen::prelude::*;

    thread_local! {
        static GATEWAY: RefCell<Option<Gateway>> = const { RefCell::new(None) };
    }

    fn with<T>(f: impl FnOnce(&Gateway) -> T) -> Result<T, String> {
        GATEWAY.with(|g| {
            g.borrow()
                .as_ref()
                .map(f)
                .ok_or_else(|| "configure() was not called".to_string())
        })
    }

    /// Sets the keys and rules (the `auth` object of the gateway's config, as JSON).
    #[wasm_bindgen]
    pub fn configure(config: &str) -> Result<(), String> {
        let gateway = Gateway::from_json(config)?;
        GATEWAY.with(|g| *g.borrow_mut() = Some(gateway));
        Ok(())
    }

    /// Supabase's relay check for a function with `verify_jwt`; `headers` is
    /// `[[name, value], ...]`.
    #[wasm_bindgen]
    pub fn relay(headers: &str, now_s: f64) -> Result<String, String> {
        with(|g| g.relay_json(headers, now_s))
    }

    /// Who calls Storage: its role and claims, or a refusal.
    #[wasm_bindgen]
    pub fn storage(headers: &str, now_s: f64) -> Result<String, String> {
        with(|g| g.storage_json(headers, now_s))
    }

    /// `claims` (a JSON object's text) signed as Storage signs its signed URLs.
    #[wasm_bindgen]
    pub fn sign(claims: &str) -> Result<String, String> {
        with(|g| g.sign(claims))?
    }

    /// Whether `token` is this gateway's signed URL for `object` (`<bucket>/<name>`).
    #[wasm_bindgen(js_name = signedUrl)]
    pub fn signed_url(token: &str, object: &str, now_s: f64) -> Result<bool, String> {
        with(|g| g.signed_url(token, object, now_s as i64))
    }

    /// The claims (`owner`, `upsert`) of this gateway's signed upload URL for `object`, as
    /// JSON, or `null`.
    #[wasm_bindgen(js_name = signedUpload)]
    pub fn signed_upload(token: &str, object: &str, now_s: f64) -> Result<String, String> {
        with(|g| {
            g.signed_upload(token, object, now_s as i64)
                .map_or_else(|| "null".to_string(), |c| c.to_string())
        })
    }
}
