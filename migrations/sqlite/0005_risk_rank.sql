-- Rankings read the top scores of a kind in index order, ties by id, without sorting
-- (and so without reading) every breakdown of that kind.
DROP INDEX risk_scores_rank;
CREATE INDEX risk_scores_rank ON risk_scores (subject_kind, score, subject_id);
