//! The part of the estate a query, a count or a snapshot is about: everything, one
//! host, or one team's containers, with the SQL that selects it.

use super::query::Arg;

/// The part of the estate a snapshot describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    /// A Docker engine or node, by id: the images it has (or had) and its containers'.
    Host(i64),
    /// Containers labelled `team=NAME`, and their images.
    Team(String),
}

impl Scope {
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Host(_) => "host",
            Scope::Team(_) => "team",
        }
    }

    pub fn key(&self) -> String {
        match self {
            Scope::Global => String::new(),
            Scope::Host(id) => id.to_string(),
            Scope::Team(team) => team.clone(),
        }
    }

    /// `global` (or empty), `host:ID` or `team:NAME`.
    pub fn parse(s: &str) -> Result<Scope, String> {
        match s.split_once(':') {
            None if s.is_empty() || s == "global" => Ok(Scope::Global),
            Some(("host", id)) => id
                .parse()
                .map(Scope::Host)
                .map_err(|_| format!("'{id}' is not a host id")),
            Some(("team", team)) => Scope::team(team),
            _ => Err(format!(
                "unknown scope '{s}': use global, host:ID or team:NAME"
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
        }
    }

    /// ` AND` container `c` belongs to the scope.
    pub(crate) fn containers(&self, n: usize) -> String {
        match self {
            Scope::Global => String::new(),
            Scope::Host(_) => format!(" AND c.host_id = ${n}"),
            Scope::Team(_) => format!(" AND c.team = ${n}"),
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
        }
    }

    /// The scope's value, bound after a query's own parameters.
    pub(crate) fn arg(&self) -> Option<Arg> {
        match self {
            Scope::Global => None,
            Scope::Host(id) => Some(Arg::Int(*id)),
            Scope::Team(team) => Some(Arg::Text(team.clone())),
        }
    }
}
