-- What the cluster-wide checks read of NetworkPolicies, Services, Ingresses, service
-- accounts, Roles, ClusterRoles and their bindings: a few
-- fields as JSON (kube::network and kube::rbac facts), never whole
-- objects. A complete list marks what it did not see as gone, like every other kind.
CREATE TABLE kube_facts (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    facts TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    seen_pass INTEGER,
    gone_at INTEGER,
    UNIQUE (cluster_id, kind, uid)
);
CREATE INDEX kube_facts_live ON kube_facts (cluster_id, kind, gone_at, namespace);

-- A namespace's network isolation as the last network pass decided it (JSON:
-- model::kube::NetworkPosture); NULL until the cluster's first pass.
ALTER TABLE namespaces ADD COLUMN network TEXT;

-- A pod's service account and whether it asks for the account's token to be mounted
-- (NULL: as the account says), for the RBAC checks.
ALTER TABLE pods ADD COLUMN service_account TEXT;
ALTER TABLE pods ADD COLUMN automount_token BOOLEAN;
