//! Daily posture snapshots: taken by the `snapshots` job (today's is retaken through the
//! day), stored, and read back as trends. A day the server did not run is filled in from
//! the findings' lifecycle timestamps (first seen, fixed at) the next time the job runs.
//! Such a backfilled day cannot know what was suppressed then: findings suppressed now
//! are left out of it, and it has no scan coverage.
//!
//! Each snapshot describes a [`Scope`]: the whole estate, one host or one team. A host's
//! or a team's numbers count the findings of the images it has or had (a host: pulled or
//! run; a team: run by its containers).

use crate::store::query::{bind_all, Arg};

use crate::store::{Store, StoreError, StoreResult};
use crate::with_db;
use coastguard_model::trends::{SlaPolicy, Snapshot, TrendScope, Trends, WeekFlow};
use coastguard_model::{Severity, SeverityCounts};
use futures::TryStreamExt;
use std::collections::HashMap;
use time::Date;

pub const DAY: i64 = 86_400;

/// `YYYY-MM-DD` of a Unix day start.
pub fn day_name(start: i64) -> String {
    coastguard_model::format_day(start)
}

/// The Unix start of a `YYYY-MM-DD` day.
pub fn parse_day(s: &str) -> Option<i64> {
    // Exactly `YYYY-MM-DD`, as the API documents it (not `+2026-1-5`).
    let shape = s.len() == 10
        && s.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
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

pub use crate::store::Scope;

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    day: String,
    open_critical: i64,
    open_high: i64,
    open_medium: i64,
    open_low: i64,
    open_unknown: i64,
    open_negligible: i64,
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
    "day, open_critical, open_high, open_medium, open_low, open_unknown, open_negligible, new_findings, \
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
                negligible: self.open_negligible,
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
    /// Computes the snapshot of `scope` for the day starting at `start`, as of `now` when
    /// the day is not over yet, and stores it (replacing an earlier one of that day).
    pub async fn take_snapshot(
        &self,
        scope: &Scope,
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
        let arg = scope.arg();
        let open_sql = format!(
            "SELECT severity_rank, COUNT(*) FROM findings WHERE first_seen_at <= $1 \
             AND (fixed_at IS NULL OR fixed_at > $1) AND state <> 'suppressed'{} GROUP BY severity_rank",
            scope.images(2)
        );
        let new_sql = format!(
            "SELECT COUNT(*) FROM findings WHERE first_seen_at >= $1 AND first_seen_at <= $2{}",
            scope.images(3)
        );
        let fixed_sql = format!(
            "SELECT severity_rank, COUNT(*), CAST(COALESCE(SUM(fixed_at - first_seen_at), 0) AS BIGINT) FROM findings \
             WHERE fixed_at >= $1 AND fixed_at <= $2 AND state = 'fixed'{} GROUP BY severity_rank",
            scope.images(3)
        );
        let still_open = if today {
            "state = 'open'"
        } else {
            "first_seen_at <= $1 AND (fixed_at IS NULL OR fixed_at > $1) AND state <> 'suppressed'"
        };
        let breach_sql = format!(
            "SELECT COUNT(*) FROM findings WHERE {still_open} AND first_seen_at < \
             CASE severity_rank WHEN 4 THEN $2 WHEN 3 THEN $3 WHEN 2 THEN $4 ELSE $5 END{}",
            scope.images(6)
        );
        let (open_rows, new_findings, fixed_rows, breaches) = with_db!(&self.db, |pool| {
            // Today's open counts come from the per-image counts below.
            let open_rows: Vec<(i64, i64)> = if today {
                Vec::new()
            } else {
                bind_all!(sqlx::query_as(&open_sql).bind(at), arg.iter())
                    .fetch_all(pool)
                    .await?
            };
            let new_findings: i64 = bind_all!(
                sqlx::query_scalar(&new_sql).bind(start).bind(at),
                arg.iter()
            )
            .fetch_one(pool)
            .await?;
            let fixed_rows: Vec<(i64, i64, i64)> =
                bind_all!(sqlx::query_as(&fixed_sql).bind(start).bind(at), arg.iter())
                    .fetch_all(pool)
                    .await?;
            let breaches: i64 = bind_all!(
                sqlx::query_scalar(&breach_sql)
                    .bind(at)
                    .bind(cut(Severity::Critical))
                    .bind(cut(Severity::High))
                    .bind(cut(Severity::Medium))
                    .bind(cut(Severity::Low)),
                arg.iter()
            )
            .fetch_one(pool)
            .await?;
            Ok::<_, sqlx::Error>((open_rows, new_findings, fixed_rows, breaches))
        })?;
        for (rank, n) in open_rows {
            snap.open.add(Severity::from_rank(rank), n);
        }
        snap.new_findings = new_findings;
        for (rank, n, secs) in fixed_rows {
            snap.fixed_findings += n;
            let r = snap.remediation.get_mut(Severity::from_rank(rank));
            r.fixed += n;
            r.open_seconds += secs;
        }
        snap.sla_breaches = breaches;
        snap.open_alerts = self.open_alerts(scope, at).await?;
        if today {
            self.fill_current(scope, &mut snap, scan_max_age_days, now)
                .await?;
        }
        self.store_snapshot(scope, &snap).await?;
        Ok(snap)
    }

    /// Runtime alerts of `scope` open at `at`.
    async fn open_alerts(&self, scope: &Scope, at: i64) -> StoreResult<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM runtime_alerts WHERE {} AND at <= $1{}",
            crate::alerts::OPEN,
            scope.alerts(2)
        );
        Ok(with_db!(&self.db, |pool| bind_all!(
            sqlx::query_scalar(&sql).bind(at),
            scope.arg().iter()
        )
        .fetch_one(pool)
        .await)?)
    }

    /// What only today's snapshot knows, from the state now: open counts (the kept
    /// per-image counts), fixable and suppressed, scan coverage and the running images'
    /// verified share.
    async fn fill_current(
        &self,
        scope: &Scope,
        snap: &mut Snapshot,
        scan_max_age_days: i64,
        now: i64,
    ) -> StoreResult<()> {
        let (open, fixable, suppressed) = self.vuln_counts(scope).await?;
        snap.open = open;
        snap.fixable_open = Some(fixable);
        snap.suppressed = Some(suppressed);
        let c = self.coverage_in(scope, scan_max_age_days, now).await?;
        snap.scan_coverage =
            (c.running_images > 0).then(|| c.scanned as f64 / c.running_images as f64);
        snap.signed_share = self.signature_coverage_in(scope).await?.verified_share();
        Ok(())
    }

    async fn store_snapshot(&self, scope: &Scope, s: &Snapshot) -> StoreResult<()> {
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
             open_alerts, extra, taken_at, open_negligible) \
             VALUES ($1, $15, $16, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $17) \
             ON CONFLICT (day, scope_kind, scope_key) DO UPDATE SET open_critical = excluded.open_critical, \
             open_high = excluded.open_high, open_medium = excluded.open_medium, open_low = excluded.open_low, \
             open_unknown = excluded.open_unknown, open_negligible = excluded.open_negligible, new_findings = excluded.new_findings, \
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
        .bind(scope.kind())
        .bind(scope.key())
        .bind(s.open.negligible)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Takes today's snapshot of `scope` and fills in every day since its last stored one
    /// (at most `backfill_days` back, and not before the scope's first finding). Returns
    /// how many days it wrote.
    pub async fn take_due_snapshots(
        &self,
        scope: &Scope,
        sla: &SlaPolicy,
        scan_max_age_days: i64,
        backfill_days: i64,
        now: i64,
    ) -> StoreResult<usize> {
        let written = self.backfill_due(scope, sla, backfill_days, now).await?;
        self.take_snapshot(scope, day_start(now), sla, scan_max_age_days, now)
            .await?;
        Ok(written + 1)
    }

    /// Fills in every past day of `scope` since its last stored snapshot (at most
    /// `backfill_days` back, not before its first finding). Returns how many it wrote.
    pub async fn backfill_due(
        &self,
        scope: &Scope,
        sla: &SlaPolicy,
        backfill_days: i64,
        now: i64,
    ) -> StoreResult<usize> {
        let today = day_start(now);
        let arg = scope.arg();
        let first_sql = format!(
            "SELECT MIN(first_seen_at) FROM findings WHERE TRUE{}",
            scope.images(1)
        );
        let (last, first_seen): (Option<String>, Option<i64>) = with_db!(&self.db, |pool| {
            let last = sqlx::query_scalar(
                "SELECT MAX(day) FROM posture_snapshots WHERE scope_kind = $1 AND scope_key = $2",
            )
            .bind(scope.kind())
            .bind(scope.key())
            .fetch_one(pool)
            .await?;
            let first: Option<i64> = bind_all!(sqlx::query_scalar(&first_sql), arg.iter())
                .fetch_one(pool)
                .await?;
            Ok::<_, sqlx::Error>((last, first))
        })?;
        let mut from = match last.as_deref().and_then(parse_day) {
            Some(d) => d + DAY,
            None => first_seen.map(day_start).unwrap_or(today),
        };
        from = from.max(today - backfill_days * DAY);
        self.backfill(scope, from, today, sla, now).await
    }

    /// Today's snapshot of every scope given, as [`Store::take_snapshot`] takes it for
    /// one, with the findings read once for all of them: each finding that is open, new
    /// today or fixed today adds itself to every scope its image belongs to. Per scope
    /// that took five queries over its images' findings (10 s for 60 scopes at a million
    /// findings on Postgres).
    pub async fn take_todays(
        &self,
        scopes: &[Scope],
        sla: &SlaPolicy,
        scan_max_age_days: i64,
        now: i64,
    ) -> StoreResult<Vec<Snapshot>> {
        let start = day_start(now);
        let mut snaps: Vec<Snapshot> = scopes
            .iter()
            .map(|_| Snapshot {
                day: day_name(start),
                taken_at: now,
                ..Snapshot::default()
            })
            .collect();
        // Which scopes each image belongs to (the estate holds every image).
        let mut global = Vec::new();
        let mut host_of: HashMap<i64, Vec<usize>> = HashMap::new();
        let mut team_of: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut cluster_of: HashMap<i64, Vec<usize>> = HashMap::new();
        let mut namespace_of: HashMap<i64, Vec<usize>> = HashMap::new();
        for (i, scope) in scopes.iter().enumerate() {
            match scope {
                Scope::Global => global.push(i),
                Scope::Host(id) => host_of.entry(*id).or_default().push(i),
                Scope::Team(t) => team_of.entry(t.as_str()).or_default().push(i),
                Scope::Cluster(id) => cluster_of.entry(*id).or_default().push(i),
                Scope::Namespace(id) => namespace_of.entry(*id).or_default().push(i),
            }
        }
        // Pods' images by cluster and by namespace, read only when such scopes are asked for.
        let kube = !cluster_of.is_empty() || !namespace_of.is_empty();
        let pod_images: Vec<(i64, i64, i64)> = if kube {
            with_db!(&self.db, |pool| sqlx::query_as(
                "SELECT DISTINCT p.cluster_id, ns.id, pc.image_id FROM pod_containers pc \
                 JOIN pods p ON p.id = pc.pod_id \
                 JOIN namespaces ns ON ns.cluster_id = p.cluster_id AND ns.name = p.namespace \
                 WHERE pc.image_id IS NOT NULL"
            )
            .fetch_all(pool)
            .await)?
        } else {
            Vec::new()
        };
        type Members = (Vec<(i64, i64)>, Vec<(String, i64)>);
        let (host_images, team_images): Members = with_db!(&self.db, |pool| {
            let hosts = sqlx::query_as(
                    "SELECT host_id, image_id FROM host_images \
                     UNION SELECT host_id, image_id FROM containers WHERE host_id IS NOT NULL AND image_id IS NOT NULL",
                )
                .fetch_all(pool)
                .await?;
            let teams = sqlx::query_as(
                    "SELECT DISTINCT team, image_id FROM containers WHERE team IS NOT NULL AND image_id IS NOT NULL",
                )
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((hosts, teams))
        })?;
        let mut scopes_of: HashMap<i64, Vec<usize>> = HashMap::new();
        for (host, image) in host_images {
            if let Some(list) = host_of.get(&host) {
                scopes_of.entry(image).or_default().extend(list);
            }
        }
        for (team, image) in team_images {
            if let Some(list) = team_of.get(team.as_str()) {
                scopes_of.entry(image).or_default().extend(list);
            }
        }
        // An image run in two namespaces of a cluster is the cluster's once.
        let mut cluster_images = std::collections::HashSet::new();
        for (cluster, namespace, image) in pod_images {
            if let Some(list) = namespace_of.get(&namespace) {
                scopes_of.entry(image).or_default().extend(list);
            }
            if let Some(list) = cluster_of.get(&cluster) {
                if cluster_images.insert((cluster, image)) {
                    scopes_of.entry(image).or_default().extend(list);
                }
            }
        }
        // Unknown severities take the low SLA (`SlaPolicy::days`), as the SQL's CASE does.
        let cut = |rank: i64| now - sla.days(Severity::from_rank(rank)) * DAY;
        let none: Vec<usize> = Vec::new();
        with_db!(&self.db, |pool| {
            let mut rows = sqlx::query_as::<_, (i64, i64, i64, Option<i64>, String)>(
                "SELECT image_id, severity_rank, first_seen_at, fixed_at, state FROM findings \
                 WHERE state = 'open' OR first_seen_at >= $1 OR fixed_at >= $1",
            )
            .bind(start)
            .fetch(pool);
            while let Some((image, rank, first_seen, fixed_at, state)) = rows.try_next().await? {
                let new = first_seen >= start && first_seen <= now;
                let fixed = match fixed_at {
                    Some(at) if state == "fixed" && at >= start && at <= now => Some(at),
                    _ => None,
                };
                let late = state == "open" && first_seen < cut(rank);
                if !new && fixed.is_none() && !late {
                    continue;
                }
                let members = scopes_of.get(&image).unwrap_or(&none);
                for &i in global.iter().chain(members) {
                    let snap = &mut snaps[i];
                    if new {
                        snap.new_findings += 1;
                    }
                    if let Some(at) = fixed {
                        snap.fixed_findings += 1;
                        let r = snap.remediation.get_mut(Severity::from_rank(rank));
                        r.fixed += 1;
                        r.open_seconds += at - first_seen;
                    }
                    if late {
                        snap.sla_breaches += 1;
                    }
                }
            }
            Ok::<_, sqlx::Error>(())
        })?;
        for (scope, snap) in scopes.iter().zip(snaps.iter_mut()) {
            snap.open_alerts = self.open_alerts(scope, now).await?;
            self.fill_current(scope, snap, scan_max_age_days, now)
                .await?;
            self.store_snapshot(scope, snap).await?;
        }
        Ok(snaps)
    }

    /// Past days of `scope` from day `from` up to (not including) day `until`, with the
    /// numbers [`Store::take_snapshot`] gives a past day, computed in one pass over the
    /// scope's findings (each adds itself to the days it was open, new, fixed or past its
    /// SLA) instead of a pass per day: 90 passes over a million findings took minutes.
    async fn backfill(
        &self,
        scope: &Scope,
        from: i64,
        until: i64,
        sla: &SlaPolicy,
        now: i64,
    ) -> StoreResult<usize> {
        let n = ((until - from) / DAY).max(0) as usize;
        if n == 0 {
            return Ok(0);
        }
        let mut days: Vec<Snapshot> = (0..n)
            .map(|i| Snapshot {
                day: day_name(from + i as i64 * DAY),
                taken_at: now,
                ..Snapshot::default()
            })
            .collect();
        // Per severity (in `Severity::DESCENDING` order), +1 where a finding starts counting
        // and −1 where it stops.
        let mut open = vec![[0i64; Severity::DESCENDING.len()]; n + 1];
        let mut breaching = vec![0i64; n + 1];
        let mut alerts = vec![0i64; n + 1];
        // Day index of a moment, clamped to 0..=n (n: after the range).
        let index = |t: i64| ((day_start(t) - from).div_euclid(DAY)).clamp(0, n as i64) as usize;
        let findings_sql = format!(
            "SELECT severity_rank, first_seen_at, fixed_at, state FROM findings WHERE first_seen_at < $1{}",
            scope.images(2)
        );
        let alerts_sql = format!(
            "SELECT at FROM runtime_alerts WHERE {} AND at < $1{}",
            crate::alerts::OPEN,
            scope.alerts(2)
        );
        let arg = scope.arg();
        with_db!(&self.db, |pool| {
            let mut rows = bind_all!(
                sqlx::query_as::<_, (i64, i64, Option<i64>, String)>(&findings_sql).bind(until),
                arg.iter()
            )
            .fetch(pool);
            while let Some((rank, first_seen, fixed_at, state)) = rows.try_next().await? {
                let severity = Severity::from_rank(rank);
                let slot = Severity::DESCENDING
                    .iter()
                    .position(|s| *s == severity)
                    .unwrap_or_default();
                // Open at the end of every day from the one it was first seen on until the
                // one it was fixed on (a day ends at its last second).
                let first = index(first_seen);
                let fixed = fixed_at.map_or(n, index);
                if state != "suppressed" && first < fixed {
                    open[first][slot] += 1;
                    open[fixed][slot] -= 1;
                    // Past its SLA at the end of day d once start(d) + DAY - 1 - SLA > first seen.
                    let due = first_seen + sla.days(severity) * DAY - DAY + 2;
                    let late = index(due + DAY - 1).max(first);
                    if late < fixed {
                        breaching[late] += 1;
                        breaching[fixed] -= 1;
                    }
                }
                if first_seen >= from && first < n {
                    days[first].new_findings += 1;
                }
                if let (Some(at), "fixed") = (fixed_at, state.as_str()) {
                    if at >= from && index(at) < n {
                        let d = &mut days[index(at)];
                        d.fixed_findings += 1;
                        let r = d.remediation.get_mut(severity);
                        r.fixed += 1;
                        r.open_seconds += at - first_seen;
                    }
                }
            }
            drop(rows);
            let mut rows = bind_all!(
                sqlx::query_scalar::<_, i64>(&alerts_sql).bind(until),
                arg.iter()
            )
            .fetch(pool);
            while let Some(at) = rows.try_next().await? {
                alerts[index(at)] += 1;
            }
            Ok::<_, sqlx::Error>(())
        })?;
        let (mut running, mut late, mut alerting) = ([0i64; Severity::DESCENDING.len()], 0, 0);
        for (i, d) in days.iter_mut().enumerate() {
            for (slot, total) in running.iter_mut().enumerate() {
                *total += open[i][slot];
                d.open.add(Severity::DESCENDING[slot], *total);
            }
            late += breaching[i];
            alerting += alerts[i];
            d.sla_breaches = late;
            d.open_alerts = alerting;
        }
        for d in &days {
            self.store_snapshot(scope, d).await?;
        }
        Ok(n)
    }

    /// The scopes that get snapshots: the whole estate, every host that is not gone,
    /// every team label on a container that is not gone, and every Kubernetes cluster and
    /// namespace that is not gone, with names people read.
    pub async fn trend_scopes(&self) -> StoreResult<Vec<TrendScope>> {
        type Named = Vec<(i64, String)>;
        let (clusters, namespaces): (Named, Named) = with_db!(&self.db, |pool| {
            let clusters = sqlx::query_as("SELECT id, name FROM clusters ORDER BY name, id")
                .fetch_all(pool)
                .await?;
            let namespaces = sqlx::query_as(
                "SELECT ns.id, k.name || '/' || ns.name FROM namespaces ns JOIN clusters k ON k.id = ns.cluster_id \
                 WHERE ns.gone_at IS NULL ORDER BY k.name, ns.name, ns.id",
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((clusters, namespaces))
        })?;
        let (hosts, teams): (Vec<(i64, String)>, Vec<String>) = with_db!(&self.db, |pool| {
            let hosts = sqlx::query_as(
                "SELECT id, name FROM hosts WHERE status <> 'gone' ORDER BY name, id",
            )
            .fetch_all(pool)
            .await?;
            let teams = sqlx::query_scalar(
                "SELECT DISTINCT team FROM containers WHERE team IS NOT NULL AND gone_at IS NULL ORDER BY team",
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((hosts, teams))
        })?;
        let mut scopes = vec![TrendScope::default()];
        scopes.extend(hosts.into_iter().map(|(id, name)| TrendScope {
            kind: "host".into(),
            key: id.to_string(),
            label: format!("Host {name}"),
        }));
        scopes.extend(teams.into_iter().map(|team| TrendScope {
            kind: "team".into(),
            label: format!("Team {team}"),
            key: team,
        }));
        scopes.extend(clusters.into_iter().map(|(id, name)| TrendScope {
            kind: "cluster".into(),
            key: id.to_string(),
            label: format!("Cluster {name}"),
        }));
        scopes.extend(namespaces.into_iter().map(|(id, name)| TrendScope {
            kind: "namespace".into(),
            key: id.to_string(),
            label: format!("Namespace {name}"),
        }));
        Ok(scopes)
    }

    /// Stored snapshots of `scope` from `from` to `to` (inclusive day starts), with weekly
    /// flows and remediation times over the range.
    pub async fn trends(
        &self,
        scope: &Scope,
        from: i64,
        to: i64,
        sla: SlaPolicy,
    ) -> StoreResult<Trends> {
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
             WHERE scope_kind = $3 AND scope_key = $4 AND day >= $1 AND day <= $2 ORDER BY day"
        ))
        .bind(day_name(from))
        .bind(day_name(to))
        .bind(scope.kind())
        .bind(scope.key())
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
            scope: TrendScope::default(),
            scopes: Vec::new(),
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
