//! Every certificate the input holds, where it lives, and the role it plays for the mesh.
//!
//! Roles come from the well-known places each mesh keeps its CA material (Istio's plug-in
//! `cacerts` and self-signed `istio-ca-secret`, Linkerd's `linkerd-identity-issuer` and
//! `linkerd-identity-trust-roots`, Consul's CA secrets), from Gateway `credentialName`
//! references, from webhook `caBundle`s, and otherwise from the certificate itself
//! (basicConstraints, self-signed or not — self-signed as decided by signature at ingest,
//! [`CertificateInfo::self_signed`], never by comparing names).

use meshaudit_model::{CertificateInfo, Inventory, Mesh, ObjectId, Step};

use crate::evidence::FieldStep;

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CertRole {
    /// A root every mesh identity chains to (Istio `root-cert.pem`, Linkerd trust anchor,
    /// Consul CA root).
    TrustAnchor,
    /// The CA that signs workload certificates (Istio `ca-cert.pem`, Linkerd issuer).
    SigningCa,
    /// An intermediate in a CA chain file (`cert-chain.pem`).
    ChainIntermediate,
    /// A certificate a Gateway serves (`credentialName`).
    GatewayServing,
    /// A CA bundle the API server uses to trust a webhook.
    WebhookCa,
    /// Any other CA certificate.
    OtherCa,
    /// Any other leaf certificate.
    Leaf,
}

impl CertRole {
    pub fn as_str(self) -> &'static str {
        match self {
            CertRole::TrustAnchor => "trust-anchor",
            CertRole::SigningCa => "signing-ca",
            CertRole::ChainIntermediate => "chain-intermediate",
            CertRole::GatewayServing => "gateway-serving",
            CertRole::WebhookCa => "webhook-ca",
            CertRole::OtherCa => "ca",
            CertRole::Leaf => "leaf",
        }
    }

    /// Roles whose expiry stops the whole mesh (or a webhook) at once.
    pub fn is_authority(self) -> bool {
        matches!(
            self,
            CertRole::TrustAnchor
                | CertRole::SigningCa
                | CertRole::ChainIntermediate
                | CertRole::WebhookCa
                | CertRole::OtherCa
        )
    }
}

/// One certificate of the input.
#[derive(Debug, Clone)]
pub struct CertificateRef<'a> {
    /// The Secret, ConfigMap or webhook configuration it was found in.
    pub object: ObjectId,
    /// The data key, or `webhooks[i].clientConfig.caBundle`.
    pub key: String,
    /// Field path of the value, for locations.
    pub field: Vec<FieldStep>,
    pub info: &'a CertificateInfo,
    pub role: CertRole,
    pub mesh: Mesh,
    /// Why it has that role, for people.
    pub role_because: String,
}

impl CertificateRef<'_> {
    pub fn steps(&self) -> Vec<Step<'_>> {
        self.field
            .iter()
            .map(|s| match s {
                FieldStep::Key(k) => Step::Key(k),
                FieldStep::Index(i) => Step::Index(*i),
            })
            .collect()
    }

    /// Whole days left at `now` (negative once expired).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.info.not_after - now).div_euclid(86_400)
    }
}

/// The data key a certificate came from (`ca-cert.pem#2` → `ca-cert.pem`).
fn base_key(source: &str) -> &str {
    source.split_once('#').map_or(source, |(k, _)| k)
}

fn generic_role(info: &CertificateInfo) -> CertRole {
    if info.is_ca == Some(true) {
        CertRole::OtherCa
    } else {
        CertRole::Leaf
    }
}

/// Every certificate in the inventory, with its role.
pub fn certificates(inventory: &Inventory) -> Vec<CertificateRef<'_>> {
    // Secrets Gateways serve: (namespace of the gateway workloads is not known here, so any
    // Secret whose name a Gateway names as credentialName counts).
    let gateway_credentials: Vec<&str> = inventory
        .istio
        .gateways
        .iter()
        .flat_map(|g| &g.spec.servers)
        .filter_map(|s| s.tls.as_ref()?.credential_name.as_deref())
        .collect();
    let mut out = Vec::new();
    for secret in &inventory.secrets {
        let name = secret.name.as_str();
        for info in &secret.certificates {
            let key = base_key(&info.source);
            let (role, mesh, why) = match (name, key) {
                ("cacerts", "root-cert.pem") => (CertRole::TrustAnchor, Mesh::Istio, "root-cert.pem of Istio's plug-in CA secret cacerts"),
                ("cacerts", "ca-cert.pem") => (CertRole::SigningCa, Mesh::Istio, "ca-cert.pem of Istio's plug-in CA secret cacerts: istiod signs workload certificates with it"),
                ("cacerts", "cert-chain.pem") => (
                    if info.self_signed { CertRole::TrustAnchor } else if info.is_ca == Some(true) { CertRole::ChainIntermediate } else { CertRole::Leaf },
                    Mesh::Istio,
                    "cert-chain.pem of Istio's plug-in CA secret cacerts",
                ),
                // The kubernetes.io/tls layout of cacerts (istio-csr, cert-manager): tls.crt is
                // the signing CA (then its chain), ca.crt the root.
                ("cacerts", "tls.crt") if !info.source.contains('#') => (CertRole::SigningCa, Mesh::Istio, "tls.crt of Istio's plug-in CA secret cacerts (kubernetes.io/tls layout): istiod signs workload certificates with it"),
                ("cacerts", "tls.crt") => (
                    if info.self_signed { CertRole::TrustAnchor } else if info.is_ca == Some(true) { CertRole::ChainIntermediate } else { CertRole::Leaf },
                    Mesh::Istio,
                    "chain in tls.crt of Istio's plug-in CA secret cacerts",
                ),
                ("cacerts", "ca.crt") => (CertRole::TrustAnchor, Mesh::Istio, "ca.crt of Istio's plug-in CA secret cacerts (kubernetes.io/tls layout): the root"),
                ("istio-ca-secret", "ca-cert.pem") => (CertRole::SigningCa, Mesh::Istio, "Istio's self-signed CA (istio-ca-secret): root and signing CA at once"),
                ("linkerd-identity-issuer", "crt.pem" | "tls.crt") => (CertRole::SigningCa, Mesh::Linkerd, "Linkerd's identity issuer certificate"),
                ("linkerd-identity-issuer" | "linkerd-trust-anchor", "ca.crt") => (CertRole::TrustAnchor, Mesh::Linkerd, "Linkerd's trust anchor"),
                (n, _) if n.starts_with("consul") && n.contains("ca") && info.is_ca == Some(true) => (CertRole::TrustAnchor, Mesh::Consul, "Consul's CA certificate"),
                (n, "tls.crt" | "cert") if gateway_credentials.contains(&n) => (CertRole::GatewayServing, Mesh::Istio, "served by a Gateway (credentialName)"),
                (n, "ca.crt" | "cacert") if gateway_credentials.contains(&n) => (CertRole::OtherCa, Mesh::Istio, "CA a Gateway uses to verify clients (credentialName)"),
                _ => (generic_role(info), Mesh::Kubernetes, ""),
            };
            let why = if why.is_empty() {
                format!(
                    "{} in Secret {}/{}",
                    if role == CertRole::Leaf {
                        "leaf certificate"
                    } else {
                        "CA certificate"
                    },
                    secret.namespace,
                    name
                )
            } else {
                why.to_owned()
            };
            out.push(CertificateRef {
                object: secret.object,
                key: info.source.clone(),
                field: vec![FieldStep::Key("data".into()), FieldStep::Key(key.into())],
                info,
                role,
                mesh,
                role_because: why,
            });
        }
    }
    for cm in &inventory.config_maps {
        for info in &cm.certificates {
            let key = base_key(&info.source);
            let (role, mesh, why) = match (cm.name.as_str(), key) {
                ("linkerd-identity-trust-roots", _) => (
                    CertRole::TrustAnchor,
                    Mesh::Linkerd,
                    "Linkerd's trust roots bundle".to_owned(),
                ),
                ("istio-ca-root-cert", _) => (
                    CertRole::TrustAnchor,
                    Mesh::Istio,
                    "Istio's root certificate as distributed to namespaces".to_owned(),
                ),
                _ => (
                    generic_role(info),
                    Mesh::Kubernetes,
                    format!("certificate in ConfigMap {}/{}", cm.namespace, cm.name),
                ),
            };
            out.push(CertificateRef {
                object: cm.object,
                key: info.source.clone(),
                field: vec![FieldStep::Key("data".into()), FieldStep::Key(key.into())],
                info,
                role,
                mesh,
                role_because: why,
            });
        }
    }
    for file in &inventory.certificate_files {
        for info in &file.certificates {
            let (role, mesh, why) = file_role(&file.path, info);
            out.push(CertificateRef {
                object: file.object,
                key: info.source.clone(),
                field: Vec::new(),
                info,
                role,
                mesh,
                role_because: why,
            });
        }
    }
    for config in &inventory.webhook_configurations {
        for (i, hook) in config.webhooks.iter().enumerate() {
            for (n, info) in hook.client_config.ca_bundle_certificates.iter().enumerate() {
                // `#2`, `#3`: the later certificates of one bundle, as for Secret values.
                let suffix = if n == 0 {
                    String::new()
                } else {
                    format!("#{}", n + 1)
                };
                out.push(CertificateRef {
                    object: config.object,
                    key: format!("webhooks[{i}].clientConfig.caBundle{suffix}"),
                    field: vec![
                        FieldStep::Key("webhooks".into()),
                        FieldStep::Index(i),
                        FieldStep::Key("clientConfig".into()),
                        FieldStep::Key("caBundle".into()),
                    ],
                    info,
                    role: CertRole::WebhookCa,
                    mesh: if hook.name.contains("istio.io") {
                        Mesh::Istio
                    } else if hook.name.contains("linkerd") {
                        Mesh::Linkerd
                    } else if hook.name.contains("consul") {
                        Mesh::Consul
                    } else {
                        Mesh::Kubernetes
                    },
                    role_because: format!(
                        "CA bundle the API server trusts for webhook {}",
                        hook.name
                    ),
                });
            }
        }
    }
    // Self-signed is decided by signature at ingest; a certificate that names itself as its
    // issuer but whose signature could not be checked is not taken as self-signed (its role
    // follows from that), and every finding on it says so through its role evidence.
    for cert in &mut out {
        if let Some(why) = cert.info.self_signature_unverifiable() {
            cert.role_because.push_str(&format!(
                "; it names itself as its issuer, but its signature could not be checked ({why}), so it is not taken as self-signed"
            ));
        }
    }
    out
}

/// The role of a certificate from a file: Istio's plug-in CA file names, else by the certificate.
fn file_role(path: &str, info: &CertificateInfo) -> (CertRole, Mesh, String) {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let ca = info.is_ca == Some(true);
    match name {
        "root-cert.pem" => (
            CertRole::TrustAnchor,
            Mesh::Istio,
            "file named like the root of Istio's plug-in CA (root-cert.pem)".to_owned(),
        ),
        "ca-cert.pem" => (
            CertRole::SigningCa,
            Mesh::Istio,
            "file named like the signing CA of Istio's plug-in CA (ca-cert.pem)".to_owned(),
        ),
        "cert-chain.pem" => (
            if info.self_signed {
                CertRole::TrustAnchor
            } else if ca {
                CertRole::ChainIntermediate
            } else {
                CertRole::Leaf
            },
            Mesh::Istio,
            "file named like the chain of Istio's plug-in CA (cert-chain.pem)".to_owned(),
        ),
        _ if ca => (
            CertRole::OtherCa,
            Mesh::Kubernetes,
            format!(
                "CA certificate (basicConstraints CA:TRUE{}) in {}",
                if info.self_signed {
                    ", self-signed"
                } else {
                    ""
                },
                if path.starts_with("tls://") {
                    "a presented chain"
                } else {
                    "a file"
                }
            ),
        ),
        _ => (
            CertRole::Leaf,
            Mesh::Kubernetes,
            format!(
                "leaf certificate (not a CA) in {}",
                if path.starts_with("tls://") {
                    "a presented chain"
                } else {
                    "a file"
                }
            ),
        ),
    }
}
