-- The vulnerability list filters by image, package or vulnerability and sorts by severity;
-- with the filter and the sort in one index, a filtered page and its count read only the
-- matching index entries, whatever the planner's statistics say.
DROP INDEX findings_pkg;
DROP INDEX findings_image_state;
DROP INDEX findings_vulnerability;
CREATE INDEX findings_pkg_rank ON findings (pkg_name, state, severity_rank, id);
CREATE INDEX findings_image_rank ON findings (image_id, state, severity_rank, id);
CREATE INDEX findings_vulnerability_rank ON findings (vulnerability_id, state, severity_rank, id);

-- The other sort orders, and the worst-first order across every state.
CREATE INDEX findings_state_last_seen ON findings (state, last_seen_at, id);
CREATE INDEX findings_any_rank ON findings (severity_rank, id);

-- "Fix available", in the list and on the overview, counted from the index alone.
CREATE INDEX findings_fixable_rank ON findings (state, severity_rank, id) WHERE fixed_version IS NOT NULL;

-- Findings a scanner currently reports, without visiting the table.
DROP INDEX finding_scanners_scanner;
CREATE INDEX finding_scanners_scanner ON finding_scanners (scanner, present, finding_id);
