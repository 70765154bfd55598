-- A severity below low: a scanner's own "negligible" (Grype, Debian), "info" or "none"
-- (CycloneDX), counted apart instead of as low. Its rank is -1, so the ranks already stored
-- (unknown 0 ... critical 4) keep their meaning. Findings stored as low from such a word
-- become negligible the next time a report names them.
ALTER TABLE posture_snapshots ADD COLUMN open_negligible INTEGER NOT NULL DEFAULT 0;

-- The scanner's own word for the severity, as the last report that named the finding
-- spelled it ("Negligible", "MEDIUM", "moderate"); NULL when the report gave only a score.
ALTER TABLE findings ADD COLUMN scanner_severity TEXT;
