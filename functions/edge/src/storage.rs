//! Supabase Storage (`/storage/v1/object`) as a function calls it: download and upload of one
//! object, as a chosen identity. With the caller's own access token, Storage evaluates the
//! `storage.objects` RLS policies as the caller; with the service key it bypasses them, exactly
//! as on Supabase. Object names always come from the database, never from request input, and
//! are checked here once more before they reach a URL.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::ai::InlineImage;
use crate::env::{Env, Secret};
use crate::error::Error;
use crate::http::{Http, HttpRequest, Method};

/// Who Storage sees.
#[derive(Debug, Clone)]
pub enum Identity {
    /// The caller's access token: RLS applies as for the caller.
    Caller(Secret),
    /// The project's secret key (`SUPABASE_SECRET_KEYS`, else the legacy
    /// `SUPABASE_SERVICE_ROLE_KEY`): RLS is bypassed (scheduled jobs with no caller, and writes a
    /// function makes itself, under its own name checks).
    Service,
}

pub struct Storage {
    base: String,
    bucket: &'static str,
    bearer: Secret,
    apikey: Secret,
}

/// An object name safe to put in a URL path: non-empty segments of the characters Supabase
/// Storage accepts, never `.` or `..`, no encoded characters.
pub fn valid_object_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 1024
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.!*'()&$@=;:+,".contains(&b))
        })
}

/// The `default` key of a JSON object of named keys (hosted's `SUPABASE_SECRET_KEYS` and
/// `SUPABASE_PUBLISHABLE_KEYS`), else its first.
fn named_key(env: &Env, name: &str) -> Option<Secret> {
    let keys: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(env.var(name).ok()?).ok()?;
    keys.get("default")
        .or_else(|| keys.values().next())
        .and_then(|k| k.as_str())
        .filter(|k| crate::auth::is_new_api_key(k))
        .map(Secret::new)
}

impl Storage {
    pub fn new(env: &Env, bucket: &'static str, identity: Identity) -> Result<Self, Error> {
        // The new keys first: a project that has turned its legacy keys off has only those.
        let key =
            |new: &str, legacy: &str| named_key(env, new).map_or_else(|| env.secret(legacy), Ok);
        let (bearer, apikey) = match identity {
            Identity::Caller(token) => (
                token,
                key("SUPABASE_PUBLISHABLE_KEYS", "SUPABASE_ANON_KEY")?,
            ),
            // A new key goes as the bearer too, equal to the apikey, as supabase-js sends it.
            Identity::Service => {
                let service = key("SUPABASE_SECRET_KEYS", "SUPABASE_SERVICE_ROLE_KEY")?;
                (service.clone(), service)
            }
        };
        Ok(Storage {
            base: format!(
                "{}/storage/v1/object",
                env.var("SUPABASE_URL")?.trim_end_matches('/')
            ),
            bucket,
            bearer,
            apikey,
        })
    }

    fn request(&self, method: Method, name: &str) -> Result<HttpRequest, Error> {
        if !valid_object_name(name) {
            return Err(Error::BadRequest(format!(
                "object name {name:?} is not valid"
            )));
        }
        let mut req = HttpRequest::get(format!("{}/{}/{name}", self.base, self.bucket))
            .header("authorization", format!("Bearer {}", self.bearer.expose()))
            .header("apikey", self.apikey.expose());
        req.method = method;
        Ok(req)
    }

    /// The object as an image for a provider. A 4xx from Storage (not found, or RLS hides it)
    /// is a 403: the caller may not use that file.
    pub async fn download(&self, http: &impl Http, name: &str) -> Result<InlineImage, Error> {
        let resp = http
            .fetch(self.request(Method::Get, name)?)
            .await
            .map_err(|e| Error::Upstream(format!("storage: {e}")))?;
        match resp.status {
            200..=299 => Ok(InlineImage {
                mime_type: resp
                    .header("content-type")
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                data_base64: STANDARD.encode(&resp.body),
            }),
            400..=499 => Err(Error::Forbidden(format!(
                "the file {}/{name} cannot be read with your access",
                self.bucket
            ))),
            s => Err(Error::Upstream(format!("storage download answered {s}"))),
        }
    }

    /// Stores `image` at `name`, replacing an earlier copy (a retried job writes the same path).
    pub async fn upload(
        &self,
        http: &impl Http,
        name: &str,
        image: &InlineImage,
    ) -> Result<(), Error> {
        let bytes = STANDARD
            .decode(&image.data_base64)
            .map_err(|_| Error::Upstream("the image is not valid base64".into()))?;
        let mut req = self
            .request(Method::Post, name)?
            .header("content-type", image.mime_type.clone())
            .header("x-upsert", "true");
        req.body = bytes;
        let resp = http
            .fetch(req)
            .await
            .map_err(|e| Error::Upstream(format!("storage: {e}")))?;
        match resp.status {
            200..=299 => Ok(()),
            400..=499 => Err(Error::Forbidden(format!(
                "storage refused to write {}/{name} ({})",
                self.bucket, resp.status
            ))),
            s => Err(Error::Upstream(format!("storage upload answered {s}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_cannot_escape_their_folder() {
        assert!(valid_object_name("u1/r1/output.png"));
        for bad in [
            "",
            "../x",
            "a/../b",
            "a//b",
            "/a",
            "a/./b",
            "a/%2e%2e/b",
            "a\\b",
            "a?b",
            "a b",
        ] {
            assert!(!valid_object_name(bad), "{bad}");
        }
    }

    #[test]
    fn storage_calls_use_the_new_keys_when_the_project_has_them() {
        let legacy = [
            ("SUPABASE_URL", "http://127.0.0.1:54321"),
            ("SUPABASE_ANON_KEY", "eyJ.anon.x"),
            ("SUPABASE_SERVICE_ROLE_KEY", "eyJ.service.x"),
        ];
        let mut both = legacy.to_vec();
        both.push((
            "SUPABASE_PUBLISHABLE_KEYS",
            r#"{"default": "sb_publishable_p"}"#,
        ));
        both.push(("SUPABASE_SECRET_KEYS", r#"{"default": "sb_secret_s"}"#));
        let keys = |pairs: &[(&str, &str)], id: Identity| {
            let s = Storage::new(&Env::from_pairs(pairs.to_vec()), "renders", id).unwrap();
            (s.bearer.expose().to_string(), s.apikey.expose().to_string())
        };
        let user = || Identity::Caller(Secret::new("user.jwt.x"));
        assert_eq!(
            keys(&both, Identity::Service),
            ("sb_secret_s".into(), "sb_secret_s".into())
        );
        assert_eq!(
            keys(&both, user()),
            ("user.jwt.x".into(), "sb_publishable_p".into())
        );
        assert_eq!(
            keys(&legacy, Identity::Service),
            ("eyJ.service.x".into(), "eyJ.service.x".into())
        );
        assert_eq!(
            keys(&legacy, user()),
            ("user.jwt.x".into(), "eyJ.anon.x".into())
        );
    }
}
