//! Exploit intelligence imports at full size, on SQLite and Postgres: FIRST's daily EPSS
//! file (250,000 CVEs) and CISA's KEV catalog (1,500 CVEs) over a store that knows 20,000
//! vulnerabilities (each with its CVE alias), through the same parser and store code as
//! an upload. Times the parse and the import separately, and the peak memory; writes
//! docs/benchmarks.md. Asserts what was stored, no timing.

mod common;

use coastguard_core::scans::feeds::{FeedRecord, IntelImport};
use coastguard_core::scans::intel::{parse_epss, parse_kev, Feed};
use coastguard_core::store::AuditRecord;
use coastguard_core::with_db;
use common::{dispose, env_usize, fresh, ms, reset_hwm, vm_hwm_kib, vm_rss_kib, write_section};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const KNOWN: usize = 20_000;
const KEV: usize = 1_500;

/// An EPSS file in FIRST's layout; every tenth CVE in it is one the store knows.
fn epss_file(rows: usize) -> Vec<u8> {
    let mut s = String::from(
        "#model_version:v2025.03.14,score_date:2026-11-24T00:00:00Z\ncve,epss,percentile\n",
    );
    for i in 0..rows {
        let _ = writeln!(
            s,
            "CVE-2099-{:06},{:.5},{:.5}",
            i,
            (i % 1000) as f64 / 1000.0,
            (i % 997) as f64 / 997.0
        );
    }
    s.into_bytes()
}

fn kev_file(rows: usize) -> Vec<u8> {
    let entries: Vec<String> = (0..rows)
        .map(|i| {
            format!(
                r#"{{"cveID": "CVE-2099-{:06}", "vendorProject": "v", "product": "p", "vulnerabilityName": "n",
                "dateAdded": "2026-01-01", "shortDescription": "", "requiredAction": "", "dueDate": "2026-01-22",
                "knownRansomwareCampaignUse": "Unknown", "notes": "", "cwes": []}}"#,
                i * 7
            )
        })
        .collect();
    format!(
        r#"{{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.11.24",
        "dateReleased": "2026-11-24T00:00:00Z", "count": {rows}, "vulnerabilities": [{}]}}"#,
        entries.join(",")
    )
    .into_bytes()
}

struct Figures {
    backend: &'static str,
    epss_parse: Duration,
    epss_import: Duration,
    epss_again: Duration,
    kev_import: Duration,
    matched: (i64, i64),
    peak_mib: f64,
}

async fn run(backend: &'static str, rows: usize) -> Figures {
    let db = fresh(backend).await;
    let now = coastguard_core::now();
    // The store knows every tenth CVE of the file.
    with_db!(db.store.db(), |pool| {
        let ids: Vec<usize> = (0..KNOWN).map(|i| i * 10).collect();
        for chunk in ids.chunks(500) {
            let vals: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, 'medium', {now})", i + 1))
                .collect();
            let sql = format!(
                "INSERT INTO vulnerabilities (vuln_id, severity, updated_at) VALUES {}",
                vals.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for i in chunk {
                q = q.bind(format!("CVE-2099-{i:06}"));
            }
            q.execute(pool).await.unwrap();
        }
        sqlx::query(
            "INSERT INTO vulnerability_aliases (alias, vulnerability_id) SELECT vuln_id, id FROM vulnerabilities",
        )
        .execute(pool)
        .await
        .unwrap();
    });
    let epss = epss_file(rows);
    let kev = kev_file(KEV);

    // What production records with each import (ingest::import_feed builds the same).
    let record = |done: IntelImport| FeedRecord {
        setting_key: "intel.bench".into(),
        setting_value: format!("{{\"matched\": {}}}", done.matched),
        audit: AuditRecord {
            actor_kind: "cli",
            actor_id: None,
            actor_name: "bench".into(),
            action: "scan.ingest",
            target: None,
            detail: None,
            ip: None,
        },
    };
    reset_hwm();
    let base = vm_rss_kib();
    let t = Instant::now();
    let Feed::Epss { scores, .. } = parse_epss(&epss).unwrap() else {
        panic!("epss")
    };
    let epss_parse = t.elapsed();
    let t = Instant::now();
    let done = db.store.import_epss(&scores, record, now).await.unwrap();
    let epss_import = t.elapsed();
    assert_eq!(done.matched as usize, KNOWN.min(rows / 10));
    let peak_mib = vm_hwm_kib().saturating_sub(base) as f64 / 1024.0;
    let t = Instant::now();
    let again = db.store.import_epss(&scores, record, now).await.unwrap();
    let epss_again = t.elapsed();
    assert_eq!(again.changed, 0, "the same day again changes nothing");

    let t = Instant::now();
    let Feed::Kev { entries, .. } = parse_kev(&kev).unwrap() else {
        panic!("kev")
    };
    let k = db.store.import_kev(&entries, record, now).await.unwrap();
    let kev_import = t.elapsed();
    // Every CVE-…(7i) with 7i a multiple of 10 is known: i a multiple of 10.
    assert_eq!(k.matched as usize, KEV.div_ceil(10));
    eprintln!(
        "{backend}: EPSS parse {} import {} again {}, KEV {}",
        ms(epss_parse),
        ms(epss_import),
        ms(epss_again),
        ms(kev_import)
    );
    dispose(db).await;
    Figures {
        backend,
        epss_parse,
        epss_import,
        epss_again,
        kev_import,
        matched: (done.matched, k.matched),
        peak_mib,
    }
}

#[tokio::main]
async fn main() {
    let rows = env_usize("CG_BENCH_EPSS_ROWS", 250_000);
    let mut all = Vec::new();
    for backend in ["SQLite", "Postgres"] {
        all.push(run(backend, rows).await);
    }
    let mut s = String::from("<!-- feeds:start -->\n");
    let _ = write!(
        s,
        "## Exploit intelligence feeds ({rows} EPSS scores, {KEV} KEV entries, {KNOWN} known vulnerabilities)\n\n\
Measured {} with `cargo bench -p coastguard-core --bench feeds` (optimised) on 2 cores. The store knows {KNOWN} vulnerabilities, \
each with its CVE as alias; the EPSS file (FIRST's layout) scores all of them among {rows} CVEs, the KEV catalog names \
{KEV} CVEs of which a tenth are known. Import = one transaction: the rows stored, then carried onto the vulnerabilities they name.\n\n\
| Backend | EPSS parse | EPSS import | Same file again | KEV parse + import | Named (EPSS / KEV) | Peak memory over the run (EPSS) |\n|---|---|---|---|---|---|---|\n",
        coastguard_model::format_timestamp(coastguard_core::now())
            .split(' ')
            .next()
            .unwrap_or_default()
    );
    for f in &all {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} / {} | +{:.0} MiB |",
            f.backend,
            ms(f.epss_parse),
            ms(f.epss_import),
            ms(f.epss_again),
            ms(f.kev_import),
            f.matched.0,
            f.matched.1,
            f.peak_mib
        );
    }
    s.push_str("<!-- feeds:end -->");
    write_section(&s, "feeds");
}
