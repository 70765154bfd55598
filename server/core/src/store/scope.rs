//! The part of the estate a query, a count or a snapshot is about: everything, one
//! host, one team's containers, one Kubernetes cluster or namespace, with the SQL that
//! selects it.

use super::query::Arg;

/// The part of the estate a snapshot describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    /// A Docker engine or node, by id: the images it has (or had) and its containers'.
    Host(i64),
    /// Containers labelled `team=NAME`, and their images.
    Team(String),
    /// A Kubernetes cluster, by id: the images its pods run (or ran), its nodes' alerts.
    Cluster(i64),
    /// A Kubernetes namespace, by id: its pods' images and alerts.
    Namespace(i64),
}

/// The images of the pods of cluster `$n` (`p.cluster_id`) or of namespace `$n`.
const CLUSTER_IMAGES: &str = "SELECT pc.image_id FROM pod_containers pc JOIN pods p ON p.id = pc.pod_id      WHERE p.cluster_id = ${n} AND pc.image_id IS NOT NULL";
const NAMESPACE_IMAGES: &str = "SELECT pc.image_id FROM pod_containers pc JOIN pods p ON p.id = pc.pod_id      JOIN namespaces ns ON ns.cluster_id = p.cluster_id AND ns.name = p.namespace      WHERE ns.id = ${n} AND pc.image_id IS NOT NULL";

impl Scope {
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Host(_) => "host",
            Scope::Team(_) => "team",
            Scope::Cluster(_) => "cluster",
            Scope::Namespace(_) => "namespace",
        }
    }

    pub fn key(&self) -> String {
        match self {
            Scope::Global => String::new(),
            Scope::Host(id) | Scope::Cluster(id) | Scope::Namespace(id) => id.to_string(),
            Scope::Team(team) => team.clone(),
        }
    }

    /// `global` (or empty), `host:ID`, `team:NAME`, `cluster:ID` or `namespace:ID`.
    pub fn parse(s: &str) -> Result<Scope, String> {
        let id = |id: &str, what: &str| {
            id.parse::<i64>()
                .map_err(|_| format!("'{id}' is not a {what} id"))
        };
        match s.split_once(':') {
            None if s.is_empty() || s == "global" => Ok(Scope::Global),
            Some(("host", n)) => id(n, "host").map(Scope::Host),
            Some(("team", team)) => Scope::team(team),
            Some(("cluster", n)) => id(n, "cluster").map(Scope::Cluster),
            Some(("namespace", n)) => id(n, "namespace").map(Scope::Namespace),
            _ => Err(format!(
                "unknown scope '{s}': use global, host:ID, team:NAME, cluster:ID or namespace:ID"
            )),
        }
    }

    pub fn team(name: &str) -> Result<Scope, String> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err("a team name has 1 to 200 characters".into());
        }
        Ok(Scope::Team(name.to_string()))
    }

    /// ` AND image_id IN (the scope's images)`, the scope's value being parameter `$n`;
    /// nothing for the whole estate.
    pub(crate) fn images(&self, n: usize) -> String {
        match self {
            Scope::Global => String::new(),
            Scope::Host(_) => format!(
                " AND image_id IN (SELECT image_id FROM host_images WHERE host_id = ${n} \
                 UNION SELECT image_id FROM containers WHERE host_id = ${n} AND image_id IS NOT NULL)"
            ),
            Scope::Team(_) => format!(
                " AND image_id IN (SELECT image_id FROM containers WHERE team = ${n} AND image_id IS NOT NULL)"
            ),
            Scope::Cluster(_) => format!(
                " AND image_id IN ({})",
                CLUSTER_IMAGES.replace("${n}", &format!("${n}"))
            ),
            Scope::Namespace(_) => format!(
                " AND image_id IN ({})",
                NAMESPACE_IMAGES.replace("${n}", &format!("${n}"))
            ),
        }
    }

    /// ` AND` the alert is on the scope's host or one of the team's containers.
    pub(crate) fn alerts(&self, n: usize) -> String {
        match self {
            Scope::Global => String::new(),
            Scope::Host(_) => format!(" AND host_id = ${n}"),
            Scope::Team(_) => {
                format!(" AND container_id IN (SELECT id FROM containers WHERE team = ${n})")
            }
            Scope::Cluster(_) => {
                format!(" AND host_id IN (SELECT id FROM hosts WHERE cluster_id = ${n})")
            }
            Scope::Namespace(_) => format!(
                " AND EXISTS (SELECT 1 FROM namespaces ns JOIN hosts h ON h.cluster_id = ns.cluster_id                  WHERE ns.id = ${n} AND h.id = host_id AND ns.name = namespace)"
            ),
        }
    }

    /// ` AND` container `c` belongs to the scope.
    pub(crate) fn containers(&self, n: usize) -> String {
        match self {
            Scope::Global => String::new(),
            Scope::Host(_) => format!(" AND c.host_id = ${n}"),
            Scope::Team(_) => format!(" AND c.team = ${n}"),
            // Docker containers belong to no cluster; a node's containers are its pods'.
            Scope::Cluster(_) | Scope::Namespace(_) => format!(" AND ${n} IS NULL"),
        }
    }

    /// ` AND` pod `p` belongs to the scope: a node's pods for a host (a Docker engine
    /// has none); teams are container labels, which pods do not carry.
    pub(crate) fn pods(&self, n: usize) -> String {
        match self {
            Scope::Global => String::new(),
            Scope::Host(_) => format!(
                " AND EXISTS (SELECT 1 FROM hosts h WHERE h.id = ${n} AND h.kind = 'node' \
                 AND h.cluster_id = p.cluster_id AND h.name = p.node_name)"
            ),
            Scope::Team(_) => " AND 1 = 0".into(),
            Scope::Cluster(_) => format!(" AND p.cluster_id = ${n}"),
            Scope::Namespace(_) => format!(
                " AND EXISTS (SELECT 1 FROM namespaces ns WHERE ns.id = ${n}                  AND ns.cluster_id = p.cluster_id AND ns.name = p.namespace)"
            ),
        }
    }

    /// The scope's value, bound after a query's own parameters.
    pub(crate) fn arg(&self) -> Option<Arg> {
        match self {
            Scope::Global => None,
            Scope::Host(id) | Scope::Cluster(id) | Scope::Namespace(id) => Some(Arg::Int(*id)),
            Scope::Team(team) => Some(Arg::Text(team.clone())),
        }
    }
}
