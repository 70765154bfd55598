-- Registries as an inventory source. registries (from 0001) gains its credentials,
-- sealed with the server's secret key as cluster credentials are (JSON username and
-- password, never stored in clear), who added it, and when a sync was last tried (its
-- last success stays in last_sync_at). config holds the connection settings (JSON:
-- insecure, ca_pem, repositories).
ALTER TABLE registries ADD COLUMN credentials TEXT;
ALTER TABLE registries ADD COLUMN created_by TEXT;
ALTER TABLE registries ADD COLUMN last_attempt_at INTEGER;

-- Every manifest digest each tag of a registry has named: the row whose is_current is true
-- is what the tag names now; others are where it pointed before (a tag that moved). A
-- tag that disappears keeps its rows, none is_current.
CREATE TABLE registry_tags (
    registry_id INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    -- The manifest (or index) digest the tag resolved to.
    digest TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    is_current BOOLEAN NOT NULL,
    PRIMARY KEY (registry_id, repository, tag, digest)
);
CREATE INDEX registry_tags_current ON registry_tags (registry_id, is_current, repository, tag);
CREATE INDEX registry_tags_digest ON registry_tags (digest);
