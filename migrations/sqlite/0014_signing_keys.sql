-- Public keys admins trust for cosign signatures, each applying to the images whose
-- `registry/repository` matches its scope (a glob; `*` is every image).
CREATE TABLE signing_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- ecdsa-p256, ecdsa-p384, ed25519 or rsa.
    kind TEXT NOT NULL,
    -- sha256:<hex> of the SubjectPublicKeyInfo: one key is stored once.
    fingerprint TEXT NOT NULL UNIQUE,
    public_pem TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '*',
    created_by TEXT,
    created_at INTEGER NOT NULL
);

-- signature_checks (from 0001) now holds one row per image, its latest check: status is
-- verified, untrusted, invalid, unsigned or unknown; method the kind of the signature that
-- verified it; details every signature's check (JSON).
