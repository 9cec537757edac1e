#!/usr/bin/env python3
"""Generates the certificate rule fixtures (crates/meshaudit-rules/fixtures/CERT0xx/*.yaml).

Validity dates are relative to 2026-01-01T00:00:00Z, the fixed "now" of the rule fixture tests.
The output is committed: tests never need this script. Re-running it makes new keys (so new
fingerprints and key identifiers, so re-accept the CERT snapshots) but the same findings. No private
key is ever written to a fixture.

Certificates that modern `cryptography` refuses to make (SHA-1 or MD5 signatures, X.509 v1) are
made by rewriting a normal certificate's DER (signature algorithm, version) and signing the new
TBSCertificate again with the issuer's key where the library allows that hash; otherwise the
signature bytes are filler. meshaudit verifies signatures (self-signed and issued-by are decided by
them): every signature here is real except that filler, which only MD5 signatures get, and MD5 is
an algorithm meshaudit reports as unverifiable anyway.

Exception: CERT014 (private-key-mismatch) needs private keys in its fixtures. They are throwaway
test keys made by this script, used nowhere else.

Usage: python3 scripts/gen-cert-fixtures.py            (every code)
       python3 scripts/gen-cert-fixtures.py CERT011 ...  (only these codes; CERT008-signatures and
       CERT009-signatures are the fixtures about deciding self-signed and issued-by by signature)
"""

import base64
import datetime
import os
import secrets
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "crates", "meshaudit-rules", "fixtures")


def day(n):
    return NOW + datetime.timedelta(days=n)


# ---------------------------------------------------------------- keys and certificates


def new_key(kind):
    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ec521":
        return ec.generate_private_key(ec.SECP521R1())
    if kind == "ec192":
        return ec.generate_private_key(ec.SECP192R1())
    if kind == "dsa":
        return dsa.generate_private_key(2048)
    if kind.startswith("rsa"):
        return rsa.generate_private_key(65537, int(kind[3:]))
    raise ValueError(kind)


class Cert:
    def __init__(self, der, key, name):
        self.der = der
        self.key = key
        self.name = name

    def pem(self):
        b64 = base64.encodebytes(self.der).decode().replace("\n", "")
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def make(
    cn,
    issuer=None,
    key="ec256",
    nb=-30,
    na=365,
    ca=False,
    pathlen=None,
    ku=None,
    dns=(),
    uris=(),
    sig="sha256",
    v1=False,
    org="example",
    key_ids=True,
):
    """A certificate for `cn`, signed by `issuer` (a Cert) or self-signed.

    ca: True/False writes basicConstraints (critical), None leaves it out.
    ku: key usage names; default keyCertSign+cRLSign+digitalSignature for CAs,
        digitalSignature+keyEncipherment for leaves; [] leaves the extension out.
    sig: sha256, sha384 or sha512 are signed directly; sha1 and md5 by rewriting (see above).
    key_ids: False leaves out the subject and authority key identifiers (older tooling).
    """
    k = new_key(key)
    # org="" leaves the organization out: CN only, as Linkerd's generated certificates are named.
    name = x509.Name(
        ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else [])
        + [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )
    signer_key = issuer.key if issuer else k
    issuer_name = issuer.name if issuer else name
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(k.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(day(nb))
        .not_valid_after(day(na))
    )
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen), critical=True)
    if ku is None:
        ku = ["keyCertSign", "cRLSign", "digitalSignature"] if ca else ["digitalSignature", "keyEncipherment"]
    if ku:
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature="digitalSignature" in ku,
                content_commitment=False,
                key_encipherment="keyEncipherment" in ku,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign="keyCertSign" in ku,
                crl_sign="cRLSign" in ku,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if not ca and (dns or uris):
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    sans = [x509.DNSName(d) for d in dns] + [x509.UniformResourceIdentifier(u) for u in uris]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if key_ids:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
    if issuer and key_ids:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    direct = {"sha384": hashes.SHA384, "sha512": hashes.SHA512}.get(sig, hashes.SHA256)
    der = b.sign(signer_key, direct()).public_bytes(serialization.Encoding.DER)
    if sig not in ("sha256", "sha384", "sha512") or v1:
        der = rewrite(der, signer_key, sig, v1)
    return Cert(der, k, name)


# ---------------------------------------------------------------- DER surgery


def read_tlv(b, i):
    tag = b[i]
    length = b[i + 1]
    start = i + 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(b[start : start + n], "big")
        start += n
    return tag, start, start + length


def children(content):
    out = []
    i = 0
    while i < len(content):
        _, s, e = read_tlv(content, i)
        out.append(content[i:e])
        i = e
    return out


def enc(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(chunk))
    return enc(0x06, body)


SIG_OIDS = {
    ("rsa", "sha256"): ("1.2.840.113549.1.1.11", True, hashes.SHA256),
    ("rsa", "sha1"): ("1.2.840.113549.1.1.5", True, hashes.SHA1),
    ("rsa", "md5"): ("1.2.840.113549.1.1.4", True, hashes.MD5),
    ("ec", "sha256"): ("1.2.840.10045.4.3.2", False, hashes.SHA256),
    ("ec", "sha1"): ("1.2.840.10045.4.1", False, hashes.SHA1),
}


def rewrite(der, signer_key, sig, v1):
    """Re-issues `der` with signature algorithm `sig` and/or as an X.509 v1 certificate."""
    _, s, e = read_tlv(der, 0)
    tbs, _, _ = children(der[s:e])
    _, ts, te = read_tlv(tbs, 0)
    fields = children(tbs[ts:te])
    family = "rsa" if isinstance(signer_key, rsa.RSAPrivateKey) else "ec"
    dotted, null_param, hash_cls = SIG_OIDS[(family, sig)]
    alg = enc(0x30, oid(dotted) + (b"\x05\x00" if null_param else b""))
    if v1:
        # v1: no version field (DEFAULT v1) and no extensions.
        fields = [f for f in fields if f[0] not in (0xA0, 0xA3)]
        fields[1] = alg
    else:
        fields[2] = alg
    new_tbs = enc(0x30, b"".join(fields))
    try:
        if family == "rsa":
            signature = signer_key.sign(new_tbs, padding.PKCS1v15(), hash_cls())
        else:
            signature = signer_key.sign(new_tbs, ec.ECDSA(hash_cls()))
    except Exception:  # the library refuses this hash: the bytes are filler
        signature = secrets.token_bytes(256 if family == "rsa" else 72)
    return enc(0x30, new_tbs + alg + enc(0x03, b"\x00" + signature))


# ---------------------------------------------------------------- YAML objects


def b64(text):
    return base64.b64encode(text.encode()).decode()


def namespace(name, labels=None):
    out = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"
    if labels:
        out += "  labels:\n" + "".join(f"    {k}: {v}\n" for k, v in labels.items())
    return out


def secret(ns, name, data, typ="Opaque"):
    out = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ntype: {typ}\ndata:\n"
    for k, v in data.items():
        out += f"  {k}: {b64(v)}\n"
    return out


def tls_secret(ns, name, cert):
    return secret(ns, name, {"tls.crt": cert.pem()}, "kubernetes.io/tls")


def configmap(ns, name, data):
    out = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n"
    for k, v in data.items():
        out += f"  {k}: |\n" + "".join(f"    {line}\n" for line in v.splitlines())
    return out


def mesh_config(trust_domain, aliases=()):
    out = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\n"
        f"data:\n  mesh: |\n    trustDomain: {trust_domain}\n"
    )
    if aliases:
        out += "    trustDomainAliases:\n" + "".join(f"    - {a}\n" for a in aliases)
    return out


def gateway(ns, name, host, credential):
    return f"""apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - "{host}"
    tls:
      mode: SIMPLE
      credentialName: {credential}
"""


def webhook(name, cert):
    return f"""apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: {name}
webhooks:
- name: validate.{name}.example.com
  admissionReviewVersions: ["v1"]
  sideEffects: None
  failurePolicy: Fail
  clientConfig:
    service:
      name: {name}
      namespace: {name}
      port: 443
    caBundle: {base64.b64encode(cert.pem().encode()).decode()}
"""


ISTIO_NS = namespace("istio-system")
LINKERD_NS = namespace("linkerd", {"linkerd.io/is-control-plane": "true"})


def cacerts(root, ca, chain=None, ns="istio-system"):
    """Istio's plug-in CA secret (no ca-key.pem: fixtures never hold private keys)."""
    chain = chain if chain is not None else [ca, root]
    data = {"ca-cert.pem": ca.pem(), "root-cert.pem": root.pem()}
    if chain:
        data["cert-chain.pem"] = "".join(c.pem() for c in chain)
    return secret(ns, "cacerts", data)


def linkerd_issuer(issuer, ca=None):
    data = {"crt.pem": issuer.pem()}
    if ca is not None:
        data["ca.crt"] = ca.pem()
    return secret("linkerd", "linkerd-identity-issuer", data)


def trust_roots(*roots):
    return configmap("linkerd", "linkerd-identity-trust-roots", {"ca-bundle.crt": "".join(r.pem() for r in roots)})


def root_ca(cn="Istio Root CA", **kw):
    kw.setdefault("nb", -365)
    kw.setdefault("na", 9 * 365)
    return make(cn, ca=True, **kw)


def signing_ca(root, cn="Istio Intermediate CA", **kw):
    kw.setdefault("nb", -100)
    kw.setdefault("na", 2 * 365)
    kw.setdefault("pathlen", 0)
    return make(cn, issuer=root, ca=True, **kw)


def leaf(issuer, cn, **kw):
    kw.setdefault("nb", -10)
    kw.setdefault("na", 80)
    kw.setdefault("dns", [cn])
    return make(cn, issuer=issuer, ca=False, **kw)


def write(code, name, comment, *docs):
    folder = os.path.join(OUT, code)
    os.makedirs(folder, exist_ok=True)
    head = "".join(f"# {line}\n" for line in comment.strip().splitlines())
    with open(os.path.join(folder, name), "w") as f:
        f.write(head + "---\n".join(docs))


def istio_ok():
    root = root_ca()
    ca = signing_ca(root)
    return root, ca


# ---------------------------------------------------------------- fixtures


def cert001():
    root = root_ca(na=45)
    ca = signing_ca(root, nb=-300, na=5)
    write(
        "CERT001",
        "fires-istio.yaml",
        "Istio plug-in CA: the signing CA ca-cert.pem expires in 5 days (critical), the root in 45\n"
        "days (medium). cert-chain.pem repeats both; each is reported once.",
        ISTIO_NS,
        cacerts(root, ca),
    )
    gw_root, gw_ca = istio_ok()
    write(
        "CERT001",
        "fires-gateway.yaml",
        "An ingress Gateway serves a certificate that expired 3 days ago (critical: the edge is down);\n"
        "an unreferenced TLS secret expires in 20 days (high); a webhook CA bundle in 50 days (medium).",
        ISTIO_NS,
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret("istio-system", "shop-cert", leaf(gw_ca, "shop.example.com", nb=-90, na=-3)),
        tls_secret("istio-system", "api-cert", leaf(gw_ca, "api.example.com", nb=-60, na=20)),
        webhook("policy-agent", make("policy-agent CA", ca=True, nb=-300, na=50)),
    )
    lroot = make("root.linkerd.cluster.local", ca=True, nb=-300, na=25)
    issuer = make("identity.linkerd.cluster.local", issuer=lroot, ca=True, pathlen=0, nb=-375, na=-10)
    write(
        "CERT001",
        "fires-linkerd.yaml",
        "Linkerd: the identity issuer expired 10 days ago (critical), the trust anchor expires in 25\n"
        "days (high).",
        LINKERD_NS,
        linkerd_issuer(issuer),
        trust_roots(lroot),
    )
    root, ca = istio_ok()
    write(
        "CERT001",
        "passes.yaml",
        "Every certificate has more than 60 days left: root 9 years, signing CA 2 years, gateway 80 days.",
        ISTIO_NS,
        cacerts(root, ca),
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret("istio-system", "shop-cert", leaf(ca, "shop.example.com", na=80)),
    )


def cert002():
    root = root_ca()
    ca = signing_ca(root, nb=3)
    write(
        "CERT002",
        "fires.yaml",
        "The Istio signing CA only becomes valid in 3 days (high); a TLS secret's certificate tomorrow\n"
        "(medium). Both were issued with a clock ahead of the cluster's.",
        ISTIO_NS,
        cacerts(root, ca, chain=[]),
        tls_secret("istio-system", "api-cert", leaf(root, "api.example.com", nb=1, na=90)),
    )
    root, ca = istio_ok()
    write(
        "CERT002",
        "passes.yaml",
        "Every certificate is already valid (notBefore in the past).",
        ISTIO_NS,
        cacerts(root, ca, chain=[]),
        tls_secret("istio-system", "api-cert", leaf(root, "api.example.com", nb=-1, na=90)),
    )


def cert003():
    root = root_ca(key="rsa4096")
    ca = signing_ca(root, key="rsa1024")
    write(
        "CERT003",
        "fires.yaml",
        "Weak keys: the Istio signing CA has a 1024-bit RSA key, the gateway certificate a P-192 key,\n"
        "and a legacy TLS secret a DSA key (all high).",
        ISTIO_NS,
        cacerts(root, ca, chain=[]),
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret("istio-system", "shop-cert", leaf(ca, "shop.example.com", key="ec192")),
        tls_secret("istio-system", "legacy-cert", leaf(ca, "legacy.example.com", key="dsa")),
    )
    root = root_ca(key="rsa4096")
    ca = signing_ca(root, key="rsa2048")
    write(
        "CERT003",
        "passes.yaml",
        "Strong keys: RSA 4096 root, RSA 2048 signing CA, EC P-256 and P-384 leaves.",
        ISTIO_NS,
        cacerts(root, ca, chain=[]),
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret("istio-system", "shop-cert", leaf(ca, "shop.example.com")),
        tls_secret("istio-system", "api-cert", leaf(ca, "api.example.com", key="ec384")),
    )


def cert004():
    root = root_ca(key="rsa2048")
    ca = signing_ca(root, key="rsa2048", sig="sha1")
    lroot = make("root.linkerd.cluster.local", ca=True, key="rsa2048", nb=-300, na=3000)
    issuer = make("identity.linkerd.cluster.local", issuer=lroot, ca=True, pathlen=0, na=300, sig="md5")
    write(
        "CERT004",
        "fires.yaml",
        "Weak signatures: the Istio signing CA is signed with SHA-1 (high), a gateway certificate with\n"
        "MD5 (high), the Linkerd issuer with MD5 (critical: forgeable issuer of every identity).",
        ISTIO_NS,
        LINKERD_NS,
        cacerts(root, ca, chain=[]),
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret("istio-system", "shop-cert", leaf(ca, "shop.example.com", sig="md5")),
        linkerd_issuer(issuer),
        trust_roots(lroot),
    )
    root = root_ca(key="rsa2048", sig="sha1")
    ca = signing_ca(root, key="rsa2048")
    write(
        "CERT004",
        "fires-self-signed-root.yaml",
        "A self-signed root whose own signature is SHA-1: only low (clients trust the root by its\n"
        "presence in the bundle, never by that signature); everything it signs uses SHA-256.",
        ISTIO_NS,
        cacerts(root, ca),
        tls_secret("istio-system", "api-cert", leaf(ca, "api.example.com")),
    )
    root = root_ca(key="rsa2048")
    ca = signing_ca(root, key="rsa2048")
    write(
        "CERT004",
        "passes.yaml",
        "Every certificate, root included, is signed with SHA-256 or ECDSA-SHA256.",
        ISTIO_NS,
        cacerts(root, ca),
        tls_secret("istio-system", "api-cert", leaf(ca, "api.example.com")),
    )


def cert005():
    root = root_ca(key="rsa2048", v1=True)
    ca = signing_ca(root, key="rsa2048")
    write(
        "CERT005",
        "fires.yaml",
        "X.509 v1 certificates: the Istio root (high: an unconstrained CA) and a self-signed TLS\n"
        "certificate (medium).",
        ISTIO_NS,
        cacerts(root, ca, chain=[]),
        tls_secret("istio-system", "legacy-cert", make("legacy.example.com", key="rsa2048", v1=True)),
    )
    root, ca = istio_ok()
    write(
        "CERT005",
        "passes.yaml",
        "Every certificate is X.509 v3.",
        ISTIO_NS,
        cacerts(root, ca, chain=[]),
        tls_secret("istio-system", "legacy-cert", leaf(ca, "legacy.example.com")),
    )


def cert006():
    root = root_ca(nb=-365, na=20 * 365)
    ca = signing_ca(root, nb=-365, na=7 * 365)
    write(
        "CERT006",
        "fires.yaml",
        "Lifetimes too long: gateway certificate 730 days (medium, over 398), signing CA 8 years\n"
        "(low, over 5), root 21 years (low, over 10).",
        ISTIO_NS,
        cacerts(root, ca, chain=[]),
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret("istio-system", "shop-cert", leaf(ca, "shop.example.com", nb=-30, na=700)),
    )
    root = root_ca(nb=-365, na=9 * 365)
    ca = signing_ca(root, nb=-365, na=4 * 365)
    write(
        "CERT006",
        "passes.yaml",
        "Lifetimes within limits: gateway 397 days, signing CA 5 years, root 10 years.",
        ISTIO_NS,
        cacerts(root, ca, chain=[]),
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret("istio-system", "shop-cert", leaf(ca, "shop.example.com", nb=-30, na=367)),
    )


def cert007():
    root = root_ca()
    ca = make("Istio Intermediate CA", issuer=root, ca=False, ku=["digitalSignature", "keyEncipherment"])
    lroot = make("root.linkerd.cluster.local", ca=True, nb=-300, na=3000)
    issuer = make("identity.linkerd.cluster.local", issuer=lroot, ca=True, ku=["digitalSignature"], na=300)
    gw_root, gw_ca = istio_ok()
    write(
        "CERT007",
        "fires.yaml",
        "CA constraints wrong for the role: the Istio signing CA is CA:FALSE, the Linkerd issuer lacks\n"
        "keyCertSign, and the gateway's serving certificate is CA:TRUE (can mint certificates).",
        ISTIO_NS,
        LINKERD_NS,
        cacerts(root, ca, chain=[]),
        linkerd_issuer(issuer),
        trust_roots(lroot),
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret(
            "istio-system",
            "shop-cert",
            make("shop.example.com", issuer=gw_ca, ca=True, dns=["shop.example.com"], na=80),
        ),
    )
    root, ca = istio_ok()  # signing CA with pathLen 0: fine, it signs only leaves
    write(
        "CERT007",
        "passes.yaml",
        "Sound constraints: root and signing CA (pathLen 0) are CA:TRUE with keyCertSign, the gateway\n"
        "certificate is CA:FALSE, and a webhook trusts its self-signed serving certificate directly.",
        ISTIO_NS,
        cacerts(root, ca),
        gateway("istio-system", "public", "shop.example.com", "shop-cert"),
        tls_secret("istio-system", "shop-cert", leaf(ca, "shop.example.com")),
        webhook("policy-agent", make("policy-agent.policy-agent.svc", ca=False, dns=["policy-agent.policy-agent.svc"])),
    )


def istio_ca_secret(cert):
    return secret("istio-system", "istio-ca-secret", {"ca-cert.pem": cert.pem()}, "istio.io/ca-root")


def cert008():
    self_signed = make("cluster.local", org="cluster.local", ca=True, nb=-200, na=3450)
    write(
        "CERT008",
        "fires.yaml",
        "Istio runs on its self-signed CA istio-ca-secret: there is no cacerts plug-in CA secret.",
        ISTIO_NS,
        istio_ca_secret(self_signed),
    )
    root = root_ca()
    write(
        "CERT008",
        "fires-root-as-ca.yaml",
        "The plug-in CA secret cacerts uses the self-signed root itself as ca-cert.pem: the offline\n"
        "root's key must live in the cluster.",
        ISTIO_NS,
        cacerts(root, root, chain=[root]),
    )
    root, ca = istio_ok()
    write(
        "CERT008",
        "passes.yaml",
        "A plug-in CA: cacerts holds an intermediate signed by an offline root. istio-ca-secret is left\n"
        "over from before, but istiod uses cacerts when it exists.",
        ISTIO_NS,
        cacerts(root, ca),
        istio_ca_secret(make("cluster.local", org="cluster.local", ca=True, nb=-200, na=3450)),
    )


def cert008_signatures():
    """CERT008 decides "self-signed" by signature: fixtures where the names say one thing."""
    anchor = make("identity.linkerd.cluster.local", org="", ca=True, nb=-300, na=3000)
    issuer = make("identity.linkerd.cluster.local", org="", issuer=anchor, ca=True, pathlen=0, na=300)
    write(
        "CERT008",
        "passes-linkerd-shared-subject.yaml",
        "Linkerd as `linkerd install` sets it up: the trust anchor and the identity issuer are both\n"
        "named identity.linkerd.cluster.local, but the issuer is signed by the anchor's key (its\n"
        "signature does not verify with its own key): a proper intermediate, not self-signed.",
        LINKERD_NS,
        linkerd_issuer(issuer, ca=anchor),
        trust_roots(anchor),
    )
    root = root_ca()
    ca = signing_ca(root, cn="Istio Root CA")
    write(
        "CERT008",
        "passes-istio-shared-subject.yaml",
        "cacerts' signing CA carries its root's name (O=example, CN=Istio Root CA) but is signed by the\n"
        "root's key: an intermediate, not the root itself.",
        ISTIO_NS,
        cacerts(root, ca, chain=[ca, root]),
    )
    root = root_ca()
    p521 = make("Istio Root CA", key="ec521", sig="sha512", ca=True, nb=-100, na=3000)
    write(
        "CERT008",
        "fires-unverifiable.yaml",
        "cacerts' ca-cert.pem names itself as its issuer, but it is signed with ECDSA P-521/SHA-512,\n"
        "which meshaudit cannot verify: reported at info, saying so, not called self-signed.",
        ISTIO_NS,
        cacerts(root, p521, chain=[]),
    )


def cert009_signatures():
    """CERT009 decides issuer links by signature: fixtures that names alone get wrong."""
    new = make("root.linkerd.cluster.local", ca=True, nb=-300, na=3000, key_ids=False)
    old = make("root.linkerd.cluster.local", ca=True, nb=-800, na=300, key_ids=False)
    issuer = make("identity.linkerd.cluster.local", issuer=old, ca=True, pathlen=0, na=300, key_ids=False)
    write(
        "CERT009",
        "fires-linkerd-no-key-ids.yaml",
        "Linkerd: the issuer was signed by an old trust anchor with the same name, and no certificate\n"
        "carries key identifiers, so only the signature tells the anchors apart: the bundle's anchor\n"
        "did not sign the issuer.",
        LINKERD_NS,
        linkerd_issuer(issuer),
        trust_roots(new),
    )
    anchor = make("identity.linkerd.cluster.local", org="", ca=True, nb=-300, na=3000)
    issuer = make("identity.linkerd.cluster.local", org="", issuer=anchor, ca=True, pathlen=0, na=300)
    write(
        "CERT009",
        "passes-linkerd-shared-subject.yaml",
        "Linkerd's default naming: anchor and issuer both identity.linkerd.cluster.local; the anchor in\n"
        "the trust roots signed the issuer.",
        LINKERD_NS,
        linkerd_issuer(issuer, ca=anchor),
        trust_roots(anchor),
    )
    root = make("Istio Root CA", key="ec521", sig="sha512", ca=True, nb=-365, na=9 * 365)
    ca = make("Istio Intermediate CA", key="ec521", sig="sha512", issuer=root, ca=True, pathlen=0, nb=-100, na=700)
    write(
        "CERT009",
        "fires-unverifiable.yaml",
        "cacerts signed with ECDSA P-521/SHA-512, which meshaudit cannot verify: names and key\n"
        "identifiers agree, so the chain is not called broken, but one info finding says it could not\n"
        "be verified.",
        ISTIO_NS,
        cacerts(root, ca, chain=[ca, root]),
    )


def cert009():
    root = root_ca()
    other = root_ca("Old Istio Root CA")
    ca = signing_ca(other)
    write(
        "CERT009",
        "fires-istio.yaml",
        "cacerts: ca-cert.pem was issued by a different root than root-cert.pem (a re-issued root);\n"
        "cert-chain.pem ends at that other root.",
        ISTIO_NS,
        cacerts(root, ca, chain=[ca, other]),
    )
    root, ca = istio_ok()
    write(
        "CERT009",
        "fires-chain-order.yaml",
        "cacerts: cert-chain.pem starts with the root instead of ca-cert.pem (wrong order).",
        ISTIO_NS,
        cacerts(root, ca, chain=[root, ca]),
    )
    lroot = make("root.linkerd.cluster.local", ca=True, nb=-300, na=3000)
    old = make("root.linkerd.cluster.local", ca=True, nb=-800, na=300)
    issuer = make("identity.linkerd.cluster.local", issuer=old, ca=True, pathlen=0, na=300)
    write(
        "CERT009",
        "fires-linkerd.yaml",
        "Linkerd: the issuer was signed by an old trust anchor with the same name; the trust roots\n"
        "bundle holds only the new anchor (the key identifiers differ), so proxies reject every identity.",
        LINKERD_NS,
        linkerd_issuer(issuer),
        trust_roots(lroot),
    )
    root = root_ca()
    inter = make("Istio Regional CA", issuer=root, ca=True, pathlen=1, nb=-200, na=4 * 365)
    ca = signing_ca(inter)
    lroot = make("root.linkerd.cluster.local", ca=True, nb=-300, na=3000)
    old = make("root.linkerd.cluster.local", ca=True, nb=-800, na=300)
    issuer = make("identity.linkerd.cluster.local", issuer=lroot, ca=True, pathlen=0, na=300)
    write(
        "CERT009",
        "passes.yaml",
        "Sound chains: cacerts ca-cert.pem -> regional intermediate -> root-cert.pem, cert-chain.pem\n"
        "in that order; the Linkerd issuer is signed by one of the two anchors in the trust roots.",
        ISTIO_NS,
        LINKERD_NS,
        cacerts(root, ca, chain=[ca, inter, root]),
        linkerd_issuer(issuer),
        trust_roots(old, lroot),
    )


def cert010():
    root, ca = istio_ok()
    istiod = leaf(
        ca,
        "istiod.istio-system.svc",
        uris=["spiffe://cluster.local/ns/istio-system/sa/istiod"],
    )
    write(
        "CERT010",
        "fires.yaml",
        "The mesh's trust domain is prod.example.com, but istiod's certificate (issued by\n"
        "cert-manager istio-csr) carries a cluster.local SPIFFE identity.",
        ISTIO_NS,
        mesh_config("prod.example.com"),
        cacerts(root, ca, chain=[]),
        tls_secret("istio-system", "istiod-tls", istiod),
    )
    istiod = leaf(
        ca,
        "istiod.istio-system.svc",
        uris=["spiffe://prod.example.com/ns/istio-system/sa/istiod"],
    )
    write(
        "CERT010",
        "passes.yaml",
        "istiod's SPIFFE identity is in the mesh's trust domain prod.example.com.",
        ISTIO_NS,
        mesh_config("prod.example.com"),
        cacerts(root, ca, chain=[]),
        tls_secret("istio-system", "istiod-tls", istiod),
    )
    old = leaf(ca, "legacy.istio-system.svc", uris=["spiffe://cluster.local/ns/istio-system/sa/legacy"])
    write(
        "CERT010",
        "passes-alias.yaml",
        "The mesh moved from cluster.local to prod.example.com and keeps cluster.local as a trust\n"
        "domain alias, so a cluster.local identity is still accepted.",
        ISTIO_NS,
        mesh_config("prod.example.com", ["cluster.local"]),
        tls_secret("istio-system", "legacy-tls", old),
    )


# ---------------------------------------------------------------- CERT014-CERT016


def key_pem(k, form="pkcs8"):
    """A throwaway test key as PEM: pkcs8 (PRIVATE KEY), pkcs1 (RSA PRIVATE KEY), sec1 (EC PRIVATE KEY)."""
    fmt = serialization.PrivateFormat.PKCS8 if form == "pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
    return k.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def string_secret(ns, name, data, typ="Opaque"):
    out = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ntype: {typ}\nstringData:\n"
    for k, v in data.items():
        out += f"  {k}: |\n" + "".join(f"    {line}\n" for line in v.splitlines())
    return out


def cacerts_with_key(root, ca, key):
    data = {
        "ca-cert.pem": ca.pem(),
        "ca-key.pem": key,
        "root-cert.pem": root.pem(),
        "cert-chain.pem": ca.pem() + root.pem(),
    }
    return secret("istio-system", "cacerts", data)


def tls_with_key(ns, name, cert, key):
    return secret(ns, name, {"tls.crt": cert.pem(), "tls.key": key}, "kubernetes.io/tls")


def cert014():
    root, ca = istio_ok()
    stale = new_key("ec256")
    write(
        "CERT014",
        "fires-istio.yaml",
        "cacerts: ca-key.pem is the previous intermediate's key (PKCS#8 EC), not the key of the new\n"
        "ca-cert.pem: istiod cannot sign workload certificates. (Throwaway test keys.)",
        ISTIO_NS,
        cacerts_with_key(root, ca, key_pem(stale)),
    )
    gw_cert = leaf(ca, "shop.example.com", key="rsa2048")
    write(
        "CERT014",
        "fires-gateway.yaml",
        "A Gateway serves credential shop-tls, whose tls.key (PKCS#1 RSA) belongs to another\n"
        "certificate: the HTTPS listener fails. (Throwaway test keys.)",
        ISTIO_NS,
        gateway("istio-system", "shop", "shop.example.com", "shop-tls"),
        tls_with_key("istio-system", "shop-tls", gw_cert, key_pem(new_key("rsa2048"), "pkcs1")),
    )
    lroot = make("root.linkerd.cluster.local", ca=True, nb=-300, na=3000)
    issuer = make("identity.linkerd.cluster.local", issuer=lroot, ca=True, pathlen=0, na=300)
    write(
        "CERT014",
        "fires-linkerd.yaml",
        "Linkerd's issuer Secret (stringData): key.pem (SEC1 EC) is not the key of crt.pem, so the\n"
        "identity service cannot issue certificates. (Throwaway test keys.)",
        LINKERD_NS,
        string_secret(
            "linkerd",
            "linkerd-identity-issuer",
            {"crt.pem": issuer.pem(), "key.pem": key_pem(new_key("ec256"), "sec1"), "ca.crt": lroot.pem()},
        ),
        trust_roots(lroot),
    )
    root, ca = istio_ok()
    gw_cert = leaf(ca, "shop.example.com", key="rsa2048")
    lroot = make("root.linkerd.cluster.local", ca=True, nb=-300, na=3000)
    issuer = make("identity.linkerd.cluster.local", issuer=lroot, ca=True, pathlen=0, na=300)
    write(
        "CERT014",
        "passes.yaml",
        "Every key matches its certificate: cacerts ca-key.pem (SEC1 EC), the gateway's tls.key\n"
        "(PKCS#8 RSA), Linkerd's key.pem (PKCS#8 EC). (Throwaway test keys.)",
        ISTIO_NS,
        LINKERD_NS,
        cacerts_with_key(root, ca, key_pem(ca.key, "sec1")),
        gateway("istio-system", "shop", "shop.example.com", "shop-tls"),
        tls_with_key("istio-system", "shop-tls", gw_cert, key_pem(gw_cert.key)),
        string_secret(
            "linkerd",
            "linkerd-identity-issuer",
            {"crt.pem": issuer.pem(), "key.pem": key_pem(issuer.key), "ca.crt": lroot.pem()},
        ),
        trust_roots(lroot),
    )


def istiod(env, annotations=None):
    out = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
spec:
  selector:
    matchLabels:
      app: istiod
  template:
    metadata:
      labels:
        app: istiod
"""
    if annotations:
        out += "      annotations:\n" + "".join(f"        {k}: |\n" + "".join(f"          {l}\n" for l in v.splitlines()) for k, v in annotations.items())
    out += """    spec:
      serviceAccountName: istiod
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.24.0
        env:
"""
    out += "".join(f'        - name: {k}\n          value: "{v}"\n' for k, v in env.items())
    return out


def app(ns, name, annotation):
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
      annotations:
        proxy.istio.io/config: |
""" + "".join(f"          {l}\n" for l in annotation.splitlines()) + f"""    spec:
      containers:
      - name: {name}
        image: example/{name}:1.0
"""


def istio_mesh(secret_ttl):
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\n"
        "data:\n  mesh: |\n    trustDomain: cluster.local\n    defaultConfig:\n      proxyMetadata:\n"
        f'        SECRET_TTL: "{secret_ttl}"\n'
    )


def linkerd_config(lifetime):
    return configmap(
        "linkerd",
        "linkerd-config",
        {"values": f"identity:\n  issuer:\n    clockSkewAllowance: 20s\n    issuanceLifetime: {lifetime}\n    scheme: linkerd.io/tls\n"},
    )


def linkerd_identity(lifetime):
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: linkerd-identity
  namespace: linkerd
spec:
  selector:
    matchLabels:
      linkerd.io/control-plane-component: identity
  template:
    metadata:
      labels:
        linkerd.io/control-plane-component: identity
    spec:
      serviceAccountName: linkerd-identity
      containers:
      - name: identity
        image: cr.l5d.io/linkerd/controller:stable-2.14.10
        args:
        - identity
        - -controller-namespace=linkerd
        - -identity-trust-domain=cluster.local
        - -identity-issuance-lifetime={lifetime}
        - -identity-clock-skew-allowance=20s
"""


def consul_config(ttl):
    hcl = f'connect {{\n  enabled = true\n  ca_config {{\n    leaf_cert_ttl = "{ttl}"\n  }}\n}}\n'
    return namespace("consul") + "---\n" + configmap("consul", "consul-server-config", {"server.hcl": hcl})


def cert015():
    write(
        "CERT015",
        "fires-istio.yaml",
        "istiod issues 30-day workload certificates (DEFAULT_WORKLOAD_CERT_TTL=720h) and allows 48h on\n"
        "request; one app asks for 96h through SECRET_TTL; the mesh default SECRET_TTL is not a Go duration.",
        ISTIO_NS,
        namespace("shop", {"istio-injection": "enabled"}),
        istio_mesh("30d"),
        istiod({"DEFAULT_WORKLOAD_CERT_TTL": "720h", "MAX_WORKLOAD_CERT_TTL": "48h"}),
        app("shop", "cart", "proxyMetadata:\n  SECRET_TTL: 96h\n"),
    )
    write(
        "CERT015",
        "fires-linkerd.yaml",
        "Linkerd issues 90-day workload certificates (issuanceLifetime 2160h0m0s in linkerd-config and\n"
        "the identity controller's -identity-issuance-lifetime).",
        LINKERD_NS,
        linkerd_config("2160h0m0s"),
        linkerd_identity("2160h0m0s"),
    )
    write(
        "CERT015",
        "fires-consul.yaml",
        "Consul server configuration sets leaf_cert_ttl = 720h (30 days; Consul's default is 72h).",
        consul_config("720h"),
    )
    write(
        "CERT015",
        "passes.yaml",
        "Short workload certificate lifetimes: istiod 12h default and 24h max, SECRET_TTL 12h, Linkerd\n"
        "24h0m0s, Consul leaf_cert_ttl 72h.",
        ISTIO_NS,
        LINKERD_NS,
        namespace("shop", {"istio-injection": "enabled"}),
        istio_mesh("12h"),
        istiod({"DEFAULT_WORKLOAD_CERT_TTL": "12h", "MAX_WORKLOAD_CERT_TTL": "24h"}),
        app("shop", "cart", "proxyMetadata:\n  SECRET_TTL: 12h\n"),
        linkerd_config("24h0m0s"),
        linkerd_identity("24h0m0s"),
        consul_config("72h"),
    )


def istio_root_cm(ns, *roots):
    return configmap(ns, "istio-ca-root-cert", {"root-cert.pem": "".join(r.pem() for r in roots)})


def cert016():
    old = root_ca("Istio Root CA 2024", nb=-700)
    new = root_ca("Istio Root CA 2026")
    ca = signing_ca(new)
    write(
        "CERT016",
        "fires-istio.yaml",
        "cacerts moved to a new root, but istio-ca-root-cert in namespace payments still holds only the\n"
        "old root (istio-system's copy is current).",
        ISTIO_NS,
        namespace("payments", {"istio-injection": "enabled"}),
        cacerts(new, ca),
        istio_root_cm("istio-system", new),
        istio_root_cm("payments", old),
    )
    lold = make("root.linkerd.cluster.local", ca=True, nb=-800, na=300)
    lnew = make("root.linkerd.cluster.local", ca=True, nb=-10, na=3000)
    issuer = make("identity.linkerd.cluster.local", issuer=lnew, ca=True, pathlen=0, na=300)
    write(
        "CERT016",
        "fires-linkerd.yaml",
        "cert-manager renewed Linkerd's trust anchor and re-issued the issuer from it (ca.crt), but the\n"
        "trust roots bundle still holds only the previous anchor.",
        LINKERD_NS,
        linkerd_issuer(issuer, ca=lnew),
        trust_roots(lold),
    )
    old = root_ca("Istio Root CA 2024", nb=-700)
    new = root_ca("Istio Root CA 2026")
    ca = signing_ca(new)
    lold = make("root.linkerd.cluster.local", ca=True, nb=-800, na=300)
    lnew = make("root.linkerd.cluster.local", ca=True, nb=-10, na=3000)
    issuer = make("identity.linkerd.cluster.local", issuer=lnew, ca=True, pathlen=0, na=300)
    write(
        "CERT016",
        "passes.yaml",
        "A root migration done in order: every istio-ca-root-cert holds the new root (payments keeps the\n"
        "old one too); Linkerd's bundle holds the old and the new anchor that issued the issuer.",
        ISTIO_NS,
        LINKERD_NS,
        namespace("payments", {"istio-injection": "enabled"}),
        cacerts(new, ca),
        istio_root_cm("istio-system", new),
        istio_root_cm("payments", old, new),
        linkerd_issuer(issuer, ca=lnew),
        trust_roots(lold, lnew),
    )



# ---------------------------------------------------------------- cert-manager (CERT011-CERT013)


def cm_certificate(ns, name, secret_name, spec_lines):
    """A cert-manager Certificate; `spec_lines` are YAML lines under spec (two-space indented)."""
    out = (
        f"apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
        f"spec:\n  secretName: {secret_name}\n"
    )
    return out + "".join(f"  {line}\n" for line in spec_lines)


def cm_cluster_issuer(name, body):
    return f"apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: {name}\nspec:\n  {body}\n"


def annotated_secret(ns, name, data, annotations, typ="kubernetes.io/tls"):
    out = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\n  annotations:\n"
    out += "".join(f"    {k}: {v}\n" for k, v in annotations.items())
    out += f"type: {typ}\ndata:\n"
    for k, v in data.items():
        out += f"  {k}: {b64(v)}\n"
    return out


INGRESS_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: istio-ingressgateway
  namespace: istio-system
spec:
  selector:
    matchLabels: {istio: ingressgateway}
  template:
    metadata:
      labels: {istio: ingressgateway}
    spec:
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2:1.24.2
"""


def gateway_hosts(ns, name, hosts, credential, mode="SIMPLE"):
    host_lines = "".join(f'    - "{h}"\n' for h in hosts)
    return f"""apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
{host_lines}    tls:
      mode: {mode}
      credentialName: {credential}
"""


SHOP_NS = namespace("shop", {"istio-injection": "enabled"})
ISSUERS = cm_cluster_issuer("shop-ca", "ca:\n    secretName: shop-ca-key-pair") + "---\n" + cm_cluster_issuer(
    "letsencrypt", "acme:\n    server: https://acme-v02.api.letsencrypt.org/directory\n    privateKeySecretRef:\n      name: letsencrypt-account"
)


def cert011():
    issuer = ["issuerRef:", "  name: shop-ca", "  kind: ClusterIssuer", "  group: cert-manager.io"]
    write(
        "CERT011",
        "fires.yaml",
        "cert-manager Certificates with risky settings: web renews 1 day before expiry (medium); api's\n"
        "renewBefore equals its duration (high, rejected by cert-manager); mesh-ca is a 10-year CA (low)\n"
        "renewing 3 days before expiry (medium); legacy is a 2-year leaf (medium) with an RSA-1024 key\n"
        "(high) reused across renewals (low); pct has renewBeforePercentage 100 (high).",
        SHOP_NS,
        ISSUERS,
        cm_certificate("shop", "web", "web-tls", ["duration: 2160h", "renewBefore: 24h", *issuer, "dnsNames: [web.shop.example.com]"]),
        cm_certificate("shop", "api", "api-tls", ["duration: 720h", "renewBefore: 720h", *issuer, "dnsNames: [api.shop.example.com]"]),
        cm_certificate(
            "shop",
            "mesh-ca",
            "mesh-ca-tls",
            ["isCA: true", "commonName: Shop Mesh CA", "duration: 87600h", "renewBefore: 72h", "privateKey: {algorithm: ECDSA, size: 384}", *issuer],
        ),
        cm_certificate(
            "shop",
            "legacy",
            "legacy-tls",
            [
                "duration: 17520h",
                "privateKey:",
                "  algorithm: RSA",
                "  size: 1024",
                "  rotationPolicy: Never",
                *issuer,
                "dnsNames: [legacy.shop.example.com]",
            ],
        ),
        cm_certificate("shop", "pct", "pct-tls", ["duration: 2160h", "renewBeforePercentage: 100", *issuer, "dnsNames: [pct.shop.example.com]"]),
    )
    write(
        "CERT011",
        "passes.yaml",
        "Sound cert-manager Certificates: default renewal (a third of 90 days), a 5-year CA renewing 30\n"
        "days ahead, renewBeforePercentage 33, ECDSA P-256 rotated on every renewal, and a long\n"
        "duration on an ACME (Let's Encrypt) certificate, where the ACME CA sets the lifetime.",
        SHOP_NS,
        ISSUERS,
        cm_certificate(
            "shop",
            "web",
            "web-tls",
            ["duration: 2160h", "privateKey: {algorithm: ECDSA, size: 256, rotationPolicy: Always}", "issuerRef: {name: shop-ca, kind: ClusterIssuer}", "dnsNames: [web.shop.example.com]"],
        ),
        cm_certificate("shop", "mesh-ca", "mesh-ca-tls", ["isCA: true", "commonName: Shop Mesh CA", "duration: 43800h", "renewBefore: 720h", "issuerRef: {name: shop-ca, kind: ClusterIssuer}"]),
        cm_certificate("shop", "api", "api-tls", ["duration: 2160h", "renewBeforePercentage: 33", "privateKey: {algorithm: RSA, size: 3072}", "issuerRef: {name: shop-ca, kind: ClusterIssuer}", "dnsNames: [api.shop.example.com]"]),
        cm_certificate("shop", "public", "public-tls", ["duration: 8760h", "issuerRef: {name: letsencrypt, kind: ClusterIssuer}", "dnsNames: [shop.example.com]"]),
    )


def cert012():
    lroot = make("root.linkerd.cluster.local", ca=True, nb=-300, na=3000)
    issuer = make("identity.linkerd.cluster.local", issuer=lroot, ca=True, pathlen=0, nb=-320, na=45)
    root, ca = istio_ok()
    write(
        "CERT012",
        "fires.yaml",
        "Certificates nobody rotates: Linkerd's identity issuer made by hand (signing CA, 45 days left:\n"
        "low); shop/api-tls, a leaf with 30 days left (low); shop/legacy-tls, a leaf with 200 days left\n"
        "(info). No cert-manager Certificate names these Secrets.",
        LINKERD_NS,
        SHOP_NS,
        linkerd_issuer(issuer),
        trust_roots(lroot),
        tls_secret("shop", "api-tls", leaf(ca, "api.shop.example.com", nb=-60, na=30)),
        tls_secret("shop", "legacy-tls", leaf(ca, "legacy.shop.example.com", nb=-100, na=200)),
    )
    lroot = make("root.linkerd.cluster.local", ca=True, nb=-300, na=3000)
    issuer = make("identity.linkerd.cluster.local", issuer=lroot, ca=True, pathlen=0, nb=-20, na=345)
    write(
        "CERT012",
        "passes.yaml",
        "Every certificate Secret is managed: Linkerd's issuer and shop/web-tls by cert-manager\n"
        "Certificates (secretName), shop/api-tls carries cert-manager's certificate-name annotation, and\n"
        "Istio's self-signed istio-ca-secret is istiod's own.",
        LINKERD_NS,
        SHOP_NS,
        ISTIO_NS,
        cm_cluster_issuer("linkerd-trust-anchor", "ca:\n    secretName: linkerd-trust-anchor"),
        cm_certificate(
            "linkerd",
            "linkerd-identity-issuer",
            "linkerd-identity-issuer",
            ["duration: 8760h", "isCA: true", "commonName: identity.linkerd.cluster.local", "privateKey: {algorithm: ECDSA}", "issuerRef: {name: linkerd-trust-anchor, kind: ClusterIssuer}"],
        ),
        secret("linkerd", "linkerd-identity-issuer", {"tls.crt": issuer.pem(), "ca.crt": lroot.pem()}, "kubernetes.io/tls"),
        cm_certificate("shop", "web", "web-tls", ["issuerRef: {name: linkerd-trust-anchor, kind: ClusterIssuer}", "dnsNames: [web.shop.example.com]"]),
        tls_secret("shop", "web-tls", leaf(ca, "web.shop.example.com", nb=-10, na=50)),
        annotated_secret(
            "shop",
            "api-tls",
            {"tls.crt": leaf(ca, "api.shop.example.com", nb=-60, na=30).pem()},
            {"cert-manager.io/certificate-name": "api", "cert-manager.io/issuer-name": "shop-ca"},
        ),
        istio_ca_secret(root),
    )


def cert013():
    root, ca = istio_ok()
    shop = leaf(ca, "shop.example.com", na=80, dns=["shop.example.com", "*.shop.example.com"])
    write(
        "CERT013",
        "fires.yaml",
        "The ingress Gateway's certificate names shop.example.com and *.shop.example.com. It does not\n"
        "cover api.example.com (another domain) nor prod/a.b.shop.example.com (the wildcard covers one\n"
        "label): two high findings. shop.example.com, www.shop.example.com and *.shop.example.com are covered.",
        ISTIO_NS,
        INGRESS_DEPLOYMENT,
        gateway_hosts(
            "istio-system",
            "public",
            ["shop.example.com", "www.shop.example.com", "api.example.com", "prod/a.b.shop.example.com", "*.shop.example.com"],
            "shop-cert",
        ),
        tls_secret("istio-system", "shop-cert", shop),
    )
    legacy = leaf(ca, "legacy.example.com", na=80, dns=[])
    write(
        "CERT013",
        "fires-cn-only.yaml",
        "A certificate without DNS SANs is matched by its subject CN (legacy.example.com); the Gateway in\n"
        "namespace shop (the Secret is found there too) also serves www.legacy.example.com: high.",
        ISTIO_NS,
        SHOP_NS,
        INGRESS_DEPLOYMENT,
        gateway_hosts("shop", "legacy", ["legacy.example.com", "www.legacy.example.com"], "kubernetes://legacy-cert"),
        tls_secret("shop", "legacy-cert", legacy),
    )
    write(
        "CERT013",
        "passes.yaml",
        "Every host is covered: exact names, one label under the wildcard, the same wildcard, a\n"
        "namespaced host (prod/...), and `*`, which any name may be and so is not checked.",
        ISTIO_NS,
        INGRESS_DEPLOYMENT,
        gateway_hosts(
            "istio-system",
            "public",
            ["shop.example.com", "www.shop.example.com", "*.shop.example.com", "prod/api.shop.example.com", "*"],
            "shop-cert",
        ),
        tls_secret("istio-system", "shop-cert", shop),
    )


GENERATORS = {
    "CERT001": cert001,
    "CERT002": cert002,
    "CERT003": cert003,
    "CERT004": cert004,
    "CERT005": cert005,
    "CERT006": cert006,
    "CERT007": cert007,
    "CERT008": cert008,
    "CERT008-signatures": cert008_signatures,
    "CERT009": cert009,
    "CERT009-signatures": cert009_signatures,
    "CERT010": cert010,
    "CERT011": cert011,
    "CERT012": cert012,
    "CERT013": cert013,
    "CERT014": cert014,
    "CERT015": cert015,
    "CERT016": cert016,
}


def main():
    codes = sys.argv[1:] or list(GENERATORS)
    unknown = [c for c in codes if c not in GENERATORS]
    if unknown:
        sys.exit(f"unknown code(s): {', '.join(unknown)}; known: {', '.join(GENERATORS)}")
    for code in codes:
        GENERATORS[code]()
    print(f"wrote fixtures for {', '.join(codes)} under {OUT}")

if __name__ == "__main__":
    main()
