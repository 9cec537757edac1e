//! Connects to a TLS endpoint and records what it presents: the certificate chain (accepted
//! whatever it is, since the point is to inspect it), the negotiated version and cipher suite,
//! and whether the server asked for a client certificate (mutual TLS).
//!
//! The handshake signatures are still checked by rustls, so the chain belongs to whoever holds
//! its key; only the trust decision is skipped.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// `host:port`.
    pub address: String,
    /// Server name to send (SNI); defaults to the host part of `address`.
    pub sni: Option<String>,
    pub timeout: Duration,
}

/// What the endpoint presented.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    pub address: String,
    pub sni: String,
    /// DER certificates, leaf first, as sent.
    pub chain: Vec<Vec<u8>>,
    pub protocol_version: String,
    pub cipher_suite: String,
    /// The server sent a CertificateRequest: it asks for (and may require) a client certificate.
    pub client_certificate_requested: bool,
    /// The server completed the handshake but then refused the connection without a client
    /// certificate (TLS 1.3 reports that after the handshake).
    pub client_certificate_required: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{address}: cannot resolve or parse the address: {message}")]
    Address { address: String, message: String },
    #[error("{address}: cannot connect: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("{address}: TLS handshake failed: {message}")]
    Handshake { address: String, message: String },
    #[error("{address}: the server presented no certificate")]
    NoCertificate { address: String },
}

/// Accepts any certificate but still verifies handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
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
        verify_tls12_signature(
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
        verify_tls13_signature(
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

/// Records that the server asked for a client certificate, and offers none.
#[derive(Debug, Default)]
struct RecordRequest(Mutex<bool>);

impl ResolvesClientCert for RecordRequest {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if let Ok(mut asked) = self.0.lock() {
            *asked = true;
        }
        None
    }

    fn has_certs(&self) -> bool {
        // Claiming certificates makes rustls call `resolve` when a request arrives.
        true
    }
}

fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Probes `target`.
pub fn probe(target: &ProbeTarget) -> Result<ProbeResult, ProbeError> {
    let address = target.address.clone();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(RecordRequest::default());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::Handshake {
            address: address.clone(),
            message: e.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_client_cert_resolver(recorder.clone());
    let sni = target
        .sni
        .clone()
        .unwrap_or_else(|| host_of(&address).to_owned());
    let server_name = ServerName::try_from(sni.clone()).map_err(|e| ProbeError::Address {
        address: address.clone(),
        message: format!("invalid server name `{sni}`: {e}"),
    })?;
    if address
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(ProbeError::Address {
            address: address.clone(),
            message: "expected HOST:PORT, e.g. api.example.com:443".to_owned(),
        });
    }
    let socket_address = address
        .to_socket_addrs()
        .map_err(|e| ProbeError::Address {
            address: address.clone(),
            message: e.to_string(),
        })?
        .next()
        .ok_or_else(|| ProbeError::Address {
            address: address.clone(),
            message: "no address".to_owned(),
        })?;
    let mut tcp =
        TcpStream::connect_timeout(&socket_address, target.timeout).map_err(|source| {
            ProbeError::Connect {
                address: address.clone(),
                source,
            }
        })?;
    let _ = tcp.set_read_timeout(Some(target.timeout));
    let _ = tcp.set_write_timeout(Some(target.timeout));
    let mut conn = ClientConnection::new(Arc::new(config), server_name).map_err(|e| {
        ProbeError::Handshake {
            address: address.clone(),
            message: e.to_string(),
        }
    })?;
    let mut handshake_error = None;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            handshake_error = Some(e.to_string());
            break;
        }
    }
    let chain: Vec<Vec<u8>> = conn
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.as_ref().to_vec()).collect())
        .unwrap_or_default();
    let requested = recorder.0.lock().map(|g| *g).unwrap_or(false);
    if chain.is_empty() {
        return Err(match handshake_error {
            Some(message) => ProbeError::Handshake { address, message },
            None => ProbeError::NoCertificate { address },
        });
    }
    // TLS 1.3 servers that require a client certificate say so only after the handshake: send
    // a byte and read the answer.
    let mut required = handshake_error.is_some() && requested;
    if handshake_error.is_none() {
        let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
        let _ = stream.write_all(b"\r\n");
        let _ = stream.flush();
        let mut buf = [0u8; 1];
        if let Err(e) = stream.read(&mut buf) {
            let text = e.to_string();
            if text.contains("CertificateRequired") || text.contains("HandshakeFailure") {
                required = true;
            }
        }
    }
    Ok(ProbeResult {
        address,
        sni,
        chain,
        protocol_version: conn
            .protocol_version()
            .map_or_else(|| "unknown".to_owned(), |v| format!("{v:?}")),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map_or_else(|| "unknown".to_owned(), |c| format!("{:?}", c.suite())),
        client_certificate_requested: requested,
        client_certificate_required: required,
    })
}
