-- Triage of alert groups: every change (state, assignee) and comment as a row of its
-- group's activity, beside the audit log's record of the same action.
CREATE TABLE alert_activity (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES runtime_alerts(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    -- What the action changed: the state it moved to, the assignee it set ('' when it
    -- unassigned), the comment it left. At least one is set.
    state TEXT,
    assignee TEXT,
    comment TEXT
);
CREATE INDEX alert_activity_group ON alert_activity (group_id, at);

-- A token may hold the ingest role: it sends runtime events and reads nothing.
CREATE TABLE api_tokens_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer', 'ingest')),
    -- SHA-256 of the secret, hex. The secret itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);
INSERT INTO api_tokens_new (id, name, role, token_hash, prefix, created_by, created_at, expires_at,
    last_used_at, revoked_at)
SELECT id, name, role, token_hash, prefix, created_by, created_at, expires_at, last_used_at, revoked_at
FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
