-- Open configuration findings per subject and severity, kept by triggers as findings are
-- inserted, change state or severity, move subject or are deleted, by whatever writes
-- them: the Kubernetes lists (clusters, namespaces, workloads, pods) read these counts
-- instead of aggregating every open finding of a cluster on each request. Rows whose
-- counts fall to zero stay (they read as zero).
CREATE TABLE open_config_counts (
    subject_kind TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    critical INTEGER NOT NULL DEFAULT 0,
    high INTEGER NOT NULL DEFAULT 0,
    medium INTEGER NOT NULL DEFAULT 0,
    low INTEGER NOT NULL DEFAULT 0,
    negligible INTEGER NOT NULL DEFAULT 0,
    unknown INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject_kind, subject_id)
);

INSERT INTO open_config_counts (subject_kind, subject_id, critical, high, medium, low, negligible, unknown)
SELECT subject_kind, subject_id,
       SUM(severity = 'critical'), SUM(severity = 'high'), SUM(severity = 'medium'),
       SUM(severity = 'low'), SUM(severity = 'negligible'),
       SUM(severity NOT IN ('critical', 'high', 'medium', 'low', 'negligible'))
FROM config_findings WHERE state = 'open' GROUP BY subject_kind, subject_id;

CREATE TRIGGER open_config_counts_insert AFTER INSERT ON config_findings
WHEN NEW.state = 'open'
BEGIN
    INSERT OR IGNORE INTO open_config_counts (subject_kind, subject_id) VALUES (NEW.subject_kind, NEW.subject_id);
    UPDATE open_config_counts SET
        critical = critical + (NEW.severity = 'critical'),
        high = high + (NEW.severity = 'high'),
        medium = medium + (NEW.severity = 'medium'),
        low = low + (NEW.severity = 'low'),
        negligible = negligible + (NEW.severity = 'negligible'),
        unknown = unknown + (NEW.severity NOT IN ('critical', 'high', 'medium', 'low', 'negligible'))
    WHERE subject_kind = NEW.subject_kind AND subject_id = NEW.subject_id;
END;

CREATE TRIGGER open_config_counts_update AFTER UPDATE OF state, severity, subject_kind, subject_id ON config_findings
WHEN (OLD.state = 'open') <> (NEW.state = 'open')
  OR (NEW.state = 'open' AND (OLD.severity <> NEW.severity OR OLD.subject_kind <> NEW.subject_kind OR OLD.subject_id <> NEW.subject_id))
BEGIN
    UPDATE open_config_counts SET
        critical = critical - (OLD.state = 'open' AND OLD.severity = 'critical'),
        high = high - (OLD.state = 'open' AND OLD.severity = 'high'),
        medium = medium - (OLD.state = 'open' AND OLD.severity = 'medium'),
        low = low - (OLD.state = 'open' AND OLD.severity = 'low'),
        negligible = negligible - (OLD.state = 'open' AND OLD.severity = 'negligible'),
        unknown = unknown - (OLD.state = 'open' AND OLD.severity NOT IN ('critical', 'high', 'medium', 'low', 'negligible'))
    WHERE subject_kind = OLD.subject_kind AND subject_id = OLD.subject_id;
    INSERT OR IGNORE INTO open_config_counts (subject_kind, subject_id) VALUES (NEW.subject_kind, NEW.subject_id);
    UPDATE open_config_counts SET
        critical = critical + (NEW.state = 'open' AND NEW.severity = 'critical'),
        high = high + (NEW.state = 'open' AND NEW.severity = 'high'),
        medium = medium + (NEW.state = 'open' AND NEW.severity = 'medium'),
        low = low + (NEW.state = 'open' AND NEW.severity = 'low'),
        negligible = negligible + (NEW.state = 'open' AND NEW.severity = 'negligible'),
        unknown = unknown + (NEW.state = 'open' AND NEW.severity NOT IN ('critical', 'high', 'medium', 'low', 'negligible'))
    WHERE subject_kind = NEW.subject_kind AND subject_id = NEW.subject_id;
END;

CREATE TRIGGER open_config_counts_delete AFTER DELETE ON config_findings
WHEN OLD.state = 'open'
BEGIN
    UPDATE open_config_counts SET
        critical = critical - (OLD.severity = 'critical'),
        high = high - (OLD.severity = 'high'),
        medium = medium - (OLD.severity = 'medium'),
        low = low - (OLD.severity = 'low'),
        negligible = negligible - (OLD.severity = 'negligible'),
        unknown = unknown - (OLD.severity NOT IN ('critical', 'high', 'medium', 'low', 'negligible'))
    WHERE subject_kind = OLD.subject_kind AND subject_id = OLD.subject_id;
END;
