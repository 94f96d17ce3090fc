//! TLS material and the client name for a store connection, checked before anything connects.
//!
//! Certificates and keys are PEM text, as Spring's PEM bundles, `redis-cli --cacert` and most
//! operators hold them. They are part of the shared-connection key ([`super::StoreSpec`]), so
//! two elections with different CAs or client certificates never share one connection.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Longest client name, in bytes (Redis itself has no limit; `CLIENT LIST` should stay readable).
pub(crate) const MAX_CLIENT_NAME_LEN: usize = 128;

/// PEM material for `rediss://`: a private CA and/or a client certificate with its key.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct TlsPem {
    /// CA certificate(s) to trust instead of the system's roots.
    pub ca: Option<Vec<u8>>,
    /// Client certificate chain and private key, for servers that require one
    /// (`tls-auth-clients yes`).
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

// Never print key material, not even in a debug log.
impl std::fmt::Debug for TlsPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPem")
            .field("ca", &self.ca.as_ref().map(|_| "<pem>"))
            .field("client", &self.client.as_ref().map(|_| "<pem>"))
            .finish()
    }
}

impl TlsPem {
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.client.is_none()
    }

    /// The material in the form the Redis client takes.
    pub fn certificates(&self) -> ::redis::TlsCertificates {
        ::redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| ::redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.ca.clone(),
        }
    }
}

/// Checks that `pem` holds at least one certificate and nothing unreadable.
pub(crate) fn check_certificates(setting: &str, pem: &[u8]) -> Result<(), String> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        if let Err(e) = cert {
            return Err(format!(
                "is not readable PEM ({e}); pass the certificate file's contents, which start with -----BEGIN CERTIFICATE-----"
            ));
        }
        count += 1;
    }
    if count == 0 {
        return Err(format!(
            "holds no PEM certificate; pass the {setting} file's contents, which start with -----BEGIN CERTIFICATE----- (convert DER with `openssl x509 -inform der -in FILE`)"
        ));
    }
    Ok(())
}

/// Checks that `pem` holds a private key (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn check_key(pem: &[u8]) -> Result<(), String> {
    PrivateKeyDer::from_pem_slice(pem).map(|_| ()).map_err(|e| {
        format!(
            "holds no readable PEM private key ({e}); pass the key file's contents, which start with -----BEGIN PRIVATE KEY----- (an encrypted key must be decrypted first: `openssl pkey -in FILE`)"
        )
    })
}

/// Checks a client name the way Redis does for `CLIENT SETNAME` (no spaces, printable ASCII).
pub(crate) fn check_client_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty; leave it unset for baton:<host>:<pid>".into());
    }
    if name.len() > MAX_CLIENT_NAME_LEN {
        return Err(format!(
            "is {} bytes long; use at most {MAX_CLIENT_NAME_LEN}",
            name.len()
        ));
    }
    if name.bytes().any(|b| !(b'!'..=b'~').contains(&b)) {
        return Err(format!(
            "{name:?} contains spaces or characters Redis refuses in a client name; use printable ASCII without spaces, for example \"baton:orders\""
        ));
    }
    Ok(())
}

/// Reads the PEM file that a SQL store URL's `setting` (`sslrootcert`, `ssl-ca`, ...) names,
/// and checks it holds certificates (or, with `key`, a private key). Read when the URL is
/// checked, so that `build()` names a missing or wrong file instead of a failed handshake.
pub(crate) fn read_pem_file(setting: &str, path: &str, key: bool) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path).map_err(|e| {
        format!("{setting}={path} cannot be read ({e}); give the path of a PEM file this process may read")
    })?;
    let checked = if key {
        check_key(&pem)
    } else {
        check_certificates(setting, &pem)
    };
    checked.map_err(|why| format!("{setting}={path} {why}"))?;
    Ok(pem)
}

/// A certificate that is fine except for the host name (rustls has two forms of it; match
/// the variants, never the text, which changed between rustls releases).
pub(crate) fn is_name_mismatch(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }
        )
    )
}

/// The rustls error under a failed connection, if TLS is what failed. An `io::Error` hides
/// its inner error from `source()`, so it is opened by hand.
pub(crate) fn rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(r) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        at = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // A self-signed certificate and its key (test material only).
    const CERT: &str = include_str!("../../tests/tls/cert.pem");
    const KEY: &str = include_str!("../../tests/tls/key.pem");

    #[test]
    fn certificates_must_be_pem() {
        assert!(check_certificates("tls_ca", CERT.as_bytes()).is_ok());
        let err = check_certificates("tls_ca", b"not a certificate").unwrap_err();
        assert!(err.contains("BEGIN CERTIFICATE"), "{err}");
        // A key where a certificate belongs holds no certificate.
        let err = check_certificates("tls_ca", KEY.as_bytes()).unwrap_err();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        let broken = CERT.replace("MII", "!!!");
        assert!(check_certificates("tls_ca", broken.as_bytes()).is_err());
    }

    #[test]
    fn keys_must_be_pem() {
        assert!(check_key(KEY.as_bytes()).is_ok());
        let err = check_key(CERT.as_bytes()).unwrap_err();
        assert!(err.contains("BEGIN PRIVATE KEY"), "{err}");
    }

    #[test]
    fn client_names_follow_redis_rules() {
        assert!(check_client_name("baton:orders-1").is_ok());
        for (bad, needle) in [
            ("", "must not be empty"),
            ("a b", "spaces"),
            ("a\nb", "spaces"),
            ("é", "printable ASCII"),
        ] {
            let err = check_client_name(bad).unwrap_err();
            assert!(err.contains(needle), "{bad:?}: {err}");
        }
        assert!(check_client_name(&"x".repeat(MAX_CLIENT_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn debug_never_prints_key_material() {
        let tls = TlsPem {
            ca: Some(CERT.as_bytes().to_vec()),
            client: Some((CERT.as_bytes().to_vec(), KEY.as_bytes().to_vec())),
        };
        let shown = format!("{tls:?}");
        assert!(!shown.contains("BEGIN"), "{shown}");
    }

    #[test]
    fn pem_files_are_read_and_checked_with_the_setting_named() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");
        assert!(read_pem_file("sslrootcert", &format!("{dir}/cert.pem"), false).is_ok());
        assert!(read_pem_file("sslkey", &format!("{dir}/key.pem"), true).is_ok());
        let err = read_pem_file("ssl-ca", "/nonexistent/ca.pem", false).unwrap_err();
        assert!(
            err.starts_with("ssl-ca=/nonexistent/ca.pem cannot be read"),
            "{err}"
        );
        let err = read_pem_file("ssl-ca", &format!("{dir}/key.pem"), false).unwrap_err();
        assert!(
            err.contains("ssl-ca=") && err.contains("holds no PEM certificate"),
            "{err}"
        );
        let err = read_pem_file("ssl-key", &format!("{dir}/cert.pem"), true).unwrap_err();
        assert!(
            err.contains("ssl-key=") && err.contains("private key"),
            "{err}"
        );
    }

    #[test]
    fn tls_errors_are_found_under_io_errors() {
        let mismatch = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, mismatch);
        let found = rustls_error(&io).expect("the rustls error");
        assert!(is_name_mismatch(found));
        let issuer = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert!(!is_name_mismatch(&issuer));
        assert!(rustls_error(&std::io::Error::other("plain")).is_none());
    }
}
