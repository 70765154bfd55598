-- Kubernetes inventory: what the collector keeps beyond the foundation's tables. Only the
-- fields Coastguard reads are stored, never whole objects; Pod Security verdicts are
-- computed as objects arrive and kept as ranks (0 privileged, 1 baseline, 2 restricted:
-- the strictest level passed at the newest policy version).

-- How a cluster is reached: 'kubeconfig' (uploaded), 'in-cluster' (the service account
-- Coastguard runs as). Credentials are sealed with the configured secret key
-- (auth::sealing) and never returned by the API.
ALTER TABLE clusters ADD COLUMN source TEXT;
ALTER TABLE clusters ADD COLUMN context TEXT;
ALTER TABLE clusters ADD COLUMN credentials TEXT;

ALTER TABLE namespaces ADD COLUMN uid TEXT;
-- The pod-security labels as the admission plugin reads them (JSON: enforce, audit, warn,
-- each a level and version), and labels it could not read.
ALTER TABLE namespaces ADD COLUMN pss_policy TEXT;
ALTER TABLE namespaces ADD COLUMN seen_pass BIGINT;

-- A workload's direct owner (a ReplicaSet's Deployment, a Job's CronJob); top-level
-- workloads have none.
ALTER TABLE workloads ADD COLUMN owner_kind TEXT;
ALTER TABLE workloads ADD COLUMN owner_name TEXT;
ALTER TABLE workloads ADD COLUMN replicas BIGINT;
ALTER TABLE workloads ADD COLUMN pss_rank BIGINT;
ALTER TABLE workloads ADD COLUMN seen_pass BIGINT;

ALTER TABLE pods ADD COLUMN node_name TEXT;
ALTER TABLE pods ADD COLUMN owner_kind TEXT;
ALTER TABLE pods ADD COLUMN owner_name TEXT;
ALTER TABLE pods ADD COLUMN pss_rank BIGINT;
ALTER TABLE pods ADD COLUMN seen_pass BIGINT;

-- Nodes are hosts (kind 'node'); a sync pass marks the ones it saw.
ALTER TABLE hosts ADD COLUMN seen_pass BIGINT;

-- The containers of a pod (init, regular, ephemeral), with the image digest its status
-- reports, so a pod's image is the same image row as a Docker host's with that digest.
CREATE TABLE pod_containers (
    pod_id BIGINT NOT NULL REFERENCES pods(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('init', 'container', 'ephemeral')),
    name TEXT NOT NULL,
    image_ref TEXT NOT NULL,
    image_digest TEXT,
    image_id BIGINT REFERENCES images(id) ON DELETE SET NULL,
    ready BOOLEAN,
    restart_count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (pod_id, kind, name)
);
CREATE INDEX pod_containers_image ON pod_containers (image_id);

CREATE INDEX pods_live ON pods (cluster_id, gone_at, namespace, name);
CREATE INDEX pods_owner ON pods (cluster_id, namespace, owner_kind, owner_name);
CREATE INDEX pods_pass ON pods (cluster_id, seen_pass);
CREATE INDEX workloads_live ON workloads (cluster_id, gone_at, namespace, name);
CREATE INDEX namespaces_live ON namespaces (cluster_id, gone_at, name);
-- Open findings counted per subject and severity, read from the index alone (every list
-- counts them, at 10^5 pods and 10^6 findings).
CREATE INDEX config_findings_open ON config_findings (subject_kind, subject_id, state, severity);
