//! Pods in manifests: YAML or JSON files with one or more documents, `List`s, and
//! workloads whose pod template is what the admission plugin judges.

use serde_json::Value;

/// A pod (or a workload's pod template) found in a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestPod<'a> {
    /// 1-based, counting the documents of the file that hold anything.
    pub document: usize,
    pub kind: String,
    pub name: String,
    /// `metadata` and `spec` of the pod or of the template.
    pub pod: super::PodView<'a>,
}

/// A document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub document: usize,
    pub message: String,
}

/// The documents of a file, each parsed (YAML is a superset of JSON, so both read here).
/// Empty documents (only blank lines and comments) are not counted.
pub fn documents(text: &str) -> Vec<Result<(usize, Value), Unreadable>> {
    let mut out = Vec::new();
    let mut number = 0;
    for (first_line, chunk) in split(text) {
        let has_content = chunk.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        });
        if !has_content {
            continue;
        }
        number += 1;
        match serde_saphyr::from_str::<Value>(&chunk) {
            Ok(Value::Null) => {}
            Ok(value) => out.push(Ok((number, value))),
            Err(e) => out.push(Err(Unreadable {
                document: number,
                message: format!(
                    "not valid YAML or JSON (the document starts at line {first_line}): {}",
                    first_line_of(&e.to_string())
                ),
            })),
        }
    }
    out
}

fn first_line_of(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Splits at YAML document markers (`---` at the start of a line, `...` ends one).
fn split(text: &str) -> Vec<(usize, String)> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let marker = |m: &str| {
            line == m
                || line
                    .strip_prefix(m)
                    .is_some_and(|rest| rest.starts_with([' ', '\t']))
        };
        if marker("---") {
            chunks.push((start, std::mem::take(&mut current)));
            start = i + 1;
            // `--- {…}`: content may follow the marker on the same line.
            let rest = line[3..].trim_start();
            if !rest.is_empty() && !rest.starts_with('#') {
                current.push_str(rest);
                current.push('\n');
            }
        } else if marker("...") {
            chunks.push((start, std::mem::take(&mut current)));
            start = i + 2;
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    chunks.push((start, current));
    chunks
}

/// The workload kinds whose `spec.template` is a pod template.
const TEMPLATED: [&str; 6] = [
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "ReplicationController",
];

/// The pods of one parsed document: a Pod, a PodTemplate, a workload's template, the
/// items of a List (recursively). Other kinds (Services, ConfigMaps…) hold no pod.
/// A document that is not an object, or names no `kind`, is unreadable.
pub fn pods(document: usize, value: &Value) -> Result<Vec<ManifestPod<'_>>, Unreadable> {
    let mut found = Vec::new();
    collect(document, value, None, &mut found, 0)?;
    Ok(found)
}

/// `implied`: the kind of a typed list's items (`PodList` → `Pod`), which the API
/// server leaves out of each item.
fn collect<'a>(
    document: usize,
    value: &'a Value,
    implied: Option<&'a str>,
    found: &mut Vec<ManifestPod<'a>>,
    depth: usize,
) -> Result<(), Unreadable> {
    let unreadable = |message: &str| Unreadable {
        document,
        message: message.to_string(),
    };
    if !value.is_object() {
        return Err(unreadable("is not an object"));
    }
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .or(implied)
        .ok_or_else(|| unreadable("has no kind"))?;
    let name = value
        .get("metadata")
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let template = match kind {
        "Pod" => Some(value),
        "PodTemplate" => value.get("template"),
        "CronJob" => value
            .pointer("/spec/jobTemplate/spec/template")
            .filter(|t| !t.is_null()),
        k if TEMPLATED.contains(&k) => value.pointer("/spec/template").filter(|t| !t.is_null()),
        k if k == "List" || k.ends_with("List") => {
            if depth > 8 {
                return Err(unreadable("nests lists more than 8 deep"));
            }
            let item_kind = k.strip_suffix("List").filter(|k| !k.is_empty());
            for item in value
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                collect(document, item, item_kind, found, depth + 1)?;
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    let Some(template) = template else {
        return Err(unreadable(&format!("{kind} {name:?} has no pod template")));
    };
    found.push(ManifestPod {
        document,
        kind: kind.to_string(),
        name,
        pod: super::PodView::of(template),
    });
    Ok(())
}
