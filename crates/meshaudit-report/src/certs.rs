//! `meshaudit certs`: the certificate inventory as a table for people and as JSON (the contract
//! in docs/certs.md; extend only by adding fields).

use std::fmt::Write;

use meshaudit_model::{CertificateInfo, InputError, Location};
use meshaudit_rules::{Finding, ResourceRef};
use serde_json::{json, Value};

use crate::{TOOL_NAME, TOOL_VERSION};

pub const SCHEMA_VERSION: u32 = 1;

/// Where a certificate lives.
#[derive(Debug, Clone)]
pub enum Place {
    /// In a Secret, ConfigMap or webhook configuration: `key` is the data key (with `#n` for
    /// the n-th certificate of a bundle) or the `caBundle` field.
    Resource {
        resource: ResourceRef,
        key: String,
        location: Location,
    },
    /// In a PEM or DER file given directly; `index` counts certificates in the file from 1.
    File { path: String, index: usize },
    /// Presented by a live TLS endpoint (`--probe`); `index` counts the chain from 1 (the leaf).
    Endpoint {
        address: String,
        sni: String,
        index: usize,
        /// `required`, `requested` or `not requested`: whether the endpoint asks for a client
        /// certificate (mutual TLS).
        client_certificate: &'static str,
        /// Negotiated protocol version and cipher suite.
        tls: String,
    },
}

impl Place {
    /// `Secret istio-system/cacerts ca-cert.pem`, or `certs/ca.pem` (`certs/chain.pem#2`).
    pub fn display(&self) -> String {
        match self {
            Place::Resource { resource, key, .. } => {
                format!("{} {key}", resource.display_name())
            }
            Place::File { path, index } => {
                if *index <= 1 {
                    path.clone()
                } else {
                    format!("{path}#{index}")
                }
            }
            Place::Endpoint { address, index, .. } => format!("tls://{address} chain #{index}"),
        }
    }
}

/// Whether the certificate's issuer is part of the input, decided by signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    /// Names itself as its issuer and its signature verifies with its own key.
    SelfSigned,
    /// The issuer, where it lives (the first place it was found): named as the issuer, and its
    /// key verifies the signature.
    IssuerInInput(String),
    /// A certificate named as the issuer is in the input (where), but the signature could not
    /// be checked (why).
    IssuerUnverified(String, String),
    /// Names itself as its issuer, but its signature could not be checked (why).
    SelfIssuedUnverified(String),
    IssuerNotInInput,
}

impl Chain {
    pub fn as_str(&self) -> &'static str {
        match self {
            Chain::SelfSigned => "self-signed",
            Chain::IssuerInInput(_) => "issuer-in-input",
            Chain::IssuerUnverified(..) => "issuer-unverified",
            Chain::SelfIssuedUnverified(_) => "self-issued-unverified",
            Chain::IssuerNotInInput => "issuer-not-in-input",
        }
    }

    /// The issuer's place, when one is named in the input.
    fn issuer(&self) -> Option<&str> {
        match self {
            Chain::IssuerInInput(w) | Chain::IssuerUnverified(w, _) => Some(w),
            _ => None,
        }
    }

    /// Why the signature could not be checked, when it could not.
    fn unverified(&self) -> Option<&str> {
        match self {
            Chain::IssuerUnverified(_, why) | Chain::SelfIssuedUnverified(why) => Some(why),
            _ => None,
        }
    }
}

/// One certificate as the command shows it.
#[derive(Debug, Clone)]
pub struct CertEntry<'a> {
    pub place: Place,
    pub role: &'static str,
    pub role_because: String,
    /// `None` for files, whose mesh the command cannot know.
    pub mesh: Option<&'static str>,
    pub info: &'a CertificateInfo,
    pub days_left: i64,
    pub chain: Chain,
    pub findings: Vec<&'a Finding>,
}

impl CertEntry<'_> {
    /// `expired`, `not-yet-valid` or `valid` at `now`.
    pub fn validity(&self, now: i64) -> &'static str {
        if self.info.not_after < now {
            "expired"
        } else if self.info.not_before > now {
            "not-yet-valid"
        } else {
            "valid"
        }
    }
}

pub struct CertsReport<'a> {
    /// Unix seconds the days were counted from.
    pub now: i64,
    /// Sorted: fewest days left first.
    pub certificates: &'a [CertEntry<'a>],
    /// `certificates` findings on no listed certificate (cert-manager resources, workload
    /// certificate TTL settings, ...).
    pub other_findings: &'a [&'a Finding],
    pub errors: &'a [InputError],
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-03-01` (UTC).
pub fn rfc3339_date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-03-01T12:00:00Z`.
pub fn rfc3339(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        rfc3339_date(unix),
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

fn key_text(info: &CertificateInfo) -> String {
    match info.key_bits {
        // Curve names already carry their size.
        Some(bits) if !info.key_algorithm.starts_with("EC ") => {
            format!("{} {bits}", info.key_algorithm)
        }
        _ => info.key_algorithm.clone(),
    }
}

fn sans_text(info: &CertificateInfo) -> String {
    let all: Vec<String> = info
        .dns_names
        .iter()
        .map(|d| format!("DNS:{d}"))
        .chain(info.uris.iter().map(|u| format!("URI:{u}")))
        .chain(info.ip_addresses.iter().map(|i| format!("IP:{i}")))
        .collect();
    if all.is_empty() {
        "-".to_owned()
    } else {
        all.join(", ")
    }
}

/// A block per certificate, fewest days left first: a summary row, then subject, issuer, names,
/// key, chain, and the findings on it.
pub fn table(report: &CertsReport<'_>) -> String {
    let mut s = String::new();
    let certs = report.certificates;
    if certs.is_empty() {
        s.push_str("No certificates found.\n");
        other_findings_text(&mut s, report.other_findings);
        return s;
    }
    let role_w = certs.iter().map(|c| c.role.len()).max().unwrap_or(4).max(4);
    let mesh_w = certs
        .iter()
        .map(|c| c.mesh.unwrap_or("-").len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        s,
        "{:>6}  {:<10}  {:<role_w$}  {:<mesh_w$}  WHERE",
        "DAYS", "NOT-AFTER", "ROLE", "MESH"
    );
    for c in certs {
        let _ = writeln!(
            s,
            "{:>6}  {:<10}  {:<role_w$}  {:<mesh_w$}  {}",
            c.days_left,
            rfc3339_date(c.info.not_after),
            c.role,
            c.mesh.unwrap_or("-"),
            c.place.display()
        );
        let pad = "        ";
        let validity = c.validity(report.now);
        if validity != "valid" {
            let note = if validity == "expired" {
                format!("EXPIRED {} day(s) ago", -c.days_left)
            } else {
                format!(
                    "NOT YET VALID: valid from {}",
                    rfc3339_date(c.info.not_before)
                )
            };
            let _ = writeln!(s, "{pad}{note}");
        }
        if let Place::Resource { location, .. } = &c.place {
            let _ = writeln!(s, "{pad}file:      {}:{}", location.path, location.line);
        }
        if let Place::Endpoint {
            sni,
            client_certificate,
            tls,
            ..
        } = &c.place
        {
            let _ = writeln!(
                s,
                "{pad}endpoint:  SNI {sni}, {tls}, client certificate {client_certificate}"
            );
        }
        let _ = writeln!(s, "{pad}subject:   {}", c.info.subject);
        let _ = writeln!(s, "{pad}issuer:    {}", c.info.issuer);
        let _ = writeln!(s, "{pad}names:     {}", sans_text(c.info));
        let _ = writeln!(
            s,
            "{pad}key:       {}, signed {}",
            key_text(c.info),
            c.info.signature_algorithm
        );
        let chain = match &c.chain {
            Chain::SelfSigned => "self-signed".to_owned(),
            Chain::IssuerInInput(w) => format!("issued by {w}"),
            Chain::IssuerUnverified(w, why) => {
                format!("issuer named {w}; signature not checked ({why})")
            }
            Chain::SelfIssuedUnverified(why) => {
                format!("names itself as its issuer; signature not checked ({why})")
            }
            Chain::IssuerNotInInput => "issuer not in input".to_owned(),
        };
        let _ = writeln!(s, "{pad}chain:     {chain}");
        let _ = writeln!(s, "{pad}role:      {}", c.role_because);
        for f in &c.findings {
            let _ = writeln!(
                s,
                "{pad}{:<9} {} {}",
                f.severity.as_str().to_ascii_uppercase(),
                f.rule.code,
                f.message
            );
        }
        s.push('\n');
    }
    other_findings_text(&mut s, report.other_findings);
    let expired = certs
        .iter()
        .filter(|c| c.validity(report.now) == "expired")
        .count();
    let not_yet = certs
        .iter()
        .filter(|c| c.validity(report.now) == "not-yet-valid")
        .count();
    let within_30 = certs
        .iter()
        .filter(|c| c.days_left >= 0 && c.days_left < 30)
        .count();
    let findings: usize =
        certs.iter().map(|c| c.findings.len()).sum::<usize>() + report.other_findings.len();
    let _ = writeln!(
        s,
        "{} certificate(s): {expired} expired, {not_yet} not yet valid, {within_30} expiring within 30 days; {findings} finding(s).",
        certs.len()
    );
    s
}

fn other_findings_text(s: &mut String, findings: &[&Finding]) {
    if findings.is_empty() {
        return;
    }
    s.push_str("Other certificate findings (not on a listed certificate):\n");
    for f in findings {
        let _ = writeln!(
            s,
            "  {:<9} {} {} ({}:{}): {}",
            f.severity.as_str().to_ascii_uppercase(),
            f.rule.code,
            f.resource.display_name(),
            f.location.path,
            f.location.line,
            f.message
        );
    }
    s.push('\n');
}

fn entry_json(c: &CertEntry<'_>, now: i64) -> Value {
    let (resource, key, location) = match &c.place {
        Place::Resource {
            resource,
            key,
            location,
        } => (
            json!({
                "apiVersion": resource.api_version,
                "kind": resource.kind,
                "namespace": resource.namespace,
                "name": resource.name,
            }),
            Value::from(key.as_str()),
            json!({"path": &*location.path, "line": location.line, "column": location.column}),
        ),
        Place::File { path, .. } => (
            Value::Null,
            Value::Null,
            json!({"path": path, "line": 0, "column": 0}),
        ),
        Place::Endpoint { .. } => (Value::Null, Value::Null, Value::Null),
    };
    let endpoint = match &c.place {
        Place::Endpoint {
            address,
            sni,
            index,
            client_certificate,
            tls,
        } => json!({
            "address": address,
            "sni": sni,
            "chainIndex": index,
            "clientCertificate": client_certificate,
            "tls": tls,
        }),
        _ => Value::Null,
    };
    let info = c.info;
    json!({
        "where": c.place.display(),
        "resource": resource,
        "key": key,
        "location": location,
        "endpoint": endpoint,
        "role": c.role,
        "roleBecause": c.role_because,
        "mesh": c.mesh,
        "subject": info.subject,
        "issuer": info.issuer,
        "serial": info.serial,
        "sans": {
            "dns": info.dns_names,
            "uri": info.uris,
            "ip": info.ip_addresses,
        },
        "publicKey": {"algorithm": info.key_algorithm, "bits": info.key_bits},
        "signatureAlgorithm": info.signature_algorithm,
        "notBefore": rfc3339(info.not_before),
        "notAfter": rfc3339(info.not_after),
        "daysLeft": c.days_left,
        "validity": c.validity(now),
        "isCa": info.is_ca,
        "selfSigned": info.self_signed,
        "fingerprintSha256": info.fingerprint_sha256,
        "chain": {
            "status": c.chain.as_str(),
            "issuer": c.chain.issuer(),
            "unverified": c.chain.unverified(),
        },
        "findings": c.findings.iter().map(|f| json!({
            "rule": f.rule.code,
            "severity": f.severity.as_str(),
            "message": f.message,
        })).collect::<Vec<_>>(),
    })
}

pub fn json(report: &CertsReport<'_>) -> String {
    let doc = json!({
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "generatedAt": rfc3339(report.now),
        "errors": report.errors.iter().map(|e| json!({
            "path": &*e.path,
            "line": e.line,
            "message": e.message,
        })).collect::<Vec<_>>(),
        "certificates": report
            .certificates
            .iter()
            .map(|c| entry_json(c, report.now))
            .collect::<Vec<_>>(),
        "otherFindings": report.other_findings.iter().map(|f| json!({
            "rule": f.rule.code,
            "severity": f.severity.as_str(),
            "message": f.message,
            "resource": {
                "apiVersion": f.resource.api_version,
                "kind": f.resource.kind,
                "namespace": f.resource.namespace,
                "name": f.resource.name,
            },
            "location": {
                "path": &*f.location.path,
                "line": f.location.line,
                "column": f.location.column,
            },
        })).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_date(4_102_444_800), "2100-01-01");
    }
}
