-- Which images each Docker engine holds. Images themselves are global (keyed by digest);
-- this records presence per host, so an image deleted from one engine is marked gone
-- there and nowhere else.
CREATE TABLE host_images (
    host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    gone_at INTEGER,
    -- The sync pass that last saw it (see below).
    seen_pass INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host_id, image_id)
);
CREATE INDEX host_images_image ON host_images (image_id);

CREATE INDEX containers_host ON containers (host_id, gone_at);
CREATE INDEX config_findings_check ON config_findings (check_id, state);

-- Every sync pass has an id (microseconds since the epoch, increasing per host). What a
-- pass saw carries its id, so what it did not see is found exactly, even when two
-- passes fall within the same second.
ALTER TABLE containers ADD COLUMN seen_pass INTEGER NOT NULL DEFAULT 0;
ALTER TABLE config_findings ADD COLUMN seen_pass INTEGER NOT NULL DEFAULT 0;
