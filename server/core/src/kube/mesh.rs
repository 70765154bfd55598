//! What the encryption check keeps of Istio's `PeerAuthentication`
//! (`security.istio.io`), and the mutual-TLS mode a namespace gets from them the way
//! Istio resolves it: a namespace-wide policy (no workload selector) in the namespace
//! wins; otherwise the mesh-wide one (no selector, in the root namespace
//! `istio-system`); a mode of `UNSET` inherits; with neither, Istio's default is
//! `PERMISSIVE` (plain text accepted). Workload-level policies are counted, not resolved.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Istio's default root namespace, where a selector-less policy applies mesh-wide.
pub const ROOT_NAMESPACE: &str = "istio-system";

/// What the checks keep of a PeerAuthentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAuthFacts {
    /// `STRICT`, `PERMISSIVE`, `DISABLE` or `UNSET` (also when absent).
    pub mode: String,
    /// Narrowed to some workloads by a `selector`.
    pub workload: bool,
}

impl PeerAuthFacts {
    pub fn read(spec: &Value) -> PeerAuthFacts {
        let mode = spec
            .pointer("/mtls/mode")
            .and_then(Value::as_str)
            .unwrap_or("UNSET")
            .to_ascii_uppercase();
        let workload = spec
            .pointer("/selector/matchLabels")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty());
        PeerAuthFacts { mode, workload }
    }
}

/// A namespace's mutual-TLS mode and the policy it comes from (`namespace/name`); `None`
/// for the policy when Istio's default applies.
pub fn resolve<'a>(
    namespace: &str,
    policies: impl IntoIterator<Item = (&'a str, &'a str, &'a PeerAuthFacts)> + Clone,
) -> (String, Option<String>) {
    let wide = |ns: &str| {
        let mut found: Vec<(&str, &PeerAuthFacts)> = policies
            .clone()
            .into_iter()
            .filter(|(n, _, f)| *n == ns && !f.workload && f.mode != "UNSET")
            .map(|(_, name, f)| (name, f))
            .collect();
        // Istio takes the oldest of several; names keep the choice stable here.
        found.sort_by_key(|(name, _)| *name);
        found
            .first()
            .map(|(name, f)| (f.mode.clone(), Some(format!("{ns}/{name}"))))
    };
    wide(namespace)
        .or_else(|| wide(ROOT_NAMESPACE))
        .unwrap_or_else(|| ("PERMISSIVE".to_string(), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_namespace_policy_wins_over_the_mesh_and_unset_inherits() {
        let strict = PeerAuthFacts::read(&json!({"mtls": {"mode": "STRICT"}}));
        let permissive = PeerAuthFacts::read(&json!({"mtls": {"mode": "permissive"}}));
        let unset = PeerAuthFacts::read(&json!({}));
        let workload = PeerAuthFacts::read(
            &json!({"selector": {"matchLabels": {"app": "legacy"}}, "mtls": {"mode": "DISABLE"}}),
        );
        assert_eq!(permissive.mode, "PERMISSIVE");
        assert_eq!(unset.mode, "UNSET");
        assert!(workload.workload && !strict.workload);

        let none: Vec<(&str, &str, &PeerAuthFacts)> = vec![];
        assert_eq!(resolve("shop", none), ("PERMISSIVE".to_string(), None));

        let mesh = vec![("istio-system", "default", &strict)];
        assert_eq!(
            resolve("shop", mesh.clone()),
            (
                "STRICT".to_string(),
                Some("istio-system/default".to_string())
            )
        );
        let overridden = vec![
            ("istio-system", "default", &strict),
            ("shop", "relaxed", &permissive),
            ("shop", "legacy", &workload),
        ];
        assert_eq!(
            resolve("shop", overridden.clone()),
            ("PERMISSIVE".to_string(), Some("shop/relaxed".to_string()))
        );
        assert_eq!(resolve("other", overridden).0, "STRICT");
        let inheriting = vec![("istio-system", "default", &strict), ("shop", "x", &unset)];
        assert_eq!(resolve("shop", inheriting).0, "STRICT");
    }
}
