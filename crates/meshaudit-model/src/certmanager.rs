//! Typed views of cert-manager's resources (`cert-manager.io/v1`): `Certificate`, `Issuer` and
//! `ClusterIssuer`. Only the fields that decide how a certificate is made and renewed are typed.
//!
//! Durations are Go `time.Duration` strings (`2160h`, `90m`, `1h30m`), parsed at ingest so a bad
//! one is reported with its file and line.

use std::fmt;

use serde::de::{self, IgnoredAny};
use serde::Deserialize;

use crate::istio::Typed;

/// A Go duration (`time.ParseDuration`), in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration {
    pub nanos: i64,
}

const NANOS_PER_SEC: i64 = 1_000_000_000;

impl GoDuration {
    pub fn from_secs(secs: i64) -> Self {
        GoDuration {
            nanos: secs.saturating_mul(NANOS_PER_SEC),
        }
    }

    /// Whole seconds (truncated).
    pub fn secs(self) -> i64 {
        self.nanos / NANOS_PER_SEC
    }

    /// Parses Go's duration syntax: an optional sign, then one or more decimal numbers each with
    /// a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`); `0` alone is allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let original = text;
        let invalid = || {
            format!(
                "invalid duration `{original}` (Go syntax such as 2160h, 90m or 1h30m expected)"
            )
        };
        let mut s = text.trim();
        let mut negative = false;
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(GoDuration { nanos: 0 });
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: i128 = 0;
        while !s.is_empty() {
            // The number: digits, optionally `.` and digits (at least one digit overall).
            let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let int_part = &s[..int_len];
            s = &s[int_len..];
            let mut frac_part = "";
            if let Some(rest) = s.strip_prefix('.') {
                let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
                frac_part = &rest[..frac_len];
                s = &rest[frac_len..];
            }
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(invalid());
            }
            let unit_len = s
                .char_indices()
                .find(|(_, c)| c.is_ascii_digit() || *c == '.')
                .map_or(s.len(), |(i, _)| i);
            let unit = &s[..unit_len];
            s = &s[unit_len..];
            let scale: i128 = match unit {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60 * 1_000_000_000,
                "h" => 3_600 * 1_000_000_000,
                "" => {
                    return Err(format!(
                        "invalid duration `{original}`: missing unit (ns, us, ms, s, m, h)"
                    ))
                }
                other => {
                    return Err(format!(
                    "invalid duration `{original}`: unknown unit `{other}` (ns, us, ms, s, m, h)"
                ))
                }
            };
            let int: i128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| invalid())?
            };
            let mut value = int.checked_mul(scale).ok_or_else(invalid)?;
            if !frac_part.is_empty() {
                // Only as many fraction digits as can matter at nanosecond scale.
                let digits = &frac_part[..frac_part.len().min(18)];
                let frac: i128 = digits.parse().map_err(|_| invalid())?;
                value += frac * scale / 10i128.pow(digits.len() as u32);
            }
            total = total.checked_add(value).ok_or_else(invalid)?;
            if total > i64::MAX as i128 {
                return Err(format!("invalid duration `{original}`: too long"));
            }
        }
        let nanos = total as i64;
        Ok(GoDuration {
            nanos: if negative { -nanos } else { nanos },
        })
    }
}

impl fmt::Display for GoDuration {
    /// `2160h (90 days)`-style text for people: whole days when exact, else hours/minutes/seconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.secs();
        let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
        if secs != 0 && secs % 86_400 == 0 {
            return write!(f, "{sign}{} days", secs / 86_400);
        }
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if s > 0 || out.is_empty() {
            out.push_str(&format!("{s}s"));
        }
        write!(f, "{sign}{out}")
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Go duration string such as 2160h")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoDuration, E> {
                GoDuration::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<GoDuration, E> {
                // A bare number is nanoseconds for metav1.Duration's JSON form only when 0.
                if v == 0 {
                    Ok(GoDuration { nanos: 0 })
                } else {
                    Err(E::custom(format!(
                        "invalid duration `{v}`: missing unit (write e.g. {v}h)"
                    )))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<GoDuration, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_str(V)
    }
}

/// `spec.issuerRef`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRef {
    #[serde(default)]
    pub name: String,
    /// `Issuer` (default) or `ClusterIssuer`, or an external issuer's kind.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
}

/// `spec.privateKey`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificatePrivateKey {
    /// `RSA` (default), `ECDSA` or `Ed25519`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// RSA bits (default 2048) or ECDSA curve size (default 256).
    #[serde(default)]
    pub size: Option<u32>,
    /// `Always` (default since cert-manager 1.18) or `Never`.
    #[serde(default)]
    pub rotation_policy: Option<String>,
    #[serde(default)]
    pub encoding: Option<String>,
}

/// `Certificate.spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    #[serde(default)]
    pub secret_name: String,
    #[serde(default)]
    pub duration: Option<GoDuration>,
    #[serde(default)]
    pub renew_before: Option<GoDuration>,
    #[serde(default)]
    pub renew_before_percentage: Option<i64>,
    #[serde(default)]
    pub private_key: Option<CertificatePrivateKey>,
    #[serde(default)]
    pub issuer_ref: IssuerRef,
    #[serde(default, rename = "isCA")]
    pub is_ca: Option<bool>,
    #[serde(default)]
    pub dns_names: Vec<String>,
    #[serde(default)]
    pub uris: Vec<String>,
    #[serde(default)]
    pub common_name: Option<String>,
}

impl CertificateSpec {
    /// cert-manager's default `duration` when unset: 90 days.
    pub const DEFAULT_DURATION: GoDuration = GoDuration {
        nanos: 90 * 86_400 * NANOS_PER_SEC,
    };

    pub fn effective_duration(&self) -> GoDuration {
        self.duration.unwrap_or(Self::DEFAULT_DURATION)
    }

    pub fn is_ca(&self) -> bool {
        self.is_ca == Some(true)
    }
}

/// `spec.ca` of an issuer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaIssuer {
    #[serde(default)]
    pub secret_name: String,
}

/// `Issuer.spec` / `ClusterIssuer.spec`: which kind of issuer it is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerSpec {
    #[serde(default)]
    pub self_signed: Option<IgnoredAny>,
    #[serde(default)]
    pub ca: Option<CaIssuer>,
    #[serde(default)]
    pub acme: Option<IgnoredAny>,
    #[serde(default)]
    pub vault: Option<IgnoredAny>,
    #[serde(default)]
    pub venafi: Option<IgnoredAny>,
}

/// What signs an issuer's certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerType {
    SelfSigned,
    /// A CA whose certificate and key are in this Secret.
    Ca {
        secret_name: String,
    },
    Acme,
    Vault,
    Venafi,
    /// None of the known issuer blocks is set.
    Unknown,
}

impl IssuerType {
    pub fn as_str(&self) -> &'static str {
        match self {
            IssuerType::SelfSigned => "selfSigned",
            IssuerType::Ca { .. } => "ca",
            IssuerType::Acme => "acme",
            IssuerType::Vault => "vault",
            IssuerType::Venafi => "venafi",
            IssuerType::Unknown => "unknown",
        }
    }
}

impl IssuerSpec {
    pub fn issuer_type(&self) -> IssuerType {
        if let Some(ca) = &self.ca {
            IssuerType::Ca {
                secret_name: ca.secret_name.clone(),
            }
        } else if self.self_signed.is_some() {
            IssuerType::SelfSigned
        } else if self.acme.is_some() {
            IssuerType::Acme
        } else if self.vault.is_some() {
            IssuerType::Vault
        } else if self.venafi.is_some() {
            IssuerType::Venafi
        } else {
            IssuerType::Unknown
        }
    }
}

/// cert-manager resources of the input.
#[derive(Debug, Clone, Default)]
pub struct CertManagerResources {
    pub certificates: Vec<Typed<CertificateSpec>>,
    pub issuers: Vec<Typed<IssuerSpec>>,
    /// Cluster-scoped: `namespace` is empty.
    pub cluster_issuers: Vec<Typed<IssuerSpec>>,
}

impl CertManagerResources {
    /// The Certificate that writes Secret `namespace/secret_name`, if any.
    pub fn certificate_for_secret(
        &self,
        namespace: &str,
        secret_name: &str,
    ) -> Option<&Typed<CertificateSpec>> {
        self.certificates
            .iter()
            .find(|c| c.namespace == namespace && c.spec.secret_name == secret_name)
    }

    /// The issuer a Certificate's `issuerRef` names (cert-manager.io kinds only).
    pub fn issuer_of(&self, cert: &Typed<CertificateSpec>) -> Option<&Typed<IssuerSpec>> {
        let r = &cert.spec.issuer_ref;
        if r.group
            .as_deref()
            .is_some_and(|g| !g.is_empty() && g != "cert-manager.io")
        {
            return None;
        }
        match r.kind.as_deref().unwrap_or("Issuer") {
            "ClusterIssuer" => self.cluster_issuers.iter().find(|i| i.name == r.name),
            "Issuer" => self
                .issuers
                .iter()
                .find(|i| i.name == r.name && i.namespace == cert.namespace),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GoDuration;

    fn secs(s: &str) -> i64 {
        GoDuration::parse(s).unwrap().secs()
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(secs("2160h"), 2160 * 3600);
        assert_eq!(secs("90m"), 5400);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("1.5h"), 5400);
        assert_eq!(secs("0"), 0);
        assert_eq!(secs("-2h"), -7200);
        assert_eq!(secs("300ms"), 0);
        assert_eq!(
            GoDuration::parse("1h0.5s").unwrap().nanos,
            3_600_500_000_000
        );
        assert_eq!(GoDuration::parse("2µs").unwrap().nanos, 2_000);
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in [
            "",
            "90",
            "90d",
            "h",
            "1h30",
            "abc",
            "1.h.",
            "-",
            "99999999999999h",
        ] {
            assert!(GoDuration::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn displays_for_people() {
        assert_eq!(GoDuration::from_secs(90 * 86_400).to_string(), "90 days");
        assert_eq!(GoDuration::from_secs(5400).to_string(), "1h30m");
        assert_eq!(GoDuration::from_secs(0).to_string(), "0s");
    }
}
