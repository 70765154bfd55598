-- Open configuration findings per subject and severity, kept by triggers as findings are
-- inserted, change state or severity, move subject or are deleted, by whatever writes
-- them: the Kubernetes lists (clusters, namespaces, workloads, pods) read these counts
-- instead of aggregating every open finding of a cluster on each request. Rows whose
-- counts fall to zero stay (they read as zero). The triggers run once per statement over
-- its transition tables, so a batch of 500 inserted findings costs one grouped upsert.
CREATE TABLE open_config_counts (
    subject_kind TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    critical BIGINT NOT NULL DEFAULT 0,
    high BIGINT NOT NULL DEFAULT 0,
    medium BIGINT NOT NULL DEFAULT 0,
    low BIGINT NOT NULL DEFAULT 0,
    negligible BIGINT NOT NULL DEFAULT 0,
    unknown BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (subject_kind, subject_id)
);

INSERT INTO open_config_counts (subject_kind, subject_id, critical, high, medium, low, negligible, unknown)
SELECT subject_kind, subject_id,
       COUNT(*) FILTER (WHERE severity = 'critical'), COUNT(*) FILTER (WHERE severity = 'high'),
       COUNT(*) FILTER (WHERE severity = 'medium'), COUNT(*) FILTER (WHERE severity = 'low'),
       COUNT(*) FILTER (WHERE severity = 'negligible'),
       COUNT(*) FILTER (WHERE severity NOT IN ('critical', 'high', 'medium', 'low', 'negligible'))
FROM config_findings WHERE state = 'open' GROUP BY subject_kind, subject_id;

-- Adds (direction 1) or removes (direction -1) the given open findings, by subject, in
-- subject order (so that two transactions lock the counts they share in the same order).
CREATE OR REPLACE FUNCTION open_config_counts_add(direction BIGINT, kinds TEXT[], ids BIGINT[], severities TEXT[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO open_config_counts AS c (subject_kind, subject_id, critical, high, medium, low, negligible, unknown)
    SELECT k, i,
           direction * COUNT(*) FILTER (WHERE s = 'critical'), direction * COUNT(*) FILTER (WHERE s = 'high'),
           direction * COUNT(*) FILTER (WHERE s = 'medium'), direction * COUNT(*) FILTER (WHERE s = 'low'),
           direction * COUNT(*) FILTER (WHERE s = 'negligible'),
           direction * COUNT(*) FILTER (WHERE s NOT IN ('critical', 'high', 'medium', 'low', 'negligible'))
    FROM unnest(kinds, ids, severities) AS r(k, i, s)
    GROUP BY k, i
    ORDER BY k, i
    ON CONFLICT (subject_kind, subject_id) DO UPDATE SET
        critical = c.critical + EXCLUDED.critical, high = c.high + EXCLUDED.high,
        medium = c.medium + EXCLUDED.medium, low = c.low + EXCLUDED.low,
        negligible = c.negligible + EXCLUDED.negligible, unknown = c.unknown + EXCLUDED.unknown
$$;

CREATE OR REPLACE FUNCTION open_config_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM open_config_counts_add(1, array_agg(subject_kind), array_agg(subject_id), array_agg(severity))
    FROM new_rows WHERE state = 'open' HAVING COUNT(*) > 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION open_config_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM open_config_counts_add(-1, array_agg(subject_kind), array_agg(subject_id), array_agg(severity))
    FROM old_rows WHERE state = 'open' HAVING COUNT(*) > 0;
    RETURN NULL;
END $$;

-- Only rows whose open state, severity or subject changed count: touching last_seen_at
-- of many findings changes nothing here.
CREATE OR REPLACE FUNCTION open_config_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM open_config_counts_add(-1, array_agg(o.subject_kind), array_agg(o.subject_id), array_agg(o.severity))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.state = 'open' AND (n.state <> 'open' OR n.severity <> o.severity
        OR n.subject_kind <> o.subject_kind OR n.subject_id <> o.subject_id)
    HAVING COUNT(*) > 0;
    PERFORM open_config_counts_add(1, array_agg(n.subject_kind), array_agg(n.subject_id), array_agg(n.severity))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE n.state = 'open' AND (o.state <> 'open' OR n.severity <> o.severity
        OR n.subject_kind <> o.subject_kind OR n.subject_id <> o.subject_id)
    HAVING COUNT(*) > 0;
    RETURN NULL;
END $$;

CREATE TRIGGER open_config_counts_insert AFTER INSERT ON config_findings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION open_config_counts_insert();
CREATE TRIGGER open_config_counts_update AFTER UPDATE ON config_findings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION open_config_counts_update();
CREATE TRIGGER open_config_counts_delete AFTER DELETE ON config_findings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION open_config_counts_delete();
