//! Connecting to PostgreSQL from a URL, with a bounded wait and a useful error.

use std::str::FromStr;
use std::time::Duration;

use std::sync::Arc;

use anyhow::{Context, Result};
use postgres::{Client, Config};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long to wait for a server before giving up (the CLI promises an error within 10 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url` (`postgresql://user:pass@host:port/db?...`).
pub fn connect(url: &str) -> Result<Client> {
    let mut config =
        Config::from_str(url).with_context(|| format!("invalid database URL {}", redact(url)))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.application_name("cargo-xtask");
    config
        .connect(tls())
        .with_context(|| format!("cannot connect to {}", redact(url)))
}

/// TLS for every connection. With the URL's `sslmode` (default `prefer`) the driver asks for
/// TLS and falls back to plain text only when the mode allows it, so a local server without SSL
/// and a hosted Supabase project that enforces SSL both work.
///
/// Like libpq's `sslmode=require`, the channel is encrypted but the server certificate is not
/// checked against a CA: Supabase signs database certificates with its own root CA, which is
/// not in any public trust store. Handshake signatures are still verified.
pub fn tls() -> MakeRustlsConnect {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
        .with_no_client_auth();
    MakeRustlsConnect::new(config)
}

/// libpq's `sslmode=require`: any certificate, but a valid handshake.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact("postgresql://postgres:s3cret@db.example.co:5432/postgres?sslmode=require"),
            "postgresql://postgres:***@db.example.co:5432/postgres?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://localhost/x"),
            "postgresql://localhost/x"
        );
    }
}
