//! Exploit intelligence feeds, taken through the same door as scan reports: CISA's
//! Known Exploited Vulnerabilities catalog (its JSON feed) and FIRST's daily EPSS scores
//! (the CSV, gzipped or not). Either marks the vulnerabilities it names wherever they
//! are found, now and in reports that arrive later; risk scores weigh them.

use super::ParseError;
use serde::Deserialize;

/// A parsed feed.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    /// The whole KEV catalog: every CVE in it is known to be exploited.
    Kev {
        /// `catalogVersion` (e.g. `2026.11.24`).
        version: Option<String>,
        entries: Vec<KevEntry>,
    },
    /// EPSS scores: the probability (0–1) of exploitation in the next 30 days.
    Epss {
        /// `model_version` and `score_date` from the file's first line.
        model: Option<String>,
        score_date: Option<String>,
        scores: Vec<EpssScore>,
    },
}

impl Feed {
    pub fn kind(&self) -> &'static str {
        match self {
            Feed::Kev { .. } => "kev",
            Feed::Epss { .. } => "epss",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Feed::Kev { entries, .. } => entries.len(),
            Feed::Epss { scores, .. } => scores.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the feed says of itself: its catalog version or its model and score date.
    pub fn version(&self) -> Option<String> {
        match self {
            Feed::Kev { version, .. } => version.clone(),
            Feed::Epss {
                model, score_date, ..
            } => match (model, score_date) {
                (Some(m), Some(d)) => Some(format!("{m}, scores of {d}")),
                (Some(m), None) => Some(m.clone()),
                (None, Some(d)) => Some(format!("scores of {d}")),
                (None, None) => None,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KevEntry {
    pub cve: String,
    /// `dateAdded`, `YYYY-MM-DD`.
    pub date_added: Option<String>,
    /// `dueDate`: when US federal agencies must have remediated it.
    pub due_date: Option<String>,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpssScore {
    pub cve: String,
    pub epss: f64,
    pub percentile: f64,
}

/// `CVE-YYYY-NNNN…`, upper case.
pub fn is_cve(id: &str) -> bool {
    let mut parts = id.splitn(3, '-');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("CVE"), Some(year), Some(number))
            if year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && number.len() >= 4
                && number.bytes().all(|b| b.is_ascii_digit())
    )
}

#[derive(Deserialize)]
struct KevCatalog {
    #[serde(rename = "catalogVersion")]
    catalog_version: Option<String>,
    vulnerabilities: Vec<KevRow>,
}

#[derive(Deserialize)]
struct KevRow {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(rename = "dateAdded", default)]
    date_added: Option<String>,
    #[serde(rename = "dueDate", default)]
    due_date: Option<String>,
    #[serde(rename = "knownRansomwareCampaignUse", default)]
    ransomware: Option<String>,
}

/// The KEV catalog's JSON feed (`known_exploited_vulnerabilities.json`).
pub fn parse_kev(bytes: &[u8]) -> Result<Feed, ParseError> {
    let catalog: KevCatalog = super::from_json(bytes, "KEV catalog")?;
    let mut entries = Vec::with_capacity(catalog.vulnerabilities.len());
    for (i, row) in catalog.vulnerabilities.into_iter().enumerate() {
        let cve = row.cve_id.trim().to_ascii_uppercase();
        if !is_cve(&cve) {
            return Err(ParseError::at(
                format!("vulnerabilities[{i}].cveID"),
                format!("'{}' is not a CVE id", row.cve_id),
            ));
        }
        entries.push(KevEntry {
            cve,
            date_added: row.date_added.filter(|d| !d.is_empty()),
            due_date: row.due_date.filter(|d| !d.is_empty()),
            ransomware: row
                .ransomware
                .is_some_and(|r| r.eq_ignore_ascii_case("known")),
        });
    }
    if entries.is_empty() {
        return Err(ParseError::at(
            "vulnerabilities",
            "the KEV catalog lists no vulnerabilities",
        ));
    }
    let entries = last_per_cve(entries, |e| &e.cve);
    Ok(Feed::Kev {
        version: catalog.catalog_version,
        entries,
    })
}

/// A CVE listed twice (in any case) counts once, as its last line says: one statement
/// may not write a row twice on Postgres.
fn last_per_cve<T>(rows: Vec<T>, cve: impl Fn(&T) -> &String) -> Vec<T> {
    let mut last: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        last.insert(cve(row).clone(), i);
    }
    if last.len() == rows.len() {
        return rows;
    }
    rows.into_iter()
        .enumerate()
        .filter(|(i, row)| last.get(cve(row)) == Some(i))
        .map(|(_, row)| row)
        .collect()
}

/// Whether a document is an EPSS CSV: its metadata line comes first, or a header with
/// `cve` and `epss` columns (in any order).
pub fn looks_like_epss(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = start.trim_ascii_start();
    if start.starts_with(b"#model_version") {
        return true;
    }
    let first = start.split(|b| *b == b'\n').next().unwrap_or_default();
    let columns: Vec<String> = String::from_utf8_lossy(first)
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    columns.iter().any(|c| c == "cve") && columns.iter().any(|c| c == "epss")
}

/// FIRST's EPSS CSV: `#model_version:…,score_date:…`, then `cve,epss,percentile`, then
/// one row per CVE.
pub fn parse_epss(bytes: &[u8]) -> Result<Feed, ParseError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ParseError::new(format!("the EPSS file is not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (mut model, mut score_date) = (None, None);
    let mut columns: Option<(usize, usize, usize)> = None;
    let mut scores = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = || format!("line {}", n + 1);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(meta) = line.strip_prefix('#') {
            for pair in meta.split(',') {
                match pair.split_once(':') {
                    Some(("model_version", v)) => model = Some(v.trim().to_string()),
                    Some(("score_date", v)) => score_date = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some((cve_at, epss_at, pct_at)) = columns else {
            let find = |name: &str| cells.iter().position(|c| c.eq_ignore_ascii_case(name));
            match (find("cve"), find("epss"), find("percentile")) {
                (Some(c), Some(e), Some(p)) => columns = Some((c, e, p)),
                _ => {
                    return Err(ParseError::at(
                        at(),
                        "expected the header cve,epss,percentile",
                    ))
                }
            }
            continue;
        };
        let cell = |i: usize| cells.get(i).copied().unwrap_or("");
        let cve = cell(cve_at).to_ascii_uppercase();
        if !is_cve(&cve) {
            return Err(ParseError::at(
                at(),
                format!("'{}' is not a CVE id", cell(cve_at)),
            ));
        }
        let probability = |i: usize, name: &str| -> Result<f64, ParseError> {
            match cell(i).parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
                _ => Err(ParseError::at(
                    at(),
                    format!("{name} '{}' is not a number from 0 to 1", cell(i)),
                )),
            }
        };
        scores.push(EpssScore {
            epss: probability(epss_at, "epss")?,
            percentile: probability(pct_at, "percentile")?,
            cve,
        });
    }
    if columns.is_none() {
        return Err(ParseError::new(
            "the EPSS file has no header (cve,epss,percentile)",
        ));
    }
    if scores.is_empty() {
        return Err(ParseError::new("the EPSS file holds no scores"));
    }
    let scores = last_per_cve(scores, |s| &s.cve);
    Ok(Feed::Epss {
        model,
        score_date,
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids() {
        assert!(is_cve("CVE-2021-44228"));
        assert!(is_cve("CVE-2024-1234567"));
        assert!(!is_cve("CVE-21-44228"));
        assert!(!is_cve("CVE-2021-123"));
        assert!(!is_cve("GHSA-jfh8-c2jp-5v3q"));
        assert!(!is_cve("CVE-2021-44228x"));
    }

    const KEV: &str = r#"{
      "title": "CISA Catalog of Known Exploited Vulnerabilities",
      "catalogVersion": "2026.11.24",
      "dateReleased": "2026-11-24T17:01:12.4396Z",
      "count": 2,
      "vulnerabilities": [
        {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
         "vulnerabilityName": "Apache Log4j2 Remote Code Execution Vulnerability",
         "dateAdded": "2021-12-10", "shortDescription": "JNDI features ...",
         "requiredAction": "Apply updates per vendor instructions.", "dueDate": "2021-12-24",
         "knownRansomwareCampaignUse": "Known", "notes": "", "cwes": ["CWE-20"]},
        {"cveID": "cve-2019-1549", "vendorProject": "OpenSSL", "product": "OpenSSL",
         "vulnerabilityName": "made up for the test", "dateAdded": "2026-01-02",
         "shortDescription": "", "requiredAction": "", "dueDate": "",
         "knownRansomwareCampaignUse": "Unknown", "notes": "", "cwes": []}
      ]
    }"#;

    #[test]
    fn a_kev_catalog_parses() {
        let feed = parse_kev(KEV.as_bytes()).unwrap();
        assert_eq!(feed.kind(), "kev");
        assert_eq!(feed.version().as_deref(), Some("2026.11.24"));
        let Feed::Kev { entries, .. } = feed else {
            panic!("kev")
        };
        assert_eq!(
            entries,
            vec![
                KevEntry {
                    cve: "CVE-2021-44228".into(),
                    date_added: Some("2021-12-10".into()),
                    due_date: Some("2021-12-24".into()),
                    ransomware: true,
                },
                KevEntry {
                    cve: "CVE-2019-1549".into(),
                    date_added: Some("2026-01-02".into()),
                    due_date: None,
                    ransomware: false,
                },
            ]
        );
    }

    #[test]
    fn a_bad_kev_catalog_says_where() {
        let bad = KEV.replace("CVE-2021-44228", "LOG4SHELL");
        let e = parse_kev(bad.as_bytes()).unwrap_err();
        assert_eq!(e.location.as_deref(), Some("vulnerabilities[0].cveID"));
        assert!(e.message.contains("LOG4SHELL"), "{}", e.message);
        let e = parse_kev(br#"{"catalogVersion": "1", "vulnerabilities": []}"#).unwrap_err();
        assert_eq!(e.location.as_deref(), Some("vulnerabilities"));
    }

    const EPSS: &str = "#model_version:v2025.03.14,score_date:2026-11-24T12:55:00Z\n\
cve,epss,percentile\n\
CVE-2021-44228,0.94358,0.99953\n\
CVE-2019-1549,0.00215,0.44012\n";

    #[test]
    fn an_epss_file_parses() {
        assert!(looks_like_epss(EPSS.as_bytes()));
        assert!(looks_like_epss(b"\xEF\xBB\xBFcve,epss,percentile\n"));
        assert!(!looks_like_epss(b"{\"matches\": []}"));
        assert!(looks_like_epss(b"percentile,cve,epss\n"));
        assert!(!looks_like_epss(b"cve,score\n"));
        let feed = parse_epss(EPSS.as_bytes()).unwrap();
        assert_eq!(
            feed.version().as_deref(),
            Some("v2025.03.14, scores of 2026-11-24T12:55:00Z")
        );
        let Feed::Epss { scores, .. } = feed else {
            panic!("epss")
        };
        assert_eq!(scores.len(), 2);
        assert_eq!(scores[0].cve, "CVE-2021-44228");
        assert!((scores[0].epss - 0.94358).abs() < 1e-9);
        assert!((scores[1].percentile - 0.44012).abs() < 1e-9);
        // Without the metadata line, with the columns in another order.
        let plain = "percentile,cve,epss\n0.5,CVE-2020-0001,0.1\n";
        let Feed::Epss { scores, model, .. } = parse_epss(plain.as_bytes()).unwrap() else {
            panic!("epss")
        };
        assert_eq!(model, None);
        assert_eq!(scores[0].cve, "CVE-2020-0001");
        assert!((scores[0].epss - 0.1).abs() < 1e-9);
    }

    #[test]
    fn a_bad_epss_file_says_which_line() {
        let bad = EPSS.replace("0.00215", "high");
        let e = parse_epss(bad.as_bytes()).unwrap_err();
        assert_eq!(e.location.as_deref(), Some("line 4"));
        assert!(e.message.contains("'high'"), "{}", e.message);
        let e = parse_epss(EPSS.replace("0.94358", "1.5").as_bytes()).unwrap_err();
        assert_eq!(e.location.as_deref(), Some("line 3"));
        let e = parse_epss(b"#model_version:v1\ncve,score\n").unwrap_err();
        assert_eq!(e.location.as_deref(), Some("line 2"));
        let e = parse_epss(b"cve,epss,percentile\n").unwrap_err();
        assert!(e.message.contains("no scores"));
    }

    #[test]
    fn a_cve_listed_twice_counts_once_as_last_said() {
        let twice = "cve,epss,percentile\nCVE-2020-0001,0.1,0.5\nCVE-2020-0002,0.2,0.6\ncve-2020-0001,0.3,0.7\n";
        let Feed::Epss { scores, .. } = parse_epss(twice.as_bytes()).unwrap() else {
            panic!("epss")
        };
        let got: Vec<(&str, f64)> = scores.iter().map(|s| (s.cve.as_str(), s.epss)).collect();
        assert_eq!(got, [("CVE-2020-0002", 0.2), ("CVE-2020-0001", 0.3)]);
        let kev = KEV.replace("cve-2019-1549", "CVE-2021-44228");
        let Feed::Kev { entries, .. } = parse_kev(kev.as_bytes()).unwrap() else {
            panic!("kev")
        };
        assert_eq!(entries.len(), 1);
        assert!(!entries[0].ransomware, "the last entry wins");
    }
}
