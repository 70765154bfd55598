-- Notifications: outgoing webhooks, and each message to each of them until it is
-- delivered or given up (kept here, so a restart loses none).
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL CHECK (format IN ('generic', 'slack')),
    -- The address, sealed with the server's key (a Slack address is itself a credential);
    -- address_shown is its scheme, host and port, what pages show.
    url TEXT NOT NULL,
    address_shown TEXT NOT NULL,
    -- The signing secret, sealed; NULL: bodies are not signed.
    secret TEXT,
    -- Which alert groups it is sent (JSON).
    filter TEXT NOT NULL,
    digest_minutes INTEGER NOT NULL,
    timeout_secs INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- When a digest of its groups' further events is next looked for (at most one is
    -- made every digest_minutes).
    digest_due_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- New alert groups not yet turned into messages: written in the commit that made the
-- group, taken (deleted) in the commit that makes its messages, so each group is
-- announced once.
CREATE TABLE alert_notices (
    group_id INTEGER PRIMARY KEY REFERENCES runtime_alerts(id) ON DELETE CASCADE,
    at INTEGER NOT NULL
);

-- Findings made since the last pass: one row per batch that inserted them, with the new
-- findings' ids (a JSON array), taken like alert_notices. Webhooks that ask for findings
-- hear of each batch's open ones at or above their severity in one message.
CREATE TABLE finding_notices (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('vulnerability', 'configuration')),
    ids TEXT NOT NULL,
    at INTEGER NOT NULL
);

-- The groups each destination was told about, their count and the time it was last
-- told: a digest sums up what came after, for groups told at least digest_minutes ago.
CREATE TABLE webhook_groups (
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES runtime_alerts(id) ON DELETE CASCADE,
    sent_count INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, group_id)
);
CREATE INDEX webhook_groups_group ON webhook_groups (group_id);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('alert.new', 'alert.digest', 'findings.new', 'test')),
    group_id INTEGER REFERENCES runtime_alerts(id) ON DELETE SET NULL,
    summary TEXT NOT NULL,
    -- The body, made once: every attempt sends the same bytes.
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER,
    last_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    done_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (done_at) WHERE state <> 'pending';
