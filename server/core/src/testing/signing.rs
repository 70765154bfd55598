//! Signing material for tests, made fresh each run: cosign key pairs, a test certificate
//! authority (Fulcio-like leaves for keyless signing, code-signing leaves for Notation), a
//! test transparency log that writes Rekor bundles, and the payloads and envelopes cosign
//! and Notation produce. Nothing here is used outside tests.

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Fulcio's v1 issuer extension (the OIDC issuer as raw text).
const FULCIO_ISSUER_V1: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 1];

fn ecdsa(pkcs8: &[u8], fixed: bool) -> EcdsaKeyPair {
    let alg = if fixed {
        &ECDSA_P256_SHA256_FIXED_SIGNING
    } else {
        &ECDSA_P256_SHA256_ASN1_SIGNING
    };
    EcdsaKeyPair::from_pkcs8(alg, pkcs8, &SystemRandom::new()).expect("a P-256 PKCS #8 key")
}

/// A P-256 key pair, as `cosign generate-key-pair` makes.
pub struct TestKey {
    pkcs8: Vec<u8>,
    private_pem: String,
    public_pem: String,
    spki: Vec<u8>,
}

impl Default for TestKey {
    fn default() -> Self {
        TestKey::new()
    }
}

impl TestKey {
    pub fn new() -> TestKey {
        let key = KeyPair::generate().expect("a P-256 key");
        TestKey {
            pkcs8: key.serialize_der(),
            private_pem: key.serialize_pem(),
            public_pem: key.public_key_pem(),
            spki: key.subject_public_key_info(),
        }
    }

    /// The PKCS #8 private key, PEM (for a test server's TLS).
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }

    /// `cosign.pub`.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// An ASN.1 ECDSA signature over `message`, as cosign makes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        ecdsa(&self.pkcs8, false)
            .sign(&SystemRandom::new(), message)
            .expect("signing works")
            .as_ref()
            .to_vec()
    }

    /// A fixed-size (`r‖s`) ECDSA signature, as JWS ES256 wants.
    pub fn sign_fixed(&self, message: &[u8]) -> Vec<u8> {
        ecdsa(&self.pkcs8, true)
            .sign(&SystemRandom::new(), message)
            .expect("signing works")
            .as_ref()
            .to_vec()
    }
}

/// A certificate and its key.
pub struct TestCert {
    pub der: Vec<u8>,
    pub pem: String,
    pub key: TestKey,
}

/// A self-signed test CA that issues signing certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

fn time_at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("a valid time")
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "coastguard tests");
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = time_at(crate::now() - 10 * 365 * 86_400);
        params.not_after = time_at(crate::now() + 10 * 365 * 86_400);
        let key = KeyPair::generate().expect("a CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("a CA certificate"),
        }
    }

    pub fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn leaf(&self, params: CertificateParams) -> TestCert {
        let key = TestKey::new();
        let kp = KeyPair::try_from(key.pkcs8.as_slice()).expect("the leaf key");
        let cert = params
            .signed_by(&kp, &self.issuer)
            .expect("a leaf certificate");
        TestCert {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key,
        }
    }

    /// A Fulcio-like certificate for `email`, vouched for by `oidc_issuer`, valid from
    /// `not_before` to `not_after` (Unix seconds; Fulcio's live ten minutes).
    pub fn fulcio_leaf(
        &self,
        email: &str,
        oidc_issuer: &str,
        not_before: i64,
        not_after: i64,
    ) -> TestCert {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = DistinguishedName::new();
        params.subject_alt_names = vec![SanType::Rfc822Name(email.try_into().expect("an email"))];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            FULCIO_ISSUER_V1,
            oidc_issuer.as_bytes().to_vec(),
        )];
        params.not_before = time_at(not_before);
        params.not_after = time_at(not_after);
        self.leaf(params)
    }

    /// A TLS server certificate for `127.0.0.1`, valid for a day either side of now.
    pub fn server_leaf(&self) -> TestCert {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names = vec![SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]))];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = time_at(crate::now() - 86_400);
        params.not_after = time_at(crate::now() + 86_400);
        self.leaf(params)
    }

    /// A code-signing certificate for Notation, named `common_name`.
    pub fn code_signing_leaf(
        &self,
        common_name: &str,
        not_before: i64,
        not_after: i64,
    ) -> TestCert {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "coastguard tests");
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.not_before = time_at(not_before);
        params.not_after = time_at(not_after);
        self.leaf(params)
    }
}

/// A test transparency log: its key signs entries as Rekor does.
pub struct TestLog {
    key: TestKey,
}

impl Default for TestLog {
    fn default() -> Self {
        TestLog::new()
    }
}

impl TestLog {
    pub fn new() -> TestLog {
        TestLog {
            key: TestKey::new(),
        }
    }

    pub fn spki_der(&self) -> &[u8] {
        self.key.spki_der()
    }

    /// The bundle cosign attaches (`dev.sigstore.cosign/bundle`) for a keyless signature
    /// logged at `integrated_time`.
    pub fn bundle(
        &self,
        payload: &[u8],
        signature: &[u8],
        cert_pem: &str,
        integrated_time: i64,
    ) -> String {
        let body = serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload))}},
                "signature": {
                    "content": B64.encode(signature),
                    "publicKey": {"content": B64.encode(cert_pem)},
                },
            },
        });
        let body = B64.encode(body.to_string());
        let log_id = hex::encode(Sha256::digest(self.key.spki_der()));
        let log_index = 4_242;
        let canonical = format!(
            "{{\"body\":\"{body}\",\"integratedTime\":{integrated_time},\"logID\":\"{log_id}\",\"logIndex\":{log_index}}}"
        );
        serde_json::json!({
            "SignedEntryTimestamp": B64.encode(self.key.sign(canonical.as_bytes())),
            "Payload": {
                "body": body,
                "integratedTime": integrated_time,
                "logIndex": log_index,
                "logID": log_id,
            },
        })
        .to_string()
    }
}

/// A Sigstore `trusted_root.json` listing the CAs (each its own one-certificate chain)
/// and logs, valid from 2020 on.
pub fn trust_root_json(cas: &[&TestCa], logs: &[&TestLog]) -> String {
    let since = "2020-01-01T00:00:00Z";
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": logs.iter().map(|l| serde_json::json!({
            "baseUrl": "https://rekor.test.invalid",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": B64.encode(l.spki_der()),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": since},
            },
            "logId": {"keyId": B64.encode(Sha256::digest(l.spki_der()))},
        })).collect::<Vec<_>>(),
        "certificateAuthorities": cas.iter().map(|ca| serde_json::json!({
            "subject": {"organization": "coastguard tests", "commonName": "test"},
            "uri": "https://fulcio.test.invalid",
            "certChain": {"certificates": [{"rawBytes": B64.encode(ca.der())}]},
            "validFor": {"start": since},
        })).collect::<Vec<_>>(),
        "ctlogs": [],
    })
    .to_string()
}

/// cosign's simple-signing payload for `docker_reference` at `digest`.
pub fn simple_signing_payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    serde_json::json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// A Notation JWS envelope (ES256, `notary.x509`) by `leaf`, for the manifest
/// `digest` of `media_type` and `size`; `extra_chain` follows the leaf in `x5c`.
pub fn notation_envelope(
    leaf: &TestCert,
    extra_chain: &[Vec<u8>],
    digest: &str,
    media_type: &str,
    size: u64,
    expiry: Option<i64>,
) -> Vec<u8> {
    let rfc3339 = |t: i64| {
        time_at(t)
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formats")
    };
    let mut protected = serde_json::json!({
        "alg": "ES256",
        "crit": ["io.cncf.notary.signingScheme"],
        "cty": "application/vnd.cncf.notary.payload.v1+json",
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": rfc3339(crate::now()),
    });
    if let Some(expiry) = expiry {
        protected["io.cncf.notary.expiry"] = rfc3339(expiry).into();
        protected["crit"] =
            serde_json::json!(["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"]);
    }
    let payload = serde_json::json!({
        "targetArtifact": {"mediaType": media_type, "digest": digest, "size": size},
    });
    let protected = B64URL.encode(protected.to_string());
    let payload = B64URL.encode(payload.to_string());
    let signature = leaf
        .key
        .sign_fixed(format!("{protected}.{payload}").as_bytes());
    let x5c: Vec<String> = std::iter::once(&leaf.der)
        .chain(extra_chain)
        .map(|d| B64.encode(d))
        .collect();
    serde_json::json!({
        "payload": payload,
        "protected": protected,
        "header": {"x5c": x5c, "io.cncf.notary.signingAgent": "coastguard tests"},
        "signature": B64URL.encode(signature),
    })
    .to_string()
    .into_bytes()
}
