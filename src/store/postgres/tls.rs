//! TLS for the PostgreSQL connections (both the statement and the `LISTEN` connection):
//! rustls (ring, as `rediss://` uses) behind tokio-postgres's `MakeTlsConnect`.
//!
//! A small adapter of our own rather than `tokio-postgres-rustls`: that crate adds x509-cert
//! and a second `sha2` for channel binding, and libpq's modes need verifiers of their own
//! anyway (`require`: encryption only; `verify-ca`: the chain without the host name), which
//! it leaves to the caller. No channel binding is offered (SCRAM runs without `-PLUS`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use super::url::{PgTls, Roots, SslMode};
use crate::store::tls::{is_name_mismatch, rustls_error};

/// Makes a TLS connector per connection; cheap to clone (one shared rustls config).
#[derive(Clone)]
pub(super) struct MakeRustls {
    config: Arc<ClientConfig>,
}

impl MakeRustls {
    /// The rustls configuration for the URL's mode, CA and client certificate. Used by every
    /// mode but `disable` (where tokio-postgres never starts a handshake).
    pub fn new(tls: &PgTls) -> Result<MakeRustls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (chain, name) = tls.verifies();
        let verifier: Arc<dyn ServerCertVerifier> = if chain {
            let roots = Arc::new(roots(tls)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| format!("sslrootcert holds no usable CA certificate ({e}); give the PEM file of the CA that signed the server's certificate"))?;
            if name {
                webpki as Arc<dyn ServerCertVerifier>
            } else {
                Arc::new(Lenient {
                    chain: Some(webpki),
                    provider: provider.clone(),
                })
            }
        } else {
            Arc::new(Lenient {
                chain: None,
                provider: provider.clone(),
            })
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("no TLS protocol version available ({e})"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &tls.client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("sslcert is not readable PEM ({e})"))?;
                let key = PrivateKeyDer::from_pem_slice(key)
                    .map_err(|e| format!("sslkey is not a readable PEM private key ({e})"))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    format!("sslcert and sslkey do not make a client certificate rustls can use ({e}); give the certificate and its own key (RSA, ECDSA P-256/P-384 or Ed25519)")
                })?
            }
        };
        Ok(MakeRustls {
            config: Arc::new(config),
        })
    }
}

fn roots(tls: &PgTls) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match &tls.roots {
        Some(Roots::Pem(pem)) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("sslrootcert is not readable PEM ({e})"))?;
                store.add(cert).map_err(|e| {
                    format!("sslrootcert holds a certificate rustls cannot use as a CA ({e}); give the PEM file of the CA that signed the server's certificate")
                })?;
            }
        }
        Some(Roots::System) => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(format!(
                    "sslrootcert=system found no trusted certificate on this machine ({:?}); install the platform's CA certificates (Debian: ca-certificates) or give sslrootcert=PATH",
                    found.errors
                ));
            }
        }
        None => {}
    }
    Ok(store)
}

impl MakeTlsConnect<tokio_postgres::Socket> for MakeRustls {
    type Stream = RustlsStream<tokio_postgres::Socket>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    // Called for every connection, also with sslmode=disable and for Unix sockets (no host):
    // the name is only checked when a handshake starts.
    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        Ok(RustlsConnect {
            config: self.config.clone(),
            domain: domain.to_string(),
        })
    }
}

pub(super) struct RustlsConnect {
    config: Arc<ClientConfig>,
    domain: String,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let name = ServerName::try_from(self.domain.clone()).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{:?} is not a host name TLS can check ({e})", self.domain),
                )
            })?;
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(stream))
        })
    }
}

/// A TLS session to the server.
pub(super) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// libpq's checks short of `verify-full`. Without `chain` (`sslmode=prefer`, `require`
/// without a CA) it encrypts without checking who answers; with it (`verify-ca`, `require`
/// with a CA) the chain must lead to the CA but the name may differ (webpki checks the chain
/// before the name, so a name error means the chain was good). The handshake's signatures are
/// checked either way: the session is with the key in the certificate.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(e) if is_name_mismatch(&e) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A connection that failed for TLS reasons, explained with the setting to change; None for
/// other failures. `tls` is the URL's TLS half, `host` the host the URL names.
pub(super) fn explain(e: &tokio_postgres::Error, tls: &PgTls, host: &str) -> Option<String> {
    // tokio-postgres says so in the error's source, as text only.
    let mut no_tls = false;
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = at {
        no_tls |= err.to_string().contains("server does not support TLS");
        at = err.source();
    }
    if no_tls {
        return Some(format!(
            "the PostgreSQL server at {host} does not offer TLS and the store URL asks for it (sslmode={}); turn TLS on in the server (ssl=on, ssl_cert_file, ssl_key_file in postgresql.conf) or, on a trusted network only, use sslmode=prefer or sslmode=disable",
            mode_name(tls.mode)
        ));
    }
    let r = rustls_error(e)?;
    let root = tls.rootcert.as_deref().unwrap_or("system");
    Some(match r {
        _ if is_name_mismatch(r) => format!(
            "the PostgreSQL server's certificate is not issued for the host {host} ({r}); connect by a name the certificate holds, or, when the CA alone is to be checked, use sslmode=verify-ca"
        ),
        // Another CA of the same name shows as a bad signature.
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => format!(
            "the PostgreSQL server's certificate is not signed by a CA in sslrootcert={root} ({r}); set sslrootcert to the PEM file of the CA that signed the server's certificate (the issuer of its ssl_cert_file), or use sslmode=require to encrypt without checking"
        ),
        rustls::Error::InvalidCertificate(_) => format!(
            "the PostgreSQL server's certificate was refused ({r}); fix the server's certificate (ssl_cert_file) or sslrootcert={root}"
        ),
        rustls::Error::AlertReceived(_) if tls.client.is_some() => format!(
            "the PostgreSQL server refused the TLS session ({r}); check that sslcert and sslkey hold a client certificate the server's ssl_ca_file trusts"
        ),
        _ => format!(
            "the TLS handshake with the PostgreSQL server failed ({r}); check the server's TLS settings (baton speaks TLS 1.3), or use sslmode=disable on a trusted network"
        ),
    })
}

fn mode_name(mode: SslMode) -> &'static str {
    match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}
