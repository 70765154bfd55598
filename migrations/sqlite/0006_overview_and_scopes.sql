-- Vulnerability findings counted per image and severity, kept exact by every writer that
-- changes a finding's state, image or existence (in the same transaction). The overview
-- sums these few thousand rows instead of counting a million findings on each view.
CREATE TABLE image_vuln_counts (
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    severity_rank INTEGER NOT NULL,
    open INTEGER NOT NULL,
    fixable INTEGER NOT NULL,
    suppressed INTEGER NOT NULL,
    PRIMARY KEY (image_id, severity_rank)
);

INSERT INTO image_vuln_counts (image_id, severity_rank, open, fixable, suppressed)
SELECT image_id, severity_rank,
       SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END),
       SUM(CASE WHEN state = 'open' AND fixed_version IS NOT NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN state = 'suppressed' THEN 1 ELSE 0 END)
FROM findings WHERE state IN ('open', 'suppressed')
GROUP BY image_id, severity_rank;

-- The overview's open configuration findings per check, read from the index alone.
CREATE INDEX config_findings_open_check ON config_findings (state, check_id, severity);

-- The team a container belongs to (its `team` label): trends can be scoped to a team.
ALTER TABLE containers ADD COLUMN team TEXT;
UPDATE containers SET team = NULLIF(TRIM(json_extract(config, '$.labels.team')), '')
WHERE config IS NOT NULL AND json_valid(config);
UPDATE containers SET team = NULL WHERE LENGTH(team) > 200;
CREATE INDEX containers_team ON containers (team, image_id) WHERE team IS NOT NULL;
