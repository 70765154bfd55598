//! What the handlers' annotations cannot say, added to the generated OpenAPI document from
//! the rules the server applies: the values each enumerated parameter takes (the store's
//! sort keys, the model's enums), the patterns and lengths of body fields (the patterns of
//! `coastguard_model::validate`, unit-tested to accept what its rules accept), the
//! statuses every operation of a kind can answer, and the content types of answers that
//! have several. `scripts/test` holds the server to the result with schemathesis.

use coastguard_core::docker::views::{
    Sort, CONTAINER_SORTS, FINDING_SORTS, HOST_SORTS, IMAGE_SORTS,
};
use coastguard_core::kube::views::{NAMESPACE_SORTS, POD_SORTS, WORKLOAD_SORTS};
use coastguard_core::scans::vulns::VULN_SORTS;
use coastguard_model::exceptions::{ExceptionKind, LIST_STATUSES};
use coastguard_model::findings::{FindingState, SubjectKind};
use coastguard_model::risk::RiskSubject;
use coastguard_model::trends::Chart;
use coastguard_model::validate;
use coastguard_model::vulns::VulnState;
use coastguard_model::Severity;
use serde_json::{json, Map, Value};

/// An empty query value is no value (HTML forms send them), so every enumerated query
/// parameter also takes `""`.
fn any_or(values: impl IntoIterator<Item = String>) -> Value {
    let mut all = vec![String::new()];
    all.extend(values);
    json!(all)
}

fn keys(sorts: &[Sort]) -> impl Iterator<Item = String> + '_ {
    sorts.iter().map(|(k, _, _)| k.to_string())
}

fn strings<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> Vec<String> {
    items.iter().map(|i| name(*i).to_string()).collect()
}

/// The parameters each list reads (`Store::list_*`).
const LIST_PARAMETERS: &[(&str, &[&str])] = &[
    (
        "/api/v1/hosts",
        &["q", "state", "sort", "dir", "page", "per_page"],
    ),
    (
        "/api/v1/images",
        &[
            "q",
            "host",
            "include_gone",
            "severity",
            "sort",
            "dir",
            "page",
            "per_page",
        ],
    ),
    (
        "/api/v1/containers",
        &[
            "q",
            "state",
            "host",
            "include_gone",
            "severity",
            "sort",
            "dir",
            "page",
            "per_page",
        ],
    ),
];

/// (path, parameter, the schema fields to set).
fn parameter_rules() -> Vec<(&'static str, &'static str, Value)> {
    let severities = strings(&Severity::DESCENDING, Severity::as_str);
    let dir = any_or(["asc".into(), "desc".into()]);
    let kinds = [
        SubjectKind::Host,
        SubjectKind::Image,
        SubjectKind::Container,
        SubjectKind::Pod,
        SubjectKind::Workload,
        SubjectKind::Namespace,
        SubjectKind::Cluster,
    ];
    let finding_states = strings(
        &[
            FindingState::Open,
            FindingState::Accepted,
            FindingState::Resolved,
        ],
        FindingState::as_str,
    );
    let vuln_states = strings(
        &[VulnState::Open, VulnState::Fixed, VulnState::Suppressed],
        VulnState::as_str,
    );
    let subjects = strings(&RiskSubject::ALL, RiskSubject::as_str);
    let charts = strings(&Chart::ALL, Chart::as_str);
    let day = json!({ "pattern": "^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$" });
    let mut rules = Vec::new();
    for (path, sorts) in [
        ("/api/v1/hosts", HOST_SORTS),
        ("/api/v1/images", IMAGE_SORTS),
        ("/api/v1/containers", CONTAINER_SORTS),
        ("/api/v1/config-findings", FINDING_SORTS),
    ] {
        rules.push((path, "sort", json!({ "enum": any_or(keys(sorts)) })));
        rules.push((path, "dir", json!({ "enum": dir })));
        if path != "/api/v1/hosts" {
            let values = any_or(severities.clone());
            rules.push((path, "severity", json!({ "enum": values })));
        }
    }
    let levels = any_or(["privileged", "baseline", "restricted"].map(String::from));
    for (path, sorts) in [
        ("/api/v1/namespaces", NAMESPACE_SORTS),
        ("/api/v1/workloads", WORKLOAD_SORTS),
        ("/api/v1/pods", POD_SORTS),
    ] {
        rules.push((path, "sort", json!({ "enum": any_or(keys(sorts)) })));
        rules.push((path, "dir", json!({ "enum": dir })));
        rules.push((path, "level", json!({ "enum": levels })));
    }
    rules.push((
        "/api/v1/config-findings",
        "state",
        json!({ "enum": any_or(finding_states.into_iter().chain(["all".to_string()])) }),
    ));
    rules.push((
        "/api/v1/config-findings",
        "subject_kind",
        json!({ "enum": any_or(strings(&kinds, SubjectKind::as_str)) }),
    ));
    for path in ["/api/v1/vulnerabilities", "/api/v1/vulnerabilities/export"] {
        let states = vuln_states.iter().cloned().chain(["all".to_string()]);
        rules.push((path, "state", json!({ "enum": any_or(states) })));
        rules.push((
            path,
            "severity",
            json!({ "enum": any_or(severities.clone()) }),
        ));
        let sorts = VULN_SORTS.iter().map(|s| s.to_string());
        rules.push((path, "sort", json!({ "enum": any_or(sorts) })));
    }
    rules.push((
        "/api/v1/vulnerabilities/export",
        "format",
        json!({ "enum": any_or(["csv".into(), "json".into()]) }),
    ));
    rules.push((
        "/api/v1/risk",
        "kind",
        json!({ "enum": any_or(subjects.clone()) }),
    ));
    rules.push((
        "/api/v1/risk/{kind}/{id}",
        "kind",
        json!({ "enum": subjects }),
    ));
    rules.push((
        "/api/v1/trends/charts/{chart}",
        "chart",
        json!({ "enum": charts }),
    ));
    rules.push((
        "/api/v1/trends/charts/{chart}",
        "format",
        json!({ "enum": any_or(["svg".into(), "csv".into()]) }),
    ));
    rules.push((
        "/api/v1/exceptions",
        "status",
        json!({ "enum": any_or(LIST_STATUSES.iter().map(|s| s.to_string())) }),
    ));
    rules.push((
        "/api/v1/exceptions",
        "kind",
        json!({ "enum": any_or(ExceptionKind::ALL.iter().map(|k| k.as_str().to_string())) }),
    ));
    rules.push(("/api/v1/exceptions", "owner", json!({ "maxLength": 200 })));
    for path in [
        "/api/v1/audit",
        "/api/v1/scans",
        "/api/v1/webhooks/deliveries",
        "/api/v1/exceptions",
    ] {
        rules.push((
            path,
            "cursor",
            json!({ "pattern": validate::ID_CURSOR_PATTERN }),
        ));
    }
    for path in ["/api/v1/vulnerabilities", "/api/v1/alerts"] {
        rules.push((
            path,
            "cursor",
            json!({ "pattern": validate::KEY_CURSOR_PATTERN }),
        ));
    }
    for path in ["/api/v1/trends", "/api/v1/trends/charts/{chart}"] {
        rules.push((path, "from", day.clone()));
        rules.push((path, "to", day.clone()));
    }
    rules
}

/// (component schema, property, the schema fields to set).
fn body_rules() -> Vec<(&'static str, &'static str, Value)> {
    let password = json!({
        "minLength": validate::MIN_PASSWORD_LEN,
        "maxLength": validate::MAX_PASSWORD_LEN,
    });
    let label = json!({ "pattern": validate::LABEL_PATTERN });
    let text = json!({ "pattern": validate::TEXT_PATTERN });
    let scope_name = json!({ "pattern": validate::SCOPE_NAME_PATTERN });
    vec![
        (
            "NewUser",
            "name",
            json!({ "pattern": validate::USERNAME_PATTERN }),
        ),
        ("NewUser", "password", password.clone()),
        ("PasswordReset", "password", password),
        ("TokenRequest", "name", label.clone()),
        ("NewEngine", "name", label.clone()),
        ("NewClusters", "name", label.clone()),
        ("NewSigningKey", "name", label.clone()),
        ("NewRegistry", "name", label.clone()),
        ("NewWebhook", "name", label),
        (
            "WebhookFilter",
            "sources",
            json!({
                "maxItems": 20,
                "items": { "type": "string", "minLength": 1, "maxLength": 64 },
            }),
        ),
        (
            "NewRegistry",
            "repositories",
            json!({ "maxItems": coastguard_model::registries::MAX_CONFIGURED_REPOSITORIES }),
        ),
        (
            "SetTrustRoot",
            "trusted_root",
            json!({ "maxLength": coastguard_core::signatures::trust::MAX_TRUST_ROOT }),
        ),
        (
            "NewSigningKey",
            "scope",
            json!({ "pattern": validate::SCOPE_PATTERN }),
        ),
        (
            "NewEngine",
            "endpoint",
            json!({ "pattern": validate::ENGINE_ENDPOINT_PATTERN }),
        ),
        ("AcceptRisk", "reason", text.clone()),
        ("NewSuppression", "justification", text.clone()),
        ("NewException", "reason", text.clone()),
        ("ExceptionDecision", "note", text),
        ("NewSuppression", "pkg_name", scope_name.clone()),
        ("NewException", "package", scope_name.clone()),
        ("NewException", "host", scope_name.clone()),
        ("NewException", "cluster", scope_name.clone()),
        ("NewException", "namespace", scope_name.clone()),
        ("NewException", "workload", scope_name.clone()),
        ("NewException", "owner", scope_name),
        (
            "ExceptionPolicy",
            "approval",
            json!({ "maxItems": 6, "uniqueItems": true }),
        ),
        (
            "NewSuppression",
            "vuln_id",
            json!({ "pattern": validate::WORD_PATTERN }),
        ),
        (
            "Policy",
            "trusted_registries",
            json!({
                "maxItems": validate::MAX_REGISTRIES,
                "items": { "type": "string", "pattern": validate::REGISTRY_PATTERN },
            }),
        ),
        (
            "Policy",
            "require_signatures",
            json!({
                "maxItems": validate::MAX_REGISTRIES,
                "items": { "type": "string", "pattern": validate::REQUIREMENT_PATTERN },
            }),
        ),
    ]
}

/// Merges `fields` into the schema at `schema` (where a parameter's or property's type
/// may sit under `oneOf` with `null`, the fields go beside the string or integer type).
fn merge(schema: &mut Value, fields: &Value) {
    let target = match schema.get_mut("oneOf").and_then(Value::as_array_mut) {
        Some(options) => options
            .iter_mut()
            .find(|o| o.get("type").and_then(Value::as_str) != Some("null"))
            .expect("a non-null option"),
        None => schema,
    };
    for (k, v) in fields.as_object().expect("an object of schema fields") {
        target[k] = v.clone();
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    })
}

/// Several content types for one answer: (content type, schema).
fn contents(description: &str, types: &[(&str, Value)]) -> Value {
    let content: Map<String, Value> = types
        .iter()
        .map(|(t, schema)| (t.to_string(), json!({ "schema": schema })))
        .collect();
    json!({ "description": description, "content": content })
}

/// Applies every rule to the document; panics naming a rule whose target is missing, so a
/// renamed parameter or schema can't leave a rule silently unapplied.
pub fn tighten(doc: &mut Value) {
    // Each list documents the parameters it reads (they share one query type).
    for (path, used) in LIST_PARAMETERS {
        doc["paths"][*path]["get"]["parameters"]
            .as_array_mut()
            .unwrap_or_else(|| panic!("no parameters on {path}"))
            .retain(|p| used.contains(&p["name"].as_str().unwrap_or_default()));
    }
    // The export streams every match: it takes the list's filters, not its paging.
    doc["paths"]["/api/v1/vulnerabilities/export"]["get"]["parameters"]
        .as_array_mut()
        .expect("export parameters")
        .retain(|p| p["name"] != "limit" && p["name"] != "cursor");
    for (path, name, fields) in parameter_rules() {
        let ops = doc["paths"][path]
            .as_object_mut()
            .unwrap_or_else(|| panic!("no path {path}"));
        let mut found = false;
        for op in ops.values_mut() {
            // (`get_mut`: indexing would add `parameters: null` to an operation without.)
            let params = op.get_mut("parameters").and_then(Value::as_array_mut);
            for p in params.into_iter().flatten() {
                if p["name"] == name {
                    merge(&mut p["schema"], &fields);
                    found = true;
                }
            }
        }
        assert!(found, "no parameter {name} on {path}");
    }
    for (schema, property, fields) in body_rules() {
        let target = &mut doc["components"]["schemas"][schema]["properties"][property];
        assert!(target.is_object(), "no property {property} in {schema}");
        merge(target, &fields);
    }
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (path, ops) in paths.iter_mut() {
        for op in ops.as_object_mut().expect("operations").values_mut() {
            let has_path_params = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path"));
            let has_body = op.get("requestBody").is_some();
            let has_query = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let responses = op["responses"].as_object_mut().expect("responses");
            if has_path_params || has_query {
                responses.entry("422").or_insert_with(|| {
                    error_response("A parameter is not valid (an id that does not fit a 64-bit integer, a value not listed); `location` names it")
                });
            }
            if has_body && path != "/api/v1/scans" {
                responses.entry("400").or_insert_with(|| {
                    error_response(
                        "The body is not JSON, or its Content-Type is not application/json",
                    )
                });
                responses.entry("422").or_insert_with(|| {
                    error_response("The body does not have the documented shape or breaks a rule; `location` names the field")
                });
                responses
                    .entry("413")
                    .or_insert_with(|| error_response("The body is larger than 1 MiB"));
            }
        }
    }
    // A report is whatever its scanner wrote: JSON (an object, or Trivy's legacy array),
    // EPSS's CSV, or either gzip-compressed; the server reads the content, not the type.
    doc["paths"]["/api/v1/scans"]["post"]["requestBody"] = json!({
        "required": true,
        "description": "A Trivy, Grype, SARIF 2.1.0 or CycloneDX report, an OpenVEX or CycloneDX VEX document, the CISA KEV catalog (JSON) or FIRST EPSS scores (CSV); any of them gzip-compressed",
        "content": {
            "application/json": {
                "schema": { "type": ["object", "array"] },
                "example": {
                    "SchemaVersion": 2,
                    "ArtifactName": "example/app:1.0",
                    "ArtifactType": "container_image",
                    "Metadata": {
                        "ImageID": "sha256:0f2a8e3c9b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f"
                    },
                    "Results": [{
                        "Target": "example/app:1.0 (alpine 3.19.1)",
                        "Class": "os-pkgs",
                        "Type": "alpine",
                        "Vulnerabilities": [{
                            "VulnerabilityID": "CVE-2024-0727",
                            "PkgName": "openssl",
                            "InstalledVersion": "3.1.4-r2",
                            "FixedVersion": "3.1.4-r4",
                            "Severity": "MEDIUM"
                        }]
                    }]
                }
            },
            "text/csv": { "schema": { "type": "string" } },
            "application/gzip": { "schema": { "type": "string", "format": "binary" } }
        }
    });
    let text = json!({ "type": "string" });
    doc["paths"]["/api/v1/trends/charts/{chart}"]["get"]["responses"]["200"] = contents(
        "The chart as SVG, or (format=csv) the numbers behind it",
        &[("image/svg+xml", text.clone()), ("text/csv", text.clone())],
    );
    doc["paths"]["/api/v1/vulnerabilities/export"]["get"]["responses"]["200"] = contents(
        "Every matching finding: CSV (default) or one JSON array",
        &[
            ("text/csv", text),
            (
                "application/json",
                json!({ "type": "array", "items": { "$ref": "#/components/schemas/VulnFindingView" } }),
            ),
        ],
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_finds_its_target() {
        let mut doc: serde_json::Value =
            serde_json::from_str(&crate::api::openapi_document()).unwrap();
        // Idempotent: applying the rules again changes nothing.
        let once = doc.clone();
        super::tighten(&mut doc);
        assert_eq!(doc, once);
    }
}
