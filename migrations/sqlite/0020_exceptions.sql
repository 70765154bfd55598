-- One exception model for everything Coastguard reports: a vulnerability, a
-- configuration finding (Docker, Kubernetes, provenance) or a runtime rule. It replaces
-- the vulnerability suppressions and the per-finding risk acceptances, which are moved
-- here with their history. What an exception covers takes effect as the state of the
-- covered items (findings 'suppressed', configuration findings 'accepted', alert groups
-- with exception_id), kept and countable but out of the queues.
CREATE TABLE exceptions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('vulnerability', 'configuration', 'runtime')),
    -- The vulnerability (any of its ids), the check id or the runtime rule.
    target TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'not_affected', 'false_positive')),
    -- Scope; NULL: any. image_digest is a VEX statement's image not known yet.
    image_id INTEGER REFERENCES images(id) ON DELETE CASCADE,
    image_digest TEXT,
    package TEXT,
    -- One configuration finding: its subject (host, image, container, pod, workload,
    -- namespace or cluster and its row id) and instance.
    subject_kind TEXT,
    subject_id INTEGER,
    instance TEXT,
    host TEXT,
    -- A Kubernetes cluster by name (runtime rules, configuration checks).
    cluster TEXT,
    namespace TEXT,
    workload TEXT,
    -- The worst severity of what it covered when made (what the policy was applied to).
    severity TEXT NOT NULL DEFAULT 'unknown',
    reason TEXT NOT NULL,
    owner TEXT NOT NULL,
    -- manual, vex or migrated.
    source TEXT NOT NULL DEFAULT 'manual',
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    -- When it took effect: at creation, or when a second analyst approved it; NULL while
    -- it waits for approval.
    effective_at INTEGER,
    approved_by TEXT,
    -- Revoked, or rejected while pending.
    revoked_at INTEGER,
    revoked_by TEXT,
    -- The last time it covered something (inert after 30 days without).
    last_matched_at INTEGER
);
CREATE INDEX exceptions_target ON exceptions (kind, target);
CREATE INDEX exceptions_active ON exceptions (revoked_at, expires_at);
CREATE INDEX exceptions_pending_digest ON exceptions (image_digest) WHERE image_id IS NULL AND image_digest IS NOT NULL;
CREATE INDEX exceptions_owner ON exceptions (owner);

-- Each exception's history: made, approved, rejected, revoked, migrated.
CREATE TABLE exception_events (
    id INTEGER PRIMARY KEY,
    exception_id INTEGER NOT NULL REFERENCES exceptions(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('created', 'approved', 'rejected', 'revoked', 'migrated')),
    note TEXT
);
CREATE INDEX exception_events_exception ON exception_events (exception_id, id);

-- Suppressions keep their ids (audit records name them as suppression:<id>).
INSERT INTO exceptions (id, kind, target, verdict, image_id, image_digest, package, severity, reason, owner,
    source, created_by, created_at, expires_at, effective_at, revoked_at, revoked_by)
SELECT s.id, 'vulnerability', s.vuln_id, s.kind, s.image_id, s.image_digest, s.pkg_name,
    COALESCE((SELECT v.severity FROM vulnerability_aliases a JOIN vulnerabilities v ON v.id = a.vulnerability_id
              WHERE a.alias = s.vuln_id LIMIT 1), 'unknown'),
    s.justification, s.created_by, s.source, s.created_by, s.created_at, s.expires_at, s.created_at, s.revoked_at,
    CASE WHEN s.revoked_at IS NULL THEN NULL
         ELSE COALESCE((SELECT l.actor_name FROM audit_log l WHERE l.action = 'suppression.revoke'
                        AND l.target = 'suppression:' || s.id ORDER BY l.id DESC LIMIT 1), s.source) END
FROM suppressions s;
INSERT INTO exception_events (exception_id, at, actor, action, note)
SELECT id, created_at, created_by, 'created', 'a ' || source || ' suppression (' || verdict || ')' FROM exceptions;
INSERT INTO exception_events (exception_id, at, actor, action)
SELECT id, revoked_at, revoked_by, 'revoked' FROM exceptions WHERE revoked_at IS NOT NULL;

-- Accepted configuration findings: one exception each (the finding exactly), made when
-- it was accepted (its newest finding.accept record, or now).
INSERT INTO exceptions (kind, target, verdict, subject_kind, subject_id, instance, severity, reason, owner, source,
    created_by, created_at, expires_at, effective_at)
SELECT 'configuration', cf.check_id, 'accepted', cf.subject_kind, cf.subject_id, cf.instance, cf.severity,
    COALESCE(cf.accepted_reason, ''), COALESCE(cf.accepted_by, 'unknown'), 'migrated', COALESCE(cf.accepted_by, 'unknown'),
    COALESCE((SELECT MAX(l.at) FROM audit_log l WHERE l.action = 'finding.accept'
              AND l.target = 'config_finding:' || cf.id), CAST(strftime('%s', 'now') AS INTEGER)),
    cf.accepted_until,
    COALESCE((SELECT MAX(l.at) FROM audit_log l WHERE l.action = 'finding.accept'
              AND l.target = 'config_finding:' || cf.id), CAST(strftime('%s', 'now') AS INTEGER))
FROM config_findings cf WHERE cf.state = 'accepted' ORDER BY cf.id;
INSERT INTO exception_events (exception_id, at, actor, action, note)
SELECT id, created_at, owner, 'created', 'a risk acceptance of the finding' FROM exceptions WHERE kind = 'configuration';
INSERT INTO exception_events (exception_id, at, actor, action, note)
SELECT id, CAST(strftime('%s', 'now') AS INTEGER), 'coastguard', 'migrated', 'into the one exception model' FROM exceptions;

ALTER TABLE config_findings ADD COLUMN exception_id INTEGER REFERENCES exceptions(id) ON DELETE SET NULL;
UPDATE config_findings SET exception_id = (SELECT e.id FROM exceptions e WHERE e.kind = 'configuration'
    AND e.target = config_findings.check_id AND e.subject_kind = config_findings.subject_kind
    AND e.subject_id = config_findings.subject_id AND e.instance = config_findings.instance)
WHERE state = 'accepted';
CREATE INDEX config_findings_exception ON config_findings (exception_id) WHERE exception_id IS NOT NULL;

ALTER TABLE runtime_alerts ADD COLUMN exception_id INTEGER REFERENCES exceptions(id) ON DELETE SET NULL;
CREATE INDEX runtime_alerts_exception ON runtime_alerts (exception_id) WHERE exception_id IS NOT NULL;
-- A runtime exception finds its rule's groups (and the list filters by rule).
CREATE INDEX runtime_alerts_rule ON runtime_alerts (rule, state);

DROP TABLE suppressions;
