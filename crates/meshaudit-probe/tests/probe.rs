//! Real TLS servers on 127.0.0.1: one that asks for a client certificate (and requires it),
//! one that does not. The probe must fetch the presented chain in both cases and tell them
//! apart.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use meshaudit_probe::{probe, ProbeTarget};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

struct Pki {
    ca: rcgen::Certificate,
    server: rcgen::Certificate,
    server_key: rcgen::KeyPair,
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "probe test root");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.subject_alt_names.push(rcgen::SanType::URI(
        "spiffe://cluster.local/ns/shop/sa/api".try_into().unwrap(),
    ));
    let server = params.signed_by(&server_key, &issuer).unwrap();
    Pki {
        ca,
        server,
        server_key,
    }
}

/// Serves TLS on an ephemeral port for one connection; returns the port.
fn serve(pki: &Pki, require_client_cert: bool) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(pki.ca.der().to_vec()))
            .unwrap();
        builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap(),
        )
    } else {
        builder.with_no_client_auth()
    };
    let chain = vec![
        CertificateDer::from(pki.server.der().to_vec()),
        CertificateDer::from(pki.ca.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.serialize_der()));
    let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut tcp, _)) = listener.accept() {
            let mut conn = ServerConnection::new(config).unwrap();
            let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
            let mut buf = [0u8; 2];
            if stream.read(&mut buf).is_ok() {
                let _ = stream.write_all(b"ok");
            }
        }
    });
    port
}

fn target(port: u16) -> ProbeTarget {
    ProbeTarget {
        address: format!("127.0.0.1:{port}"),
        sni: Some("localhost".to_owned()),
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn fetches_the_chain_from_a_server_without_client_auth() {
    let pki = pki();
    let port = serve(&pki, false);
    let result = probe(&target(port)).unwrap();
    assert_eq!(result.chain.len(), 2);
    assert_eq!(result.chain[0], pki.server.der().to_vec());
    assert_eq!(result.chain[1], pki.ca.der().to_vec());
    assert!(!result.client_certificate_requested);
    assert!(!result.client_certificate_required);
    assert_eq!(result.sni, "localhost");
    assert!(
        result.protocol_version.contains("TLSv1_3"),
        "{}",
        result.protocol_version
    );
}

#[test]
fn sees_that_a_server_requires_a_client_certificate() {
    let pki = pki();
    let port = serve(&pki, true);
    let result = probe(&target(port)).unwrap();
    assert_eq!(result.chain[0], pki.server.der().to_vec());
    assert!(result.client_certificate_requested);
    assert!(result.client_certificate_required);
}

#[test]
fn errors_name_the_address() {
    // A port nothing listens on.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = probe(&target(port)).unwrap_err().to_string();
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    // Plaintext on the other side: not TLS.
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = plain.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut s, _)) = plain.accept() {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let err = probe(&target(port)).unwrap_err().to_string();
    assert!(err.contains("TLS handshake failed"), "{err}");
}
