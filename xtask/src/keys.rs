//! The local stack's current keys, as the pinned Supabase CLI (2.117.0) has them: the fixed
//! publishable and secret API keys `supabase start` prints, and the asymmetric (ES256) key that
//! signs user access tokens. The signing keys live in `.local/signing_keys.json`, in the format
//! `supabase gen signing-key` writes (an array of private JWKs), and the gateway publishes their
//! public halves at `/auth/v1/.well-known/jwks.json`. The legacy HS256 secret and the legacy
//! `anon`/`service_role` keys are in [`crate::jwt`].

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::infra::paths;

/// The publishable key `supabase start` prints (CLI 2.117.0, the same for every local project).
pub const LOCAL_PUBLISHABLE_KEY: &str = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
/// The secret key `supabase start` prints (CLI 2.117.0, the same for every local project).
pub const LOCAL_SECRET_KEY: &str = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";

/// A private ES256 signing key as a JWK, field for field what `supabase gen signing-key
/// --algorithm ES256` prints.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub key_ops: Vec<String>,
    pub alg: String,
    pub ext: bool,
    d: String,
    pub crv: String,
    pub x: String,
    pub y: String,
}

impl fmt::Debug for SigningKey {
    // The private scalar `d` never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(out)
}

/// A random (version 4) UUID, as the CLI names its keys.
fn uuid_v4() -> Result<String> {
    let mut b: [u8; 16] = random_bytes()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

impl SigningKey {
    /// A fresh P-256 key with a random `kid`.
    pub fn generate() -> Result<SigningKey> {
        // A random scalar is valid unless it is zero or at least the group order: retry then.
        let sk = loop {
            let bytes: [u8; 32] = random_bytes()?;
            if let Ok(sk) = p256::ecdsa::SigningKey::from_slice(&bytes) {
                break sk;
            }
        };
        let point = sk.verifying_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            bail!("the public key has no affine coordinates");
        };
        Ok(SigningKey {
            kty: "EC".into(),
            kid: uuid_v4()?,
            use_: "sig".into(),
            key_ops: vec!["sign".into(), "verify".into()],
            alg: "ES256".into(),
            ext: true,
            d: URL_SAFE_NO_PAD.encode(sk.to_bytes()),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(x),
            y: URL_SAFE_NO_PAD.encode(y),
        })
    }

    fn secret(&self) -> Result<p256::ecdsa::SigningKey> {
        if self.kty != "EC" || self.crv != "P-256" || self.alg != "ES256" {
            bail!(
                "signing key {} is not an ES256 key on P-256; only those are supported",
                self.kid
            );
        }
        let d = URL_SAFE_NO_PAD
            .decode(&self.d)
            .with_context(|| format!("signing key {}: d is not base64url", self.kid))?;
        let sk = p256::ecdsa::SigningKey::from_slice(&d)
            .map_err(|_| anyhow::anyhow!("signing key {}: d is not a P-256 scalar", self.kid))?;
        let point = sk.verifying_key().to_encoded_point(false);
        if point.x().map(|x| URL_SAFE_NO_PAD.encode(x)).as_deref() != Some(self.x.as_str())
            || point.y().map(|y| URL_SAFE_NO_PAD.encode(y)).as_deref() != Some(self.y.as_str())
        {
            bail!(
                "signing key {}: x and y are not the key's public point",
                self.kid
            );
        }
        Ok(sk)
    }

    /// The public half, as a JWKS publishes it.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": self.kty, "kid": self.kid, "use": self.use_, "key_ops": ["verify"],
            "alg": self.alg, "ext": true, "crv": self.crv, "x": self.x, "y": self.y,
        })
    }

    /// `claims` signed with ES256, with this key's `kid` in the header, as Supabase Auth signs
    /// access tokens with an asymmetric key.
    pub fn sign(&self, claims: &Value) -> Result<String> {
        use p256::ecdsa::signature::Signer;
        let sk = self.secret()?;
        let header = json!({ "alg": "ES256", "kid": self.kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // JWS carries ECDSA signatures as r || s (RFC 7518 §3.4).
        let sig: p256::ecdsa::Signature = sk.sign(input.as_bytes());
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }
}

/// The keys Auth trusts. The first one signs new tokens (Supabase's "current" key); the others
/// are still published, so tokens they signed keep verifying until they are revoked
/// (Supabase's "previously used" keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SigningKeys(Vec<SigningKey>);

impl SigningKeys {
    /// One fresh key.
    pub fn generate() -> Result<SigningKeys> {
        Ok(SigningKeys(vec![SigningKey::generate()?]))
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> &SigningKey {
        &self.0[0]
    }

    pub fn all(&self) -> &[SigningKey] {
        &self.0
    }

    /// The public JWKS: every trusted key's public half.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.0.iter().map(SigningKey::public_jwk).collect::<Vec<_>>() })
    }

    /// Signs `claims` with the current key.
    pub fn sign(&self, claims: &Value) -> Result<String> {
        self.current().sign(claims)
    }

    /// A new key signs from now on; the one before stays published, so no session ends.
    pub fn rotate(&mut self) -> Result<()> {
        self.0.insert(0, SigningKey::generate()?);
        Ok(())
    }

    /// Stops trusting every key but the current one (after the old tokens have expired).
    pub fn revoke_previous(&mut self) {
        self.0.truncate(1);
    }

    fn check(&self) -> Result<()> {
        if self.0.is_empty() {
            bail!("no signing key");
        }
        for k in &self.0 {
            k.secret()?;
        }
        Ok(())
    }

    /// The keys in `path`.
    pub fn load(path: &Path) -> Result<SigningKeys> {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let keys: SigningKeys = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not an array of ES256 private JWKs (supabase gen signing-key)",
                path.display()
            )
        })?;
        keys.check()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(keys)
    }

    /// Writes the keys to `path`, readable by its owner only, replacing the file in one step so
    /// a reader never sees half of it.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.check()?;
        let dir = path.parent().context("a key file needs a directory")?;
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("keys"),
            std::process::id()
        ));
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(serde_json::to_string_pretty(&self.0)?.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(())
    }

    /// The keys in `path`, made (one fresh key) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<SigningKeys> {
        if path.exists() {
            return SigningKeys::load(path);
        }
        let keys = SigningKeys::generate()?;
        keys.save(path)?;
        Ok(keys)
    }
}

/// `.local/signing_keys.json`.
pub fn local_path() -> PathBuf {
    paths::local_dir().join("signing_keys.json")
}

/// The local stack's signing keys, made on first use.
pub fn local() -> Result<SigningKeys> {
    SigningKeys::load_or_create(&local_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_ones_the_pinned_cli_prints() {
        // The CLI is a single binary (npm `@supabase/cli-<platform>`); its local stack's default
        // keys are string constants inside it, next to the legacy JWT secret.
        crate::infra::prereq::ensure_node_modules().unwrap();
        let dir = paths::project_root().join("node_modules/@supabase");
        let bin = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin/supabase"))
            .find(|p| p.is_file())
            .expect("the pinned Supabase CLI binary under node_modules/@supabase/cli-*");
        let bytes = fs::read(bin).unwrap();
        for key in [
            LOCAL_PUBLISHABLE_KEY,
            LOCAL_SECRET_KEY,
            crate::jwt::LOCAL_JWT_SECRET,
        ] {
            assert!(
                bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "{key} is not in the pinned CLI"
            );
        }
    }

    #[test]
    fn a_signed_token_verifies_with_the_published_key_only() {
        use p256::ecdsa::signature::Verifier;
        let keys = SigningKeys::generate().unwrap();
        let token = keys.sign(&json!({"sub": "x", "exp": 1})).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(input.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], keys.current().kid.as_str());
        let jwk = &keys.jwks()["keys"][0];
        assert!(jwk.get("d").is_none(), "the JWKS holds no private part");
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
        let point = p256::EncodedPoint::from_affine_coordinates(
            p256::FieldBytes::from_slice(&x),
            p256::FieldBytes::from_slice(&y),
            false,
        );
        let vk = p256::ecdsa::VerifyingKey::from_encoded_point(&point).unwrap();
        let sig =
            p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
        vk.verify(input.as_bytes(), &sig).unwrap();
        let other = SigningKeys::generate().unwrap();
        assert_ne!(other.current().kid, keys.current().kid);
        assert!(!format!("{:?}", keys).contains(&keys.current().d));
    }

    #[test]
    fn rotation_keeps_the_previous_key_published_until_it_is_revoked() {
        let mut keys = SigningKeys::generate().unwrap();
        let first = keys.current().kid.clone();
        keys.rotate().unwrap();
        let kids = |k: &SigningKeys| -> Vec<String> {
            k.jwks()["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["kid"].as_str().unwrap().to_string())
                .collect()
        };
        assert_ne!(keys.current().kid, first);
        assert_eq!(kids(&keys), [keys.current().kid.clone(), first.clone()]);
        keys.revoke_previous();
        assert_eq!(kids(&keys), [keys.current().kid.clone()]);
    }

    #[test]
    fn the_key_file_is_private_and_round_trips() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("moha-keys-{}", std::process::id()));
        let path = dir.join("signing_keys.json");
        let _ = fs::remove_dir_all(&dir);
        let made = SigningKeys::load_or_create(&path).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(SigningKeys::load_or_create(&path).unwrap(), made);
        // The CLI's own field names, so the file reads like `supabase gen signing-key` output.
        let raw: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let k = &raw[0];
        for field in [
            "kty", "kid", "use", "key_ops", "alg", "ext", "d", "crv", "x", "y",
        ] {
            assert!(k.get(field).is_some(), "{field}");
        }
        // A tampered public point is refused rather than published.
        let mut bad = raw.clone();
        bad[0]["x"] = json!(made.current().y.clone());
        fs::write(&path, bad.to_string()).unwrap();
        assert!(SigningKeys::load(&path).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
