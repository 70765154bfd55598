-- A VEX statement applies only to what it names. An image named by a digest Coastguard
-- has not seen yet is kept here, and the suppression applies once that image appears
-- (image_id is then filled in). A suppression with image_digest set and image_id NULL
-- applies to nothing.
ALTER TABLE suppressions ADD COLUMN image_digest TEXT;
CREATE INDEX suppressions_pending_digest ON suppressions (image_digest) WHERE image_id IS NULL AND image_digest IS NOT NULL;

-- Until now a VEX statement whose product matched nothing (or that named none) was stored
-- without an image or package and so applied to every image. Those suppressions had a
-- scope no one stated: revoke them. The next housekeeping run reopens their findings.
UPDATE suppressions SET revoked_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)
WHERE source = 'vex' AND revoked_at IS NULL AND image_id IS NULL AND pkg_name IS NULL;
