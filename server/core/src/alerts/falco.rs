//! Falco's JSON output (`json_output: true`, as `http_output` posts it and as
//! Falcosidekick's webhook forwards it) read into Coastguard's own event schema. Every
//! `output_fields` entry is kept as given; the ones that say where it happened are
//! also read out to match the inventory.

use coastguard_model::alerts::NewAlert;
use coastguard_model::Severity;
use serde_json::{Map, Value};

/// Falco's priorities, most severe first, onto Coastguard's severities.
pub fn severity(priority: &str) -> Option<Severity> {
    Some(match priority.to_ascii_lowercase().as_str() {
        "emergency" | "alert" | "critical" => Severity::Critical,
        "error" => Severity::High,
        "warning" => Severity::Medium,
        "notice" => Severity::Low,
        "informational" | "info" | "debug" => Severity::Negligible,
        _ => return None,
    })
}

fn text(event: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match event.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{key} is {other}, not text")),
    }
}

/// A field's value as text when it names something (Falco writes `<NA>` for none).
fn named(fields: &Map<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(s) if !s.is_empty() && s != "<NA>" => Some(s.clone()),
        _ => None,
    }
}

/// One Falco event (a JSON object) as an alert of source `falco`.
pub fn event(value: Value) -> Result<NewAlert, String> {
    let Value::Object(event) = value else {
        return Err("a Falco event is a JSON object".into());
    };
    let rule = text(&event, "rule")?.ok_or("no rule")?;
    let priority = text(&event, "priority")?.ok_or("no priority")?;
    let severity = severity(&priority).ok_or_else(|| {
        format!("priority {priority:?} is not Falco's (Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug)")
    })?;
    let output = text(&event, "output")?.ok_or("no output")?;
    let tags = match event.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tags)) => tags
            .iter()
            .map(|t| t.as_str().map(str::to_string).ok_or("tags are text"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("tags is not a list".into()),
    };
    let fields = match event.get("output_fields") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(f)) => f.clone(),
        Some(_) => return Err("output_fields is not an object".into()),
    };
    // Falco reports events outside any container as container "host".
    let container_id = named(&fields, "container.id").filter(|id| id != "host");
    let image = named(&fields, "container.image.repository").map(|repo| {
        match named(&fields, "container.image.tag") {
            Some(tag) => format!("{repo}:{tag}"),
            None => repo,
        }
    });
    let mut kept: std::collections::BTreeMap<String, Value> = fields.clone().into_iter().collect();
    if let Some(source) = text(&event, "source")? {
        kept.insert("source".into(), Value::String(source));
    }
    Ok(NewAlert {
        source: "falco".into(),
        rule,
        severity,
        output,
        time: text(&event, "time")?,
        hostname: text(&event, "hostname")?,
        container_id,
        image,
        image_digest: named(&fields, "container.image.digest"),
        namespace: named(&fields, "k8s.ns.name"),
        pod: named(&fields, "k8s.pod.name"),
        tags,
        fields: kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/runtime/falco/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn priorities_map_onto_severities_whatever_their_case() {
        assert_eq!(severity("CRITICAL"), Some(Severity::Critical));
        assert_eq!(severity("Emergency"), Some(Severity::Critical));
        assert_eq!(severity("error"), Some(Severity::High));
        assert_eq!(severity("Warning"), Some(Severity::Medium));
        assert_eq!(severity("notice"), Some(Severity::Low));
        assert_eq!(severity("Informational"), Some(Severity::Negligible));
        assert_eq!(severity("Debug"), Some(Severity::Negligible));
        assert_eq!(severity("urgent"), None);
    }

    #[test]
    fn a_shell_in_a_pod_names_its_container_pod_and_image() {
        let line = fixture("stream-all-events.jsonl")
            .lines()
            .find(|l| l.contains("Terminal shell in container"))
            .unwrap()
            .to_string();
        let a = event(serde_json::from_str(&line).unwrap()).unwrap();
        assert_eq!(a.rule, "Terminal shell in container");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.container_id.as_deref(), Some("ee97d9c4186f"));
        assert_eq!(a.namespace.as_deref(), Some("default"));
        assert_eq!(a.pod.as_deref(), Some("kubecon"));
        assert_eq!(a.image.as_deref(), Some("docker.io/library/alpine"));
        assert_eq!(a.hostname.as_deref(), Some("falco-xczjd"));
        assert_eq!(a.fields["proc.cmdline"], "sh -c clear; (bash || ash || sh)");
        assert_eq!(a.fields["user.loginuid"], -1);
        assert_eq!(a.fields["source"], "syscall");
        assert_eq!(a.tags, ["container", "mitre_execution", "shell"]);
    }

    #[test]
    fn every_event_of_the_fixtures_reads_or_says_why_not() {
        let mut read = 0;
        for line in fixture("stream-all-events.jsonl")
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(line).unwrap();
            match event(v) {
                Ok(a) => {
                    assert!(!a.rule.is_empty() && !a.output.is_empty(), "{line}");
                    read += 1;
                }
                Err(e) => panic!("{e}: {line}"),
            }
        }
        assert!(read >= 10, "{read} events");
        // Odd field names (dots, brackets, slashes) and values (numbers, null) are kept.
        for name in [
            "falcosidekick-test-weird-field-names.json",
            "falcosidekick-test-syscall-drop-numeric-values.json",
            "falcosidekick-test-syscall-drop-string-values.json",
            "falcosidekick-test-input.json",
        ] {
            let v: Value = serde_json::from_str(&fixture(name)).unwrap();
            let fields = v["output_fields"].as_object().cloned().unwrap_or_default();
            let a = event(v).unwrap_or_else(|e| panic!("{name}: {e}"));
            for (k, value) in fields {
                assert_eq!(a.fields[&k], value, "{name}: {k}");
            }
        }
        // Not an object, no rule, a priority Falco does not have.
        assert!(event(Value::Array(vec![])).is_err());
        assert!(
            event(serde_json::json!({"priority": "Debug", "output": "x"}))
                .unwrap_err()
                .contains("rule")
        );
        assert!(
            event(serde_json::json!({"rule": "r", "priority": "Urgent", "output": "x"}))
                .unwrap_err()
                .contains("Urgent")
        );
    }
}
