//! Self-signed certificate generation and the rustls server configuration.

use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// A generated certificate with its key and fingerprint.
pub struct SelfSigned {
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    pub key_der: Vec<u8>,
    /// SHA-256 of the DER, uppercase colon hex (PVE's `ssl_fingerprint` format).
    pub fingerprint: String,
}

/// Generates a certificate for `localhost`, `127.0.0.1` and `::1`.
pub fn generate() -> anyhow::Result<SelfSigned> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let mut params = rcgen::CertificateParams::new(names).context("certificate parameters")?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "pve-sim");
    dn.push(rcgen::DnType::OrganizationName, "PVE Cluster Node");
    params.distinguished_name = dn;
    let key = rcgen::KeyPair::generate().context("generate key")?;
    let cert = params.self_signed(&key).context("self-sign certificate")?;
    let cert_der = cert.der().to_vec();
    Ok(SelfSigned {
        fingerprint: fingerprint(&cert_der),
        cert_pem: cert.pem(),
        key_der: key.serialize_der(),
        cert_der,
    })
}

/// SHA-256 of a DER certificate as `AA:BB:...`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A rustls server config (ring provider, TLS 1.2 and 1.3, HTTP/1.1 only).
pub fn server_config(c: &SelfSigned) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(c.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key_der.clone())),
        )
        .context("server certificate")?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fingerprint_format() {
        let c = super::generate().expect("cert");
        assert_eq!(c.fingerprint.len(), 32 * 3 - 1);
        assert!(
            c.fingerprint
                .chars()
                .all(|ch| ch == ':' || ch.is_ascii_hexdigit())
        );
        assert_eq!(c.fingerprint, c.fingerprint.to_uppercase());
        assert!(c.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
