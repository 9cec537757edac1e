//! `meshaudit certs --probe`: a real TLS server on 127.0.0.1 that requires a client
//! certificate; the inventory lists the chain it presents and says mutual TLS is required.

use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::thread;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};
use serde_json::Value;

fn serve_mtls() -> u16 {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "probe root");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "api.shop");
    let server = params.signed_by(&key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der().to_vec())).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let config = Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![
                    CertificateDer::from(server.der().to_vec()),
                    CertificateDer::from(ca.der().to_vec()),
                ],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut tcp, _)) = listener.accept() {
            let mut conn = ServerConnection::new(config).unwrap();
            let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
            let mut buf = [0u8; 2];
            let _ = stream.read(&mut buf);
        }
    });
    port
}

#[test]
fn probe_lists_the_presented_chain_and_mutual_tls() {
    let port = serve_mtls();
    let address = format!("127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args([
            "certs",
            "--probe",
            &address,
            "--sni",
            "localhost",
            "--format",
            "json",
            "--no-config",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let certs = doc["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2, "{certs:#?}");
    let leaf = certs
        .iter()
        .find(|c| c["endpoint"]["chainIndex"] == 1)
        .expect("the leaf");
    assert_eq!(leaf["endpoint"]["address"], address.as_str());
    assert_eq!(leaf["endpoint"]["sni"], "localhost");
    assert_eq!(leaf["endpoint"]["clientCertificate"], "required");
    assert_eq!(leaf["subject"], "CN=api.shop");
    assert_eq!(leaf["role"], "leaf");
    let root = certs
        .iter()
        .find(|c| c["endpoint"]["chainIndex"] == 2)
        .unwrap();
    assert_eq!(root["role"], "ca");
}

#[test]
fn an_unreachable_endpoint_is_an_error_that_names_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let address = format!("127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(["certs", "--probe", &address, "--no-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&address), "{err}");
}
