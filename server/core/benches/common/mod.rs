//! What the benchmarks share: memory readings from /proc, medians, and writing their
//! section of docs/benchmarks.md.

#![allow(dead_code)] // each benchmark uses its own part

use std::time::Duration;

/// Peak resident memory since the last reset, and a reset (Linux /proc).
pub fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Replaces the section between `<!-- NAME:start -->` and `<!-- NAME:end -->` in
/// docs/benchmarks.md, or appends it.
pub fn write_section(section: &str, name: &str) {
    let path = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo bench"),
    )
    .join("../../docs/benchmarks.md");
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(s), Some(e)) => format!("{}{section}{}", &current[..s], &current[e + end.len()..]),
        _ => format!("{}\n{section}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).expect("write docs/benchmarks.md");
}
