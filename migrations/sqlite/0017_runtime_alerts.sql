-- Runtime alerts: runtime_alerts holds alert groups (every event of one rule on one
-- subject while the group is open), alert_events each event as it arrived. Rebuilt to
-- take the triage states new, acknowledged, resolved and false_positive (open is new
-- now) and what an event was matched to; nothing filled the table before.
CREATE TABLE runtime_alerts_new (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    -- The latest event's output.
    output TEXT NOT NULL,
    -- First and last event.
    at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT 'new'
        CHECK (state IN ('new', 'acknowledged', 'resolved', 'false_positive')),
    assignee TEXT,
    acknowledged_by TEXT,
    acknowledged_at INTEGER,
    -- What the events were matched to (set when the inventory knows it, even later).
    host_id INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    container_id INTEGER REFERENCES containers(id) ON DELETE SET NULL,
    pod_id INTEGER REFERENCES pods(id) ON DELETE SET NULL,
    workload_id INTEGER REFERENCES workloads(id) ON DELETE SET NULL,
    image_id INTEGER REFERENCES images(id) ON DELETE SET NULL,
    -- What the events named, as they named it.
    hostname TEXT,
    container_ref TEXT,
    namespace TEXT,
    pod TEXT,
    image_ref TEXT,
    image_digest TEXT,
    -- The latest event's fields (JSON).
    fields TEXT,
    -- The rule and subject the group folds events by; one open group per key.
    dedup_key TEXT NOT NULL
);
INSERT INTO runtime_alerts_new (id, source, rule, severity, output, at, last_at, count, state,
    acknowledged_by, acknowledged_at, host_id, container_id, container_ref, namespace, pod, fields, dedup_key)
SELECT id, source, rule, severity, output, at, last_at, count,
    CASE state WHEN 'open' THEN 'new' ELSE state END,
    acknowledged_by, acknowledged_at, host_id, container_id, container_ref, namespace, pod, fields, dedup_key
FROM runtime_alerts;
DROP TABLE runtime_alerts;
ALTER TABLE runtime_alerts_new RENAME TO runtime_alerts;
CREATE UNIQUE INDEX runtime_alerts_open_dedup ON runtime_alerts (dedup_key)
    WHERE state IN ('new', 'acknowledged');
CREATE INDEX runtime_alerts_state ON runtime_alerts (state, severity, last_at);
CREATE INDEX runtime_alerts_last ON runtime_alerts (last_at, id);
CREATE INDEX runtime_alerts_container ON runtime_alerts (container_id);
CREATE INDEX runtime_alerts_host ON runtime_alerts (host_id);
CREATE INDEX runtime_alerts_unmatched ON runtime_alerts (container_ref) WHERE container_id IS NULL;

CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES runtime_alerts(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    severity TEXT NOT NULL,
    output TEXT NOT NULL,
    -- JSON: the event's tags (array) and fields (object).
    tags TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX alert_events_group ON alert_events (group_id, at);

-- Containers are found by the id an event names, full or short: a range over the index.
CREATE INDEX containers_external ON containers (external_id);
