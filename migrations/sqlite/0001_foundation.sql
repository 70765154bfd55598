-- Coastguard's data model, SQLite flavour. The Postgres twin in migrations/postgres
-- has the same tables, columns and indexes; only the types differ.
-- Timestamps are Unix seconds (UTC). JSON is stored as TEXT.

-- ---------------------------------------------------------------- access
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped when the password changes or the user is disabled: older sessions stop working.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_login_at INTEGER
);

-- Browser sessions (tower-sessions' sqlx store schema, table name "sessions").
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    -- SHA-256 of the secret, hex. The secret itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);

-- Failed-login counters per user name and per client address (throttling).
CREATE TABLE login_attempts (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at INTEGER NOT NULL,
    locked_until INTEGER
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id INTEGER,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT,
    ip TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Leases make scheduled work run on one replica at a time.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Admin-editable settings (trusted registries, SLA days...), JSON values.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT
);

-- ---------------------------------------------------------------- inventory
CREATE TABLE clusters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    api_url TEXT,
    -- Connection settings (JSON). Credentials are referenced, never stored in clear.
    config TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'unreachable', 'gone')),
    last_error TEXT,
    last_seen_at INTEGER,
    last_sync_at INTEGER,
    version TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Docker engines and Kubernetes nodes.
CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('docker', 'node')),
    name TEXT NOT NULL,
    cluster_id INTEGER REFERENCES clusters(id) ON DELETE CASCADE,
    -- How a Docker engine is reached (unix://, tcp://, ssh://); empty for nodes.
    endpoint TEXT,
    config TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'unreachable', 'gone')),
    last_error TEXT,
    last_seen_at INTEGER,
    last_sync_at INTEGER,
    engine_version TEXT,
    api_version TEXT,
    os TEXT,
    kernel TEXT,
    arch TEXT,
    -- Everything else /info and /version (or the node object) says, JSON.
    facts TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    gone_at INTEGER
);
CREATE UNIQUE INDEX hosts_docker_name ON hosts (name) WHERE kind = 'docker';
CREATE UNIQUE INDEX hosts_node_name ON hosts (cluster_id, name) WHERE kind = 'node';
CREATE INDEX hosts_status ON hosts (status);

CREATE TABLE namespaces (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    labels TEXT,
    -- Pod Security Standards level enforced by label, if any.
    pss_enforce TEXT,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    gone_at INTEGER,
    UNIQUE (cluster_id, name)
);

-- Deployments, StatefulSets, DaemonSets, Jobs, CronJobs...
CREATE TABLE workloads (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT,
    spec TEXT,
    labels TEXT,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    gone_at INTEGER,
    UNIQUE (cluster_id, namespace, kind, name)
);

CREATE TABLE pods (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    host_id INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    workload_id INTEGER REFERENCES workloads(id) ON DELETE SET NULL,
    phase TEXT,
    spec TEXT,
    labels TEXT,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    gone_at INTEGER,
    UNIQUE (cluster_id, uid)
);
CREATE INDEX pods_namespace ON pods (cluster_id, namespace);

-- Images are keyed by digest: the image (config) digest when known, otherwise the
-- manifest digest a registry or cluster reported.
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    size_bytes INTEGER,
    created INTEGER,
    os TEXT,
    arch TEXT,
    user_name TEXT,
    -- Labels, entrypoint, cmd, exposed ports, env names (values redacted), layers, history.
    config TEXT,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    -- When an inventory source (engine, cluster, registry) last saw it; NULL if only scans know it.
    inventory_seen_at INTEGER
);

CREATE TABLE image_tags (
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (image_id, registry, repository, tag)
);
CREATE INDEX image_tags_ref ON image_tags (repository, tag);

-- Manifest (repo) digests that name an image, so a scan or pod that reports one finds it.
CREATE TABLE image_digests (
    digest TEXT NOT NULL,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    repository TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, image_id, repository)
);
CREATE INDEX image_digests_image ON image_digests (image_id);

-- Docker containers and the containers of pods.
CREATE TABLE containers (
    id INTEGER PRIMARY KEY,
    host_id INTEGER REFERENCES hosts(id) ON DELETE CASCADE,
    pod_id INTEGER REFERENCES pods(id) ON DELETE CASCADE,
    -- Docker's container id, or "<pod uid>/<container name>".
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    image_ref TEXT NOT NULL,
    image_id INTEGER REFERENCES images(id) ON DELETE SET NULL,
    state TEXT NOT NULL,
    created INTEGER,
    started_at INTEGER,
    restart_count INTEGER NOT NULL DEFAULT 0,
    privileged BOOLEAN NOT NULL DEFAULT FALSE,
    user_name TEXT,
    read_only_rootfs BOOLEAN NOT NULL DEFAULT FALSE,
    -- Ports, mounts, capabilities, security options, namespaces, limits, networks...
    config TEXT,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    gone_at INTEGER,
    UNIQUE (host_id, external_id)
);
CREATE INDEX containers_image ON containers (image_id);
CREATE INDEX containers_pod ON containers (pod_id);
CREATE INDEX containers_state ON containers (state, gone_at);

CREATE TABLE registries (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    config TEXT,
    trusted BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    last_sync_at INTEGER,
    created_at INTEGER NOT NULL
);

-- ---------------------------------------------------------------- scans and vulnerabilities
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    image_id INTEGER REFERENCES images(id) ON DELETE SET NULL,
    -- The digest the report names, kept so a report can be linked when its image appears.
    artifact_digest TEXT,
    artifact_name TEXT,
    format TEXT NOT NULL,
    scanner TEXT NOT NULL,
    scanner_version TEXT,
    kind TEXT NOT NULL,
    -- api, ui or cli, and who sent it.
    source TEXT NOT NULL,
    uploaded_by TEXT,
    report_sha256 TEXT NOT NULL,
    scanned_at INTEGER,
    received_at INTEGER NOT NULL,
    entries INTEGER NOT NULL DEFAULT 0,
    summary TEXT
);
CREATE INDEX scans_image ON scans (image_id, received_at);
CREATE INDEX scans_artifact ON scans (artifact_digest);
CREATE INDEX scans_received ON scans (received_at);

CREATE TABLE vulnerabilities (
    id INTEGER PRIMARY KEY,
    -- Canonical id: the CVE when there is one, else the first id seen (GHSA, distro id...).
    vuln_id TEXT NOT NULL UNIQUE,
    title TEXT,
    description TEXT,
    severity TEXT NOT NULL DEFAULT 'unknown',
    cvss_score REAL,
    cvss_vector TEXT,
    epss REAL,
    known_exploited BOOLEAN NOT NULL DEFAULT FALSE,
    published_at INTEGER,
    modified_at INTEGER,
    refs TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX vulnerabilities_severity ON vulnerabilities (severity);

-- Every id that names a vulnerability (the canonical one included): GHSA + CVE merge here.
CREATE TABLE vulnerability_aliases (
    alias TEXT PRIMARY KEY,
    vulnerability_id INTEGER NOT NULL REFERENCES vulnerabilities(id) ON DELETE CASCADE
);
CREATE INDEX vulnerability_aliases_vuln ON vulnerability_aliases (vulnerability_id);

-- One row per image + package + vulnerability, whatever scanners reported it.
CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    vulnerability_id INTEGER NOT NULL REFERENCES vulnerabilities(id) ON DELETE CASCADE,
    pkg_name TEXT NOT NULL,
    pkg_type TEXT NOT NULL DEFAULT '',
    pkg_purl TEXT,
    installed_version TEXT NOT NULL DEFAULT '',
    fixed_version TEXT,
    layer_digest TEXT,
    severity TEXT NOT NULL,
    cvss_score REAL,
    -- open, fixed or suppressed.
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'fixed', 'suppressed')),
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    fixed_at INTEGER,
    reopened_at INTEGER,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    first_scan_id INTEGER REFERENCES scans(id) ON DELETE SET NULL,
    last_scan_id INTEGER REFERENCES scans(id) ON DELETE SET NULL,
    UNIQUE (image_id, pkg_type, pkg_name, vulnerability_id)
);
CREATE INDEX findings_state_severity ON findings (state, severity, id);
CREATE INDEX findings_image_state ON findings (image_id, state);
CREATE INDEX findings_vulnerability ON findings (vulnerability_id);
CREATE INDEX findings_pkg ON findings (pkg_name);
CREATE INDEX findings_first_seen ON findings (first_seen_at);
CREATE INDEX findings_fixed_at ON findings (fixed_at);

-- Which scanners reported a finding (bounded by the number of scanners, not scans).
CREATE TABLE finding_scanners (
    finding_id INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    scanner TEXT NOT NULL,
    first_scan_id INTEGER REFERENCES scans(id) ON DELETE SET NULL,
    last_scan_id INTEGER REFERENCES scans(id) ON DELETE SET NULL,
    PRIMARY KEY (finding_id, scanner)
);

-- Accepted risks and not-affected statements (manual, or from VEX documents).
CREATE TABLE suppressions (
    id INTEGER PRIMARY KEY,
    vuln_id TEXT NOT NULL,
    image_id INTEGER REFERENCES images(id) ON DELETE CASCADE,
    pkg_name TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('accepted', 'not_affected')),
    justification TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'manual',
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX suppressions_vuln ON suppressions (vuln_id);

-- ---------------------------------------------------------------- configuration, signatures, runtime
CREATE TABLE config_findings (
    id INTEGER PRIMARY KEY,
    check_id TEXT NOT NULL,
    -- host, image, container, pod, workload, namespace or cluster, and its row id.
    subject_kind TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    -- Distinguishes several findings of one check on one subject (a mount path, an env key).
    instance TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL,
    cis_section TEXT,
    evidence TEXT,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved', 'accepted')),
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    resolved_at INTEGER,
    reopened_at INTEGER,
    accepted_by TEXT,
    accepted_reason TEXT,
    accepted_until INTEGER,
    UNIQUE (check_id, subject_kind, subject_id, instance)
);
CREATE INDEX config_findings_subject ON config_findings (subject_kind, subject_id);
CREATE INDEX config_findings_state ON config_findings (state, severity);

CREATE TABLE signature_checks (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    checked_at INTEGER NOT NULL,
    -- signed_verified, signed_unverified, unsigned or error.
    status TEXT NOT NULL,
    method TEXT,
    signer TEXT,
    issuer TEXT,
    error TEXT,
    details TEXT
);
CREATE INDEX signature_checks_image ON signature_checks (image_id, checked_at);

CREATE TABLE runtime_alerts (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    output TEXT NOT NULL,
    at INTEGER NOT NULL,
    host_id INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    container_id INTEGER REFERENCES containers(id) ON DELETE SET NULL,
    -- What the event named, kept when it matches nothing in the inventory (yet).
    container_ref TEXT,
    namespace TEXT,
    pod TEXT,
    fields TEXT,
    -- Identical alerts fold into one row with a count.
    dedup_key TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    last_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    acknowledged_by TEXT,
    acknowledged_at INTEGER
);
CREATE INDEX runtime_alerts_state ON runtime_alerts (state, severity, at);
CREATE INDEX runtime_alerts_dedup ON runtime_alerts (dedup_key, state);
CREATE INDEX runtime_alerts_container ON runtime_alerts (container_id);

-- ---------------------------------------------------------------- risk and history
CREATE TABLE risk_scores (
    subject_kind TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    score INTEGER NOT NULL,
    breakdown TEXT NOT NULL,
    computed_at INTEGER NOT NULL,
    PRIMARY KEY (subject_kind, subject_id)
);
CREATE INDEX risk_scores_rank ON risk_scores (subject_kind, score);

-- One row per day and scope (global, host, cluster, namespace, team).
CREATE TABLE posture_snapshots (
    day TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    open_critical INTEGER NOT NULL DEFAULT 0,
    open_high INTEGER NOT NULL DEFAULT 0,
    open_medium INTEGER NOT NULL DEFAULT 0,
    open_low INTEGER NOT NULL DEFAULT 0,
    open_unknown INTEGER NOT NULL DEFAULT 0,
    new_findings INTEGER NOT NULL DEFAULT 0,
    fixed_findings INTEGER NOT NULL DEFAULT 0,
    sla_breaches INTEGER NOT NULL DEFAULT 0,
    scan_coverage REAL,
    signed_share REAL,
    open_alerts INTEGER NOT NULL DEFAULT 0,
    extra TEXT,
    taken_at INTEGER NOT NULL,
    PRIMARY KEY (day, scope_kind, scope_key)
);
