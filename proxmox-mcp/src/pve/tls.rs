//! TLS setup: system roots plus an optional CA file, or a pinned SHA-256 leaf fingerprint, or explicitly off.
//!
//! Every mode goes through [`RecordingVerifier`], which remembers the fingerprint of the certificate
//! the server presented when verification fails, so the error can tell the user how to pin it.

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::config::TlsConfig;

use super::error::PveError;

/// `AA:BB:…` uppercase SHA-256 of a DER certificate, the form `GET /nodes` reports as `ssl_fingerprint`.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parse a configured fingerprint: 64 hex digits, case-insensitive, colons/spaces optional,
/// tolerating an `openssl x509 -fingerprint` prefix such as `sha256 Fingerprint=`.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], PveError> {
    let value = s.rsplit_once('=').map_or(s, |(_, v)| v);
    let hex_digits: String = value
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    let bad = |why: &str| {
        PveError::Config(format!(
            "PROXMOX_FINGERPRINT '{s}' is invalid: {why}. Give the SHA-256 fingerprint of the node \
             certificate as 64 hex digits, colons optional, e.g. AA:BB:…:FF (see `ssl_fingerprint` in \
             the node list or the node's Certificates panel)"
        ))
    };
    if hex_digits.len() == 40 {
        return Err(bad(
            "it has 40 hex digits, which is a SHA-1 fingerprint; SHA-256 is needed",
        ));
    }
    if hex_digits.len() != 64 {
        return Err(bad(&format!(
            "it has {} hex digits, 64 are needed",
            hex_digits.len()
        )));
    }
    let bytes = hex::decode(&hex_digits).map_err(|_| bad("it contains non-hex characters"))?;
    Ok(bytes.try_into().expect("64 hex digits are 32 bytes"))
}

/// The leaf certificate fingerprint seen on the last failed handshake.
#[derive(Debug, Default)]
pub struct Presented(Mutex<Option<String>>);

impl Presented {
    fn record(&self, fp: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(fp);
    }

    /// The last recorded fingerprint (kept: concurrent failures show the same certificate).
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

enum Mode {
    Pinned([u8; 32]),
    Platform(rustls_platform_verifier::Verifier),
    /// No trust anchors could be loaded; every handshake fails with this explanation.
    Unavailable(String),
    Insecure,
}

/// Wraps the real check and records the presented leaf's fingerprint on failure.
pub struct RecordingVerifier {
    mode: Mode,
    provider: Arc<CryptoProvider>,
    presented: Arc<Presented>,
}

impl fmt::Debug for RecordingVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.mode {
            Mode::Pinned(_) => "pinned",
            Mode::Platform(_) => "platform",
            Mode::Unavailable(_) => "unavailable",
            Mode::Insecure => "insecure",
        };
        f.debug_struct("RecordingVerifier")
            .field("mode", &mode)
            .finish()
    }
}

#[derive(Debug)]
struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(msg: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refused(msg)))))
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = match &self.mode {
            Mode::Insecure => Ok(ServerCertVerified::assertion()),
            Mode::Pinned(want) => {
                let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
                if &got == want {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(refused(format!(
                        "the certificate does not match the pinned fingerprint {}",
                        want.iter()
                            .map(|b| format!("{b:02X}"))
                            .collect::<Vec<_>>()
                            .join(":")
                    )))
                }
            }
            Mode::Platform(inner) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Mode::Unavailable(why) => Err(refused(why.clone())),
        };
        if result.is_err() {
            self.presented.record(fingerprint(end_entity.as_ref()));
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.mode {
            Mode::Platform(inner) => inner.verify_tls12_signature(message, cert, dss),
            _ => verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            ),
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.mode {
            Mode::Platform(inner) => inner.verify_tls13_signature(message, cert, dss),
            _ => verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            ),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        match &self.mode {
            Mode::Platform(inner) => inner.supported_verify_schemes(),
            _ => self
                .provider
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

/// A TLS failure in words (rustls' own text is terse or, for our pin check, a debug dump).
pub fn describe_error(e: &rustls::Error) -> String {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Other(other) => other.0.to_string(),
            C::UnknownIssuer => {
                "the certificate is not signed by a CA this machine trusts (Proxmox \
                                 nodes use a self-signed cluster CA by default)"
                    .to_owned()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the certificate is not valid for the host name in the URL".to_owned()
            }
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_owned(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet (check the clocks)".to_owned()
            }
            other => format!("invalid certificate ({other:?})"),
        },
        other => other.to_string(),
    }
}

fn read_ca_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, PveError> {
    let bad = |why: String| {
        PveError::Config(format!(
            "PROXMOX_CA_FILE '{}' cannot be used: {why}. It must be a PEM file with the cluster CA, \
             e.g. a copy of /etc/pve/pve-root-ca.pem from any node",
            path.display()
        ))
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("invalid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad("it contains no 'BEGIN CERTIFICATE' block".into()));
    }
    Ok(certs)
}

/// The rustls configuration for `tls`, plus the slot where failed handshakes leave the presented
/// certificate's fingerprint. `url` is only used in log lines.
pub fn client_config(
    tls: &TlsConfig,
    url: &str,
) -> Result<(rustls::ClientConfig, Arc<Presented>), PveError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mode = if tls.insecure {
        tracing::warn!(
            url,
            "TLS certificate verification is DISABLED (PROXMOX_INSECURE): anyone on the network path \
             can impersonate the Proxmox API and capture the credentials; pin the certificate with \
             PROXMOX_FINGERPRINT or trust the cluster CA with PROXMOX_CA_FILE instead"
        );
        Mode::Insecure
    } else if let Some(fp) = &tls.fingerprint {
        if tls.ca_file.is_some() {
            tracing::info!(
                url,
                "both a CA file and a fingerprint are set; the fingerprint pin wins"
            );
        }
        Mode::Pinned(parse_fingerprint(fp)?)
    } else {
        let extra = match &tls.ca_file {
            Some(path) => read_ca_file(path)?,
            None => Vec::new(),
        };
        let verifier = if extra.is_empty() {
            rustls_platform_verifier::Verifier::new(provider.clone())
        } else {
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
        };
        match verifier {
            Ok(v) => Mode::Platform(v),
            Err(e) if tls.ca_file.is_none() => {
                tracing::warn!(url, error = %e, "no system CA certificates available");
                Mode::Unavailable(format!(
                    "no trusted CA certificates are available on this machine ({e})"
                ))
            }
            Err(e) => {
                return Err(PveError::Config(format!(
                    "cannot use the CA file for certificate checks: {e}"
                )));
            }
        }
    };
    let presented = Arc::new(Presented::default());
    let verifier = Arc::new(RecordingVerifier {
        mode,
        provider: provider.clone(),
        presented: presented.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PveError::Config(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // pveproxy speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_formats() {
        let fp = fingerprint(b"hello");
        assert_eq!(fp.len(), 95);
        assert!(fp.starts_with("2C:F2:4D:BA:5F:B0:A3:0E"));
        let want: [u8; 32] = Sha256::digest(b"hello").into();
        for input in [
            fp.clone(),
            fp.to_lowercase(),
            fp.replace(':', ""),
            format!("sha256 Fingerprint={fp}"),
            format!("SHA256 Fingerprint={}", fp.replace(':', " ")),
        ] {
            assert_eq!(parse_fingerprint(&input).unwrap(), want, "{input}");
        }
        let e = parse_fingerprint("AA:BB").unwrap_err().to_string();
        assert!(e.contains("4 hex digits, 64 are needed"), "{e}");
        let sha1 = "AA".repeat(20);
        assert!(
            parse_fingerprint(&sha1)
                .unwrap_err()
                .to_string()
                .contains("SHA-1")
        );
        assert!(
            parse_fingerprint(&"ZZ".repeat(32))
                .unwrap_err()
                .to_string()
                .contains("non-hex")
        );
    }

    #[test]
    fn ca_file_errors_explain() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a pem").unwrap();
        let cfg = TlsConfig {
            ca_file: Some(p),
            ..TlsConfig::default()
        };
        let e = client_config(&cfg, "https://x:8006")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no 'BEGIN CERTIFICATE' block"), "{e}");
        let cfg = TlsConfig {
            ca_file: Some(dir.path().join("missing.pem")),
            ..TlsConfig::default()
        };
        let e = client_config(&cfg, "https://x:8006")
            .unwrap_err()
            .to_string();
        assert!(e.contains("PROXMOX_CA_FILE"), "{e}");
    }
}
