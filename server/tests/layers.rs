//! The direction of dependencies (docs/architecture.md, "Layers"): a module may use
//! what sits below it, never what sits above. This reads every source file of
//! `coastguard-core` and of this crate and fails on each `crate::…` path that points
//! upwards, naming the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `coastguard-core`, bottom first. Capabilities (layer 3) are ordered too: one may use
/// those before it (Kubernetes and scans read Docker's registry rules; signatures read
/// registries; risk and posture read them all).
const CORE: &[(&str, u32)] = &[
    ("db", 0),
    ("lifecycle", 0),
    ("store", 1),
    ("auth", 2),
    ("error", 2),
    ("config", 2),
    ("sessions", 2),
    ("access", 2),
    ("live", 2),
    ("state", 2),
    ("workers", 29),
    ("docker", 30),
    ("kube", 31),
    ("scans", 32),
    ("exceptions", 33),
    ("registry", 34),
    ("signatures", 35),
    ("alerts", 29),
    ("risk", 36),
    ("posture", 37),
    ("charts", 38),
    ("notify", 39),
    ("demo", 4 * 10),
    ("jobs", 4 * 10),
    ("testing", 4 * 10),
];

/// Items of `coastguard-core`'s root, by the module they come from.
const CORE_ROOT: &[(&str, &str)] = &[
    ("with_db", "db"),
    ("with_tx", "db"),
    ("now", "lib"),
    ("pass_id", "lib"),
    ("validate_field", "lib"),
    ("Settings", "config"),
    ("Store", "store"),
    ("StoreError", "store"),
    ("Error", "error"),
    ("Result", "error"),
    ("AppState", "state"),
];

/// The `coastguard` crate: state below the REST handlers, below the router, below
/// start-up and the command line.
const SERVER: &[(&str, u32)] = &[
    ("state", 0),
    ("metrics", 0),
    ("api", 1),
    ("http", 2),
    ("startup", 3),
    ("cli", 3),
    ("demo", 3),
    ("audit", 3),
    ("check_pod", 3),
    ("verify_image", 3),
];

fn rank(layers: &[(&str, u32)], module: &str) -> Option<u32> {
    match module {
        "lib" => Some(0),
        _ => layers.iter().find(|(m, _)| *m == module).map(|(_, l)| *l),
    }
}

/// Top-level module of a file under `src`: `store/write.rs` → `store`, `lib.rs` → `lib`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first segments of every `crate::…` path in code (comments left out), with the
/// line: `crate::store::Write` → `store`, `use crate::{a, b::c}` → `a`, `b`.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.push((n + 1, name));
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

/// Every upward reference in the crate at `src`.
fn violations(src: &Path, layers: &[(&str, u32)], root: &[(&str, &str)]) -> (usize, Vec<String>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    let mut checked = 0;
    for file in &files {
        let from = module_of(src, file);
        let Some(from_rank) = rank(layers, &from).or_else(|| (from == "main").then_some(99)) else {
            found.push(format!("{}: module '{from}' has no layer", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, name) in crate_paths(&text) {
            checked += 1;
            let to = root
                .iter()
                .find(|(item, _)| *item == name)
                .map(|(_, m)| m.to_string())
                .unwrap_or(name);
            if to == from {
                continue;
            }
            match rank(layers, &to) {
                None => found.push(format!(
                    "{}:{line}: '{to}' has no layer (add it to the table)",
                    file.display()
                )),
                Some(to_rank) if to_rank > from_rank => found.push(format!(
                    "{}:{line}: {from} (layer {from_rank}) uses {to} (layer {to_rank}), which sits above it",
                    file.display()
                )),
                Some(_) => {}
            }
        }
    }
    (checked, found)
}

#[test]
fn no_module_uses_one_above_it() {
    // Another checkout's `server/` can be checked too (to count what an older tree did).
    let here = std::env::var_os("COASTGUARD_LAYERS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut all = Vec::new();
    // At least as many paths as the crates held when this was written: a check that
    // reads nothing (a moved folder) fails instead of passing.
    for (src, layers, root, least) in [
        (here.join("core/src"), CORE, CORE_ROOT, 150),
        (here.join("src"), SERVER, &[][..], 20),
    ] {
        let (checked, found) = violations(&src, layers, root);
        assert!(
            checked >= least,
            "{}: only {checked} paths read",
            src.display()
        );
        all.extend(found);
    }
    assert!(all.is_empty(), "upward dependencies:\n{}", all.join("\n"));
}

#[test]
fn the_check_sees_an_upward_use_and_lets_a_downward_one_pass() {
    let dir = std::env::temp_dir().join(format!("coastguard-layers-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("store")).unwrap();
    std::fs::write(
        src.join("store/write.rs"),
        "use crate::db::Tx;\n// crate::docker in a comment is no use\nuse crate::{lifecycle, docker::store::Row};\n",
    )
    .unwrap();
    std::fs::write(
        src.join("docker.rs"),
        "use crate::store::Write;\nuse crate::Store;\n",
    )
    .unwrap();
    let (checked, found) = violations(&src, CORE, CORE_ROOT);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(checked, 5);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("write.rs:3: store (layer 1) uses docker (layer 30)"),
        "{found:?}"
    );
    let counted: BTreeMap<usize, String> = crate_paths("x(crate::a::b, crate::{c, d})")
        .into_iter()
        .enumerate()
        .map(|(i, (_, n))| (i, n))
        .collect();
    assert_eq!(counted.into_values().collect::<Vec<_>>(), ["a", "c", "d"]);
}
