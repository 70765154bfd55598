//! What the network checks keep of Calico's policies (`projectcalico.org/v3`
//! `NetworkPolicy` and `GlobalNetworkPolicy`) and of its `FelixConfiguration`, and
//! Calico's selector language, evaluated the way Felix evaluates it:
//!
//! - `all()`, `global()`, `has(k)`, `k == 'v'`, `k != 'v'`, `k in {'a', 'b'}`,
//!   `k not in {...}`, `k contains 's'`, `k starts with 's'`, `k ends with 's'`,
//!   combined with `!`, `&&`, `||` and parentheses; strings in single or double quotes.
//!   `!=` and `not in` also match an endpoint without the label. An empty selector is
//!   `all()`.
//! - A pod's labels as Calico sees them include `projectcalico.org/namespace`,
//!   `projectcalico.org/orchestrator` (`k8s`), `projectcalico.org/serviceaccount`, and
//!   its namespace's labels prefixed `pcns.`; a namespace selector sees the namespace's
//!   labels and `projectcalico.org/name`.
//! - Without `types`, a policy applies to ingress unless it has only egress rules, and to
//!   egress when it has egress rules.
//! - A policy applying to host endpoints only (`doNotTrack`, `preDNAT`,
//!   `applyOnForward`) or narrowed by a `serviceAccountSelector` is not taken to isolate
//!   pods (the service accounts' labels are not read), so a pod isolated only by such a
//!   policy is reported as not isolated.
//! - A rule admits every source when its action is `Allow` or `Pass` (handing the
//!   decision to a later tier) and it names no protocol, source (beyond `0.0.0.0/0` or
//!   `::/0`) or destination.

use super::objects::strings;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Labels every Calico workload endpoint carries besides the pod's own.
pub const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";
pub const ORCHESTRATOR_LABEL: &str = "projectcalico.org/orchestrator";
pub const ACCOUNT_LABEL: &str = "projectcalico.org/serviceaccount";
/// The label a namespace selector sees a namespace's name under.
pub const NAME_LABEL: &str = "projectcalico.org/name";
/// Prefix of a namespace's labels on its pods' endpoints.
pub const NAMESPACE_PREFIX: &str = "pcns.";

/// A parsed Calico selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    All,
    Global,
    Has(String),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Contains(String, String),
    StartsWith(String, String),
    EndsWith(String, String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Whether an endpoint whose labels `get` answers is selected.
    pub fn matches<'a>(&self, get: &impl Fn(&str) -> Option<&'a str>) -> bool {
        match self {
            Expr::All | Expr::Global => true,
            Expr::Has(k) => get(k).is_some(),
            Expr::Eq(k, v) => get(k) == Some(v.as_str()),
            Expr::Ne(k, v) => get(k) != Some(v.as_str()),
            Expr::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Expr::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Expr::Contains(k, s) => get(k).is_some_and(|x| x.contains(s.as_str())),
            Expr::StartsWith(k, s) => get(k).is_some_and(|x| x.starts_with(s.as_str())),
            Expr::EndsWith(k, s) => get(k).is_some_and(|x| x.ends_with(s.as_str())),
            Expr::Not(e) => !e.matches(get),
            Expr::And(a, b) => a.matches(get) && b.matches(get),
            Expr::Or(a, b) => a.matches(get) || b.matches(get),
        }
    }

    /// Names only namespace-wide labels (the namespace's own, its name, the
    /// orchestrator): it then selects every pod of a namespace or none.
    pub fn namespace_wide(&self) -> bool {
        let wide = |k: &str| {
            k == NAMESPACE_LABEL || k == ORCHESTRATOR_LABEL || k.starts_with(NAMESPACE_PREFIX)
        };
        match self {
            Expr::All | Expr::Global => true,
            Expr::Has(k)
            | Expr::Eq(k, _)
            | Expr::Ne(k, _)
            | Expr::In(k, _)
            | Expr::NotIn(k, _)
            | Expr::Contains(k, _)
            | Expr::StartsWith(k, _)
            | Expr::EndsWith(k, _) => wide(k),
            Expr::Not(e) => e.namespace_wide(),
            Expr::And(a, b) | Expr::Or(a, b) => a.namespace_wide() && b.namespace_wide(),
        }
    }
}

/// Parses a selector; an empty one is `all()`.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser { s: text, at: 0 };
    p.space();
    if p.done() {
        return Ok(Expr::All);
    }
    let e = p.or()?;
    p.space();
    if !p.done() {
        return Err(format!(
            "unexpected {:?} at {} in selector {text:?}",
            &text[p.at..],
            p.at
        ));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.at..]
    }

    fn done(&self) -> bool {
        self.at >= self.s.len()
    }

    fn space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.s.len() - trimmed.len();
    }

    /// Consumes `token` (after spaces) when the text continues with it.
    fn eat(&mut self, token: &str) -> bool {
        self.space();
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    /// Consumes a keyword only when a word does not go on after it (`in` is not `inner`).
    fn word(&mut self, word: &str) -> bool {
        self.space();
        let Some(after) = self.rest().strip_prefix(word) else {
            return false;
        };
        if !after.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn error(&self, what: &str) -> String {
        format!("expected {what} at {} in selector {:?}", self.at, self.s)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.eat("||") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.eat("&&") {
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            if !self.eat(")") {
                return Err(self.error("`)`"));
            }
            return Ok(e);
        }
        if self.word("all") {
            return self.call().map(|()| Expr::All);
        }
        if self.word("global") {
            return self.call().map(|()| Expr::Global);
        }
        if self.word("has") {
            if !self.eat("(") {
                return Err(self.error("`(`"));
            }
            let key = self.key()?;
            if !self.eat(")") {
                return Err(self.error("`)`"));
            }
            return Ok(Expr::Has(key));
        }
        let key = self.key()?;
        if self.eat("==") {
            return Ok(Expr::Eq(key, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Expr::Ne(key, self.string()?));
        }
        if self.word("in") {
            return Ok(Expr::In(key, self.set()?));
        }
        if self.word("not") {
            if !self.word("in") {
                return Err(self.error("`in` after `not`"));
            }
            return Ok(Expr::NotIn(key, self.set()?));
        }
        if self.word("contains") {
            return Ok(Expr::Contains(key, self.string()?));
        }
        if self.word("starts") && self.word("with") {
            return Ok(Expr::StartsWith(key, self.string()?));
        }
        if self.word("ends") && self.word("with") {
            return Ok(Expr::EndsWith(key, self.string()?));
        }
        Err(self.error("an operator"))
    }

    fn call(&mut self) -> Result<(), String> {
        if self.eat("(") && self.eat(")") {
            Ok(())
        } else {
            Err(self.error("`()`"))
        }
    }

    /// A label key: letters, digits and `-_./`.
    fn key(&mut self) -> Result<String, String> {
        self.space();
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(self.error("a label"));
        }
        let key = self.rest()[..len].to_string();
        self.at += len;
        Ok(key)
    }

    fn string(&mut self) -> Result<String, String> {
        self.space();
        let quote = match self.rest().chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error("a quoted string")),
        };
        let body = &self.rest()[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| self.error("a closing quote"))?;
        let value = body[..end].to_string();
        self.at += end + 2;
        Ok(value)
    }

    fn set(&mut self) -> Result<Vec<String>, String> {
        if !self.eat("{") {
            return Err(self.error("`{`"));
        }
        let mut values = Vec::new();
        if self.eat("}") {
            return Ok(values);
        }
        loop {
            values.push(self.string()?);
            if self.eat("}") {
                return Ok(values);
            }
            if !self.eat(",") {
                return Err(self.error("`,` or `}`"));
            }
        }
    }
}

/// What the checks keep of a Calico `NetworkPolicy` or `GlobalNetworkPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalicoPolicyFacts {
    /// The endpoint selector as written (`""` is `all()`).
    pub selector: String,
    /// A global policy's namespace selector (`""`: every namespace).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace_selector: String,
    pub ingress: bool,
    pub egress: bool,
    /// Some ingress rule admits every source.
    pub ingress_open: bool,
    /// Applies to pods (not only host endpoints, not narrowed by service account).
    pub pods: bool,
}

impl CalicoPolicyFacts {
    pub fn read(spec: &Value) -> CalicoPolicyFacts {
        let rules = |key: &str| {
            spec.get(key)
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .to_vec()
        };
        let (ingress_rules, egress_rules) = (rules("ingress"), rules("egress"));
        let types = strings(spec.get("types"));
        let (ingress, egress) = if types.is_empty() {
            (
                !ingress_rules.is_empty() || egress_rules.is_empty(),
                !egress_rules.is_empty(),
            )
        } else {
            (
                types.iter().any(|t| t == "Ingress"),
                types.iter().any(|t| t == "Egress"),
            )
        };
        let flag = |key: &str| spec.get(key).and_then(Value::as_bool).unwrap_or(false);
        let narrowed = spec
            .get("serviceAccountSelector")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        CalicoPolicyFacts {
            selector: text(spec, "selector"),
            namespace_selector: text(spec, "namespaceSelector"),
            ingress,
            egress,
            ingress_open: ingress_rules.iter().any(rule_admits_all),
            pods: !(flag("doNotTrack") || flag("preDNAT") || flag("applyOnForward") || narrowed),
        }
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn rule_admits_all(rule: &Value) -> bool {
    let action = rule.get("action").and_then(Value::as_str).unwrap_or("");
    if !matches!(action, "Allow" | "Pass") {
        return false;
    }
    let set = |key: &str| rule.get(key).is_some_and(|v| !v.is_null());
    if ["protocol", "notProtocol", "icmp", "notICMP", "http"]
        .iter()
        .any(|k| set(k))
    {
        return false;
    }
    let empty = |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|o| o.is_empty());
    let source = rule.get("source");
    let source_open = empty(source)
        || source.and_then(Value::as_object).is_some_and(|o| {
            o.keys().all(|k| k == "nets")
                && strings(o.get("nets"))
                    .iter()
                    .any(|n| n == "0.0.0.0/0" || n == "::/0")
        });
    source_open && empty(rule.get("destination"))
}

/// What the checks keep of a `FelixConfiguration`: WireGuard encryption of pod traffic
/// between nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FelixFacts {
    pub wireguard_v4: bool,
    pub wireguard_v6: bool,
}

impl FelixFacts {
    pub fn read(spec: &Value) -> FelixFacts {
        let on = |key: &str| spec.get(key).and_then(Value::as_bool).unwrap_or(false);
        FelixFacts {
            wireguard_v4: on("wireguardEnabled"),
            wireguard_v6: on("wireguardEnabledV6"),
        }
    }

    pub fn wireguard(&self) -> bool {
        self.wireguard_v4 || self.wireguard_v6
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn selects(selector: &str, pairs: &[(&str, &str)]) -> bool {
        let labels: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        parse(selector)
            .unwrap_or_else(|e| panic!("{e}"))
            .matches(&|k: &str| labels.get(k).copied())
    }

    #[test]
    fn selectors_match_as_felix_matches_them() {
        let web = [("app", "web"), ("tier", "front-end"), ("env", "prod")];
        for (selector, expected) in [
            ("", true),
            ("all()", true),
            ("app == 'web'", true),
            ("app == \"web\"", true),
            ("app == 'db'", false),
            ("app != 'db'", true),
            ("missing != 'x'", true),
            ("has(app)", true),
            ("!has(app)", false),
            ("has(missing)", false),
            ("app in {'web', 'api'}", true),
            ("app in {}", false),
            ("app not in {'web'}", false),
            ("missing not in {'web'}", true),
            ("tier contains 'end'", true),
            ("tier starts with 'front'", true),
            ("tier ends with 'front'", false),
            ("app == 'web' && env == 'dev'", false),
            ("app == 'db' || env == 'prod'", true),
            ("!(app == 'db' || env == 'dev')", true),
            (
                "app == 'web' && (env == 'dev' || tier == 'front-end')",
                true,
            ),
            // && binds tighter than ||.
            ("app == 'db' && env == 'dev' || has(tier)", true),
        ] {
            assert_eq!(selects(selector, &web), expected, "{selector}");
        }
    }

    #[test]
    fn malformed_selectors_are_refused_with_where() {
        for bad in [
            "app ==",
            "app = 'web'",
            "has(app",
            "app in {'a' 'b'}",
            "app == 'web' &&",
            "(app == 'web'",
            "app == 'web' extra",
            "app not {'a'}",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains("selector"), "{e}");
        }
    }

    #[test]
    fn namespace_wide_selectors_are_told_apart() {
        for (selector, wide) in [
            ("all()", true),
            ("projectcalico.org/namespace not in {'kube-system'}", true),
            (
                "has(pcns.team) && projectcalico.org/orchestrator == 'k8s'",
                true,
            ),
            ("app == 'web'", false),
            ("all() && has(app)", false),
        ] {
            assert_eq!(
                parse(selector).unwrap().namespace_wide(),
                wide,
                "{selector}"
            );
        }
    }

    #[test]
    fn policy_types_and_open_rules_follow_calico() {
        // No types and no rules: an ingress default deny.
        let p = CalicoPolicyFacts::read(&json!({"selector": "all()"}));
        assert!(p.ingress && !p.egress && !p.ingress_open && p.pods);
        // Only egress rules: egress only.
        let p = CalicoPolicyFacts::read(&json!({"egress": [{"action": "Allow"}]}));
        assert!(!p.ingress && p.egress);
        // Both kinds of rule: both.
        let p = CalicoPolicyFacts::read(
            &json!({"ingress": [{"action": "Deny"}], "egress": [{"action": "Allow"}]}),
        );
        assert!(p.ingress && p.egress && !p.ingress_open);
        // Explicit types win.
        let p = CalicoPolicyFacts::read(
            &json!({"types": ["Egress"], "ingress": [{"action": "Allow"}]}),
        );
        assert!(!p.ingress && p.egress);
        for (rule, open) in [
            (json!({"action": "Allow"}), true),
            (json!({"action": "Pass"}), true),
            (json!({"action": "Deny"}), false),
            (json!({"action": "Log"}), false),
            (json!({"action": "Allow", "source": {}}), true),
            (
                json!({"action": "Allow", "source": {"nets": ["0.0.0.0/0"]}}),
                true,
            ),
            (
                json!({"action": "Allow", "source": {"nets": ["10.0.0.0/8"]}}),
                false,
            ),
            (
                json!({"action": "Allow", "source": {"selector": "app == 'web'"}}),
                false,
            ),
            (json!({"action": "Allow", "protocol": "TCP"}), false),
            (
                json!({"action": "Allow", "destination": {"ports": [80]}}),
                false,
            ),
        ] {
            let p = CalicoPolicyFacts::read(&json!({"types": ["Ingress"], "ingress": [rule]}));
            assert_eq!(p.ingress_open, open, "{rule}");
        }
        for narrowing in [
            json!({"doNotTrack": true}),
            json!({"preDNAT": true}),
            json!({"applyOnForward": true}),
            json!({"serviceAccountSelector": "role == 'db'"}),
        ] {
            assert!(!CalicoPolicyFacts::read(&narrowing).pods, "{narrowing}");
        }
    }

    #[test]
    fn wireguard_is_read_from_felix() {
        assert!(!FelixFacts::read(&json!({})).wireguard());
        assert!(FelixFacts::read(&json!({"wireguardEnabled": true})).wireguard());
        assert!(FelixFacts::read(&json!({"wireguardEnabledV6": true})).wireguard());
        assert!(!FelixFacts::read(&json!({"wireguardEnabled": false})).wireguard());
    }
}
