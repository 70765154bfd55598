//! The life of a finding, decided once for every source.
//!
//! A source (a Docker pass, scan coverage, a scanner's report, and the sources to come)
//! evaluates a set of subjects and says what it found on them now. [`plan`] compares
//! that with what is stored for the same subjects and decides, finding by finding:
//!
//! | stored                         | found now      | becomes                          |
//! |--------------------------------|----------------|----------------------------------|
//! | —                              | yes            | new, open                        |
//! | resolved                       | yes            | reopened, open                   |
//! | accepted, acceptance ran out   | yes            | open again (back from acceptance)|
//! | open / accepted / suppressed   | yes, changed   | updated, state kept              |
//! | open / accepted / suppressed   | yes, same      | unchanged (`last_seen_at` hourly)|
//! | not resolved                   | no (complete)  | resolved, unless another source  |
//! |                                |                | still vouches for it             |
//! | anything                       | no (partial)   | left alone                       |
//!
//! Suppressions are rules over findings (by vulnerability, image, package), applied by
//! their own pass in the same transaction; a suppressed finding found again stays
//! suppressed here. Acceptances belong to one finding and carry their end, so their
//! expiry is decided here.
//!
//! Pure: no database, no clock (`now` is an argument). The store reads what is stored,
//! calls [`plan`] and applies the [`Plan`] in batches.

use std::collections::HashMap;
use std::hash::Hash;

/// A finding's `last_seen_at` is kept to within this many seconds: rewriting every
/// unchanged finding on every pass would cost more than the precision is worth.
pub const LAST_SEEN_GRANULARITY: i64 = 3600;

/// Where a stored finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Open,
    /// Risk accepted by someone, until a time or for good.
    Accepted {
        until: Option<i64>,
    },
    /// A suppression rule matches it (see the module's text).
    Suppressed,
    /// Resolved (configuration) or fixed (vulnerability).
    Resolved,
}

impl Held {
    /// The stored words: `open`, `accepted`, `suppressed`, and `resolved` or `fixed`.
    pub fn from_stored(state: &str, accepted_until: Option<i64>) -> Held {
        match state {
            "accepted" => Held::Accepted {
                until: accepted_until,
            },
            "suppressed" => Held::Suppressed,
            "resolved" | "fixed" => Held::Resolved,
            _ => Held::Open,
        }
    }
}

/// One stored finding of the evaluated subjects: its row id, its identity, where it
/// stands, what it said, and when it was last seen.
#[derive(Debug, Clone)]
pub struct Stored<K, C> {
    pub id: i64,
    pub key: K,
    pub held: Held,
    pub content: C,
    pub last_seen_at: i64,
    /// Another source still reports it (a second scanner of the same image): not
    /// resolved when this one stops reporting it.
    pub vouched_elsewhere: bool,
}

/// What evaluating the subjects again means for the stored findings not found now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// The source evaluated everything it reports on for these subjects (a full sync, a
    /// full scan): what it did not find is gone.
    Complete,
    /// Only part was looked at (one event): what was not found is left alone.
    Partial,
}

/// What happens to one finding found again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// It was resolved; it is open again (`reopened_at`, and a count for vulnerabilities).
    Reopened,
    /// Its acceptance ran out; it is open again.
    AcceptanceExpired,
    /// Same state, new content (severity, evidence, versions).
    Changed,
}

/// A stored finding to rewrite with what was found now.
#[derive(Debug, Clone, PartialEq)]
pub struct Refresh<C> {
    pub id: i64,
    pub content: C,
    pub transition: Transition,
}

/// The decision for one evaluation, applied by the store in batches.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<K, C> {
    /// Found for the first time.
    pub insert: Vec<(K, C)>,
    /// Found again and to be rewritten.
    pub refresh: Vec<Refresh<C>>,
    /// Found again unchanged and last seen longer ago than the granularity.
    pub touch: Vec<i64>,
    /// Found again, stored: every id, rewritten or not (a scanner's "I saw it" mark).
    pub seen: Vec<i64>,
    /// Not found now (complete evaluations only): every id, resolved or not.
    pub unseen: Vec<i64>,
    /// Not found now and not vouched for elsewhere: to resolve.
    pub resolve: Vec<i64>,
    /// Found again with nothing to rewrite.
    pub unchanged: usize,
}

impl<K, C> Plan<K, C> {
    pub fn count(&self, t: Transition) -> usize {
        self.refresh.iter().filter(|r| r.transition == t).count()
    }

    /// Whether applying the plan changes any finding's state or content (scores then
    /// need recomputing).
    pub fn changes_findings(&self) -> bool {
        !(self.insert.is_empty() && self.refresh.is_empty() && self.resolve.is_empty())
    }
}

/// Decides what becomes of each finding (see the module's table). `found` may name a
/// finding twice; the first wins. The result keeps the order of `found`.
pub fn plan<K, C>(
    stored: impl IntoIterator<Item = Stored<K, C>>,
    found: impl IntoIterator<Item = (K, C)>,
    extent: Extent,
    now: i64,
) -> Plan<K, C>
where
    K: Eq + Hash + Clone,
    C: PartialEq,
{
    let mut stored: HashMap<K, Stored<K, C>> =
        stored.into_iter().map(|s| (s.key.clone(), s)).collect();
    let mut plan = Plan {
        insert: Vec::new(),
        refresh: Vec::new(),
        touch: Vec::new(),
        seen: Vec::new(),
        unseen: Vec::new(),
        resolve: Vec::new(),
        unchanged: 0,
    };
    let mut handled: std::collections::HashSet<K> = std::collections::HashSet::new();
    for (key, content) in found {
        if !handled.insert(key.clone()) {
            continue;
        }
        let Some(old) = stored.remove(&key) else {
            plan.insert.push((key, content));
            continue;
        };
        plan.seen.push(old.id);
        let transition = match old.held {
            Held::Resolved => Some(Transition::Reopened),
            Held::Accepted { until: Some(u) } if u <= now => Some(Transition::AcceptanceExpired),
            _ if old.content != content => Some(Transition::Changed),
            _ => None,
        };
        match transition {
            Some(transition) => plan.refresh.push(Refresh {
                id: old.id,
                content,
                transition,
            }),
            None => {
                plan.unchanged += 1;
                if old.last_seen_at < now - LAST_SEEN_GRANULARITY {
                    plan.touch.push(old.id);
                }
            }
        }
    }
    if extent == Extent::Complete {
        let mut gone: Vec<Stored<K, C>> = stored.into_values().collect();
        gone.sort_by_key(|s| s.id);
        for s in gone {
            plan.unseen.push(s.id);
            if s.held != Held::Resolved && !s.vouched_elsewhere {
                plan.resolve.push(s.id);
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn stored(
        id: i64,
        key: &'static str,
        held: Held,
        content: &'static str,
    ) -> Stored<&'static str, &'static str> {
        Stored {
            id,
            key,
            held,
            content,
            last_seen_at: NOW - 10,
            vouched_elsewhere: false,
        }
    }

    fn one(
        s: Stored<&'static str, &'static str>,
        found: &'static str,
    ) -> Plan<&'static str, &'static str> {
        plan([s], [("a", found)], Extent::Complete, NOW)
    }

    #[test]
    fn a_finding_never_stored_is_new() {
        let p = plan(Vec::new(), [("a", "x"), ("b", "y")], Extent::Complete, NOW);
        assert_eq!(p.insert, vec![("a", "x"), ("b", "y")]);
        assert!(p.refresh.is_empty() && p.resolve.is_empty() && p.seen.is_empty());
        assert!(p.changes_findings());
    }

    #[test]
    fn a_resolved_finding_found_again_reopens_with_what_was_found() {
        let p = one(stored(7, "a", Held::Resolved, "x"), "x");
        assert_eq!(
            p.refresh,
            vec![Refresh {
                id: 7,
                content: "x",
                transition: Transition::Reopened
            }]
        );
        assert_eq!(p.count(Transition::Reopened), 1);
        assert_eq!(p.seen, vec![7]);
    }

    #[test]
    fn an_acceptance_that_ran_out_opens_the_finding_again() {
        for until in [NOW, NOW - 1] {
            let p = one(
                stored(7, "a", Held::Accepted { until: Some(until) }, "x"),
                "x",
            );
            assert_eq!(p.count(Transition::AcceptanceExpired), 1, "until {until}");
        }
    }

    #[test]
    fn an_acceptance_still_running_or_for_good_holds() {
        for until in [Some(NOW + 1), None] {
            let p = one(stored(7, "a", Held::Accepted { until }, "x"), "x");
            assert!(p.refresh.is_empty(), "until {until:?}");
            assert_eq!(p.unchanged, 1);
            assert!(!p.changes_findings());
        }
    }

    #[test]
    fn new_content_updates_and_keeps_the_state() {
        for held in [Held::Open, Held::Suppressed, Held::Accepted { until: None }] {
            let p = one(stored(7, "a", held, "x"), "y");
            assert_eq!(
                p.refresh,
                vec![Refresh {
                    id: 7,
                    content: "y",
                    transition: Transition::Changed
                }],
                "{held:?}"
            );
        }
    }

    #[test]
    fn unchanged_findings_are_touched_at_most_hourly() {
        let recent = one(stored(7, "a", Held::Open, "x"), "x");
        assert!(recent.touch.is_empty() && recent.refresh.is_empty());
        assert_eq!((recent.unchanged, recent.seen.clone()), (1, vec![7]));
        let mut old = stored(7, "a", Held::Open, "x");
        old.last_seen_at = NOW - LAST_SEEN_GRANULARITY - 1;
        assert_eq!(one(old, "x").touch, vec![7]);
        let mut edge = stored(7, "a", Held::Open, "x");
        edge.last_seen_at = NOW - LAST_SEEN_GRANULARITY;
        assert!(one(edge, "x").touch.is_empty());
    }

    #[test]
    fn what_a_complete_evaluation_did_not_find_is_resolved() {
        let p = plan(
            [
                stored(1, "gone", Held::Open, "x"),
                stored(2, "also-gone", Held::Accepted { until: None }, "x"),
                stored(3, "already", Held::Resolved, "x"),
                stored(4, "kept", Held::Open, "x"),
            ],
            [("kept", "x")],
            Extent::Complete,
            NOW,
        );
        assert_eq!(p.resolve, vec![1, 2]);
        assert_eq!(p.unseen, vec![1, 2, 3]);
        assert_eq!(p.seen, vec![4]);
    }

    #[test]
    fn a_finding_another_source_vouches_for_stays() {
        let mut s = stored(1, "a", Held::Open, "x");
        s.vouched_elsewhere = true;
        let p = plan([s], Vec::new(), Extent::Complete, NOW);
        assert_eq!((p.unseen, p.resolve), (vec![1], vec![]));
    }

    #[test]
    fn a_partial_evaluation_resolves_nothing() {
        let p = plan(
            [stored(1, "gone", Held::Open, "x")],
            Vec::new(),
            Extent::Partial,
            NOW,
        );
        assert!(p.resolve.is_empty() && p.unseen.is_empty());
        assert!(!p.changes_findings());
    }

    #[test]
    fn a_finding_named_twice_counts_once_and_the_first_wins() {
        let p = plan(
            Vec::new(),
            [("a", "first"), ("a", "second")],
            Extent::Complete,
            NOW,
        );
        assert_eq!(p.insert, vec![("a", "first")]);
        let p = plan(
            [stored(7, "a", Held::Open, "x")],
            [("a", "x"), ("a", "y")],
            Extent::Complete,
            NOW,
        );
        assert!(p.refresh.is_empty());
        assert_eq!(p.seen, vec![7]);
    }

    #[test]
    fn stored_words_map_onto_states() {
        assert_eq!(Held::from_stored("fixed", None), Held::Resolved);
        assert_eq!(Held::from_stored("resolved", None), Held::Resolved);
        assert_eq!(Held::from_stored("suppressed", None), Held::Suppressed);
        assert_eq!(
            Held::from_stored("accepted", Some(5)),
            Held::Accepted { until: Some(5) }
        );
        assert_eq!(Held::from_stored("open", Some(5)), Held::Open);
    }
}
