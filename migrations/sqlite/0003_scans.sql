-- Scan ingestion: which scanners still report a finding, severity as a sortable rank,
-- and titles for configuration findings that come from scanners rather than checks.

ALTER TABLE finding_scanners ADD COLUMN present BOOLEAN NOT NULL DEFAULT TRUE;

ALTER TABLE findings ADD COLUMN severity_rank INTEGER NOT NULL DEFAULT 0;
DROP INDEX findings_state_severity;
CREATE INDEX findings_rank ON findings (state, severity_rank, id);
CREATE INDEX findings_state_first_seen ON findings (state, first_seen_at, id);
CREATE INDEX finding_scanners_scanner ON finding_scanners (scanner, present);

ALTER TABLE config_findings ADD COLUMN title TEXT;
ALTER TABLE config_findings ADD COLUMN remediation TEXT;

CREATE INDEX suppressions_active ON suppressions (revoked_at, expires_at);
CREATE INDEX scans_report ON scans (report_sha256);
