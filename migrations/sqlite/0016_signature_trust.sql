-- signing_keys now holds every signer admins trust, by kind:
--   ecdsa-p256, ecdsa-p384, ed25519, rsa: a cosign public key (public_pem; fingerprint
--     sha256:<hex> of its SubjectPublicKeyInfo);
--   notation-ca: a Notation trust-store CA certificate (public_pem holds the certificate;
--     fingerprint sha256:<hex> of its DER);
--   keyless: a cosign keyless (Fulcio) identity: identity is a regular expression over the
--     certificate's subject (email or URI), issuer the OIDC issuer URL, matched exactly;
--     public_pem is empty; fingerprint keyless:<hex> of sha256(identity, issuer).
-- The Sigstore trust root keyless certificates chain to is one setting
-- (signatures.trusted_root), never downloaded.
ALTER TABLE signing_keys ADD COLUMN identity TEXT;
ALTER TABLE signing_keys ADD COLUMN issuer TEXT;

-- What each image's latest check read (verify::Evidence): the digests of cosign's
-- signature manifest and of the referrers list. A later check that finds both unchanged
-- keeps the verdicts, under the same trust, without reading the signatures again.
ALTER TABLE signature_checks ADD COLUMN signature_tag TEXT;
ALTER TABLE signature_checks ADD COLUMN referrers TEXT;
