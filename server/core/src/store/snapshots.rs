//! Daily posture snapshots: taken by the `snapshots` job (today's is retaken through the
//! day), stored, and read back as trends. A day the server did not run is filled in from
//! the findings' lifecycle timestamps (first seen, fixed at) the next time the job runs.
//! Such a backfilled day cannot know what was suppressed then: findings suppressed now
//! are left out of it, and it has no scan coverage.

use super::vulns::severity_of_rank;
use super::{Store, StoreError, StoreResult};
use crate::with_db;
use coastguard_model::trends::{SlaPolicy, Snapshot, Trends, WeekFlow};
use coastguard_model::{Severity, SeverityCounts};
use time::Date;

pub const DAY: i64 = 86_400;

/// `YYYY-MM-DD` of a Unix day start.
pub fn day_name(start: i64) -> String {
    coastguard_model::format_day(start)
}

/// The Unix start of a `YYYY-MM-DD` day.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: u8 = parts.next()?.parse().ok()?;
    let date = Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

pub fn day_start(t: i64) -> i64 {
    t - t.rem_euclid(DAY)
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    day: String,
    open_critical: i64,
    open_high: i64,
    open_medium: i64,
    open_low: i64,
    open_unknown: i64,
    new_findings: i64,
    fixed_findings: i64,
    sla_breaches: i64,
    scan_coverage: Option<f64>,
    signed_share: Option<f64>,
    open_alerts: i64,
    extra: Option<String>,
    taken_at: i64,
}

const SNAPSHOT_COLUMNS: &str =
    "day, open_critical, open_high, open_medium, open_low, open_unknown, new_findings, \
     fixed_findings, sla_breaches, scan_coverage, signed_share, open_alerts, extra, taken_at";

impl SnapshotRow {
    fn into_snapshot(self) -> Snapshot {
        let extra: serde_json::Value = self
            .extra
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or_default();
        Snapshot {
            day: self.day,
            open: SeverityCounts {
                critical: self.open_critical,
                high: self.open_high,
                medium: self.open_medium,
                low: self.open_low,
                unknown: self.open_unknown,
            },
            new_findings: self.new_findings,
            fixed_findings: self.fixed_findings,
            remediation: serde_json::from_value(extra["remediation"].clone()).unwrap_or_default(),
            sla_breaches: self.sla_breaches,
            scan_coverage: self.scan_coverage,
            signed_share: self.signed_share,
            open_alerts: self.open_alerts,
            fixable_open: extra["fixable_open"].as_i64(),
            suppressed: extra["suppressed"].as_i64(),
            taken_at: self.taken_at,
        }
    }
}

impl Store {
    /// Computes the global snapshot of the day starting at `start`, as of `now` when the
    /// day is not over yet, and stores it (replacing an earlier one of that day).
    pub async fn take_snapshot(
        &self,
        start: i64,
        sla: &SlaPolicy,
        scan_max_age_days: i64,
        now: i64,
    ) -> StoreResult<Snapshot> {
        let today = start == day_start(now);
        // The moment the snapshot describes: the end of the day, or now.
        let at = if today { now } else { start + DAY - 1 };
        let mut snap = Snapshot {
            day: day_name(start),
            taken_at: now,
            ..Snapshot::default()
        };
        let cut = |s: Severity| at - sla.days(s) * DAY;
        let (open_rows, new_findings, fixed_rows, breaches, alerts) = with_db!(&self.db, |pool| {
            // Today's open counts come from the per-image counts below.
            let open_rows: Vec<(i64, i64)> = if today {
                Vec::new()
            } else {
                sqlx::query_as(
                    "SELECT severity_rank, COUNT(*) FROM findings WHERE first_seen_at <= $1 \
                     AND (fixed_at IS NULL OR fixed_at > $1) AND state <> 'suppressed' GROUP BY severity_rank",
                )
                .bind(at)
                .fetch_all(pool)
                .await?
            };
            let new_findings: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM findings WHERE first_seen_at >= $1 AND first_seen_at <= $2",
            )
            .bind(start)
            .bind(at)
            .fetch_one(pool)
            .await?;
            let fixed_rows: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT severity_rank, COUNT(*), CAST(COALESCE(SUM(fixed_at - first_seen_at), 0) AS BIGINT) FROM findings \
                 WHERE fixed_at >= $1 AND fixed_at <= $2 AND state = 'fixed' GROUP BY severity_rank",
            )
            .bind(start)
            .bind(at)
            .fetch_all(pool)
            .await?;
            let still_open = if today {
                "state = 'open'"
            } else {
                "first_seen_at <= $1 AND (fixed_at IS NULL OR fixed_at > $1) AND state <> 'suppressed'"
            };
            let breaches: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM findings WHERE {still_open} AND first_seen_at < \
                 CASE severity_rank WHEN 4 THEN $2 WHEN 3 THEN $3 WHEN 2 THEN $4 ELSE $5 END"
            ))
            .bind(at)
            .bind(cut(Severity::Critical))
            .bind(cut(Severity::High))
            .bind(cut(Severity::Medium))
            .bind(cut(Severity::Low))
            .fetch_one(pool)
            .await?;
            let alerts: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM runtime_alerts WHERE state = 'open' AND at <= $1",
            )
            .bind(at)
            .fetch_one(pool)
            .await?;
            Ok::<_, sqlx::Error>((open_rows, new_findings, fixed_rows, breaches, alerts))
        })?;
        for (rank, n) in open_rows {
            snap.open.add(severity_of_rank(rank), n);
        }
        snap.new_findings = new_findings;
        for (rank, n, secs) in fixed_rows {
            snap.fixed_findings += n;
            let r = snap.remediation.get_mut(severity_of_rank(rank));
            r.fixed += n;
            r.open_seconds += secs;
        }
        snap.sla_breaches = breaches;
        snap.open_alerts = alerts;
        if today {
            let (open, fixable, suppressed) = self.vuln_counts().await?;
            snap.open = open;
            snap.fixable_open = Some(fixable);
            snap.suppressed = Some(suppressed);
            let c = self.coverage(scan_max_age_days, now).await?;
            snap.scan_coverage =
                (c.running_images > 0).then(|| c.scanned as f64 / c.running_images as f64);
        }
        self.store_snapshot(&snap).await?;
        Ok(snap)
    }

    async fn store_snapshot(&self, s: &Snapshot) -> StoreResult<()> {
        let extra = serde_json::json!({
            "remediation": s.remediation,
            "fixable_open": s.fixable_open,
            "suppressed": s.suppressed,
        })
        .to_string();
        with_db!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO posture_snapshots (day, scope_kind, scope_key, open_critical, open_high, open_medium, \
             open_low, open_unknown, new_findings, fixed_findings, sla_breaches, scan_coverage, signed_share, \
             open_alerts, extra, taken_at) \
             VALUES ($1, 'global', '', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (day, scope_kind, scope_key) DO UPDATE SET open_critical = excluded.open_critical, \
             open_high = excluded.open_high, open_medium = excluded.open_medium, open_low = excluded.open_low, \
             open_unknown = excluded.open_unknown, new_findings = excluded.new_findings, \
             fixed_findings = excluded.fixed_findings, sla_breaches = excluded.sla_breaches, \
             scan_coverage = excluded.scan_coverage, signed_share = excluded.signed_share, \
             open_alerts = excluded.open_alerts, extra = excluded.extra, taken_at = excluded.taken_at"
        )
        .bind(&s.day)
        .bind(s.open.critical)
        .bind(s.open.high)
        .bind(s.open.medium)
        .bind(s.open.low)
        .bind(s.open.unknown)
        .bind(s.new_findings)
        .bind(s.fixed_findings)
        .bind(s.sla_breaches)
        .bind(s.scan_coverage)
        .bind(s.signed_share)
        .bind(s.open_alerts)
        .bind(&extra)
        .bind(s.taken_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Takes today's snapshot and fills in every day since the last stored one (at most
    /// `backfill_days` back, and not before the first finding). Returns how many days it
    /// wrote.
    pub async fn take_due_snapshots(
        &self,
        sla: &SlaPolicy,
        scan_max_age_days: i64,
        backfill_days: i64,
        now: i64,
    ) -> StoreResult<usize> {
        let today = day_start(now);
        let (last, first_seen): (Option<String>, Option<i64>) = with_db!(&self.db, |pool| {
            let last = sqlx::query_scalar(
                "SELECT MAX(day) FROM posture_snapshots WHERE scope_kind = 'global'",
            )
            .fetch_one(pool)
            .await?;
            let first: Option<i64> = sqlx::query_scalar("SELECT MIN(first_seen_at) FROM findings")
                .fetch_one(pool)
                .await?;
            Ok::<_, sqlx::Error>((last, first))
        })?;
        let mut from = match last.as_deref().and_then(parse_day) {
            Some(d) => d + DAY,
            None => first_seen.map(day_start).unwrap_or(today),
        };
        from = from.max(today - backfill_days * DAY);
        let mut written = 0;
        let mut day = from;
        while day < today {
            self.take_snapshot(day, sla, scan_max_age_days, now).await?;
            written += 1;
            day += DAY;
        }
        self.take_snapshot(today, sla, scan_max_age_days, now)
            .await?;
        Ok(written + 1)
    }

    /// Stored snapshots from `from` to `to` (inclusive day starts), with weekly flows and
    /// remediation times over the range.
    pub async fn trends(&self, from: i64, to: i64, sla: SlaPolicy) -> StoreResult<Trends> {
        if to < from {
            return Err(StoreError::Invalid(
                "from",
                "from must not be after to".into(),
            ));
        }
        if to - from > 3 * 366 * DAY {
            return Err(StoreError::Invalid(
                "from",
                "a range covers at most three years".into(),
            ));
        }
        let rows: Vec<SnapshotRow> = with_db!(&self.db, |pool| sqlx::query_as(&format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM posture_snapshots \
             WHERE scope_kind = 'global' AND day >= $1 AND day <= $2 ORDER BY day"
        ))
        .bind(day_name(from))
        .bind(day_name(to))
        .fetch_all(pool)
        .await)?;
        let days: Vec<Snapshot> = rows.into_iter().map(SnapshotRow::into_snapshot).collect();
        let mut weeks: Vec<WeekFlow> = Vec::new();
        for d in &days {
            let week = week_of(&d.day);
            match weeks.last_mut() {
                Some(w) if w.week == week => {
                    w.new_findings += d.new_findings;
                    w.fixed_findings += d.fixed_findings;
                }
                _ => weeks.push(WeekFlow {
                    week,
                    new_findings: d.new_findings,
                    fixed_findings: d.fixed_findings,
                }),
            }
        }
        let mttr_days = Severity::DESCENDING
            .into_iter()
            .map(|s| {
                let mut total = coastguard_model::trends::Remediation::default();
                for d in &days {
                    let r = d.remediation.get(s);
                    total.fixed += r.fixed;
                    total.open_seconds += r.open_seconds;
                }
                (s, total.mean_days())
            })
            .collect();
        Ok(Trends {
            from: day_name(from),
            to: day_name(to),
            days,
            weeks,
            mttr_days,
            sla,
        })
    }
}

/// The Monday of the week a `YYYY-MM-DD` day falls in (1970-01-01 was a Thursday).
pub fn week_of(day: &str) -> String {
    match parse_day(day) {
        Some(start) => day_name(start - (start.div_euclid(DAY) + 3).rem_euclid(7) * DAY),
        None => day.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_weeks() {
        assert_eq!(day_name(0), "1970-01-01");
        assert_eq!(parse_day("2026-11-25"), Some(1_795_564_800));
        assert_eq!(day_name(1_795_564_800), "2026-11-25");
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("yesterday"), None);
        assert_eq!(day_start(1_795_564_800 + 3600), 1_795_564_800);
        // 2026-11-25 is a Wednesday.
        assert_eq!(week_of("2026-11-25"), "2026-11-23");
        assert_eq!(week_of("2026-11-23"), "2026-11-23");
        assert_eq!(week_of("2026-11-29"), "2026-11-23");
        assert_eq!(week_of("2026-11-30"), "2026-11-30");
    }
}
