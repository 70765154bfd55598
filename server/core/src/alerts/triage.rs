//! Triage of an alert group: new → acknowledged → resolved or false positive (a closed
//! group can be acknowledged again to reopen it), an assignee, comments. What one action
//! may change is decided here, in plain code; the store applies it in one commit with
//! its audit record and a row of the group's activity.

use coastguard_model::alerts::{AlertState, AlertTriage, MAX_COMMENT};

/// The group as an action finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub state: AlertState,
    pub assignee: Option<String>,
}

/// What one action changes: the state, the assignee (`Some(None)` unassigns), a comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub state: Option<AlertState>,
    pub assignee: Option<Option<String>>,
    pub comment: Option<String>,
}

/// Why an action was refused: bad input (422) or not possible from where the group is
/// (409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Invalid(&'static str, String),
    Conflict(String),
}

/// Whether a group may move from `from` to `to` (a different state).
pub fn may_move(from: AlertState, to: AlertState) -> Result<(), String> {
    use AlertState::*;
    match (from, to) {
        (_, New) => Err(format!(
            "a {} group does not go back to new; acknowledge it instead",
            label(from)
        )),
        (New, _) | (Acknowledged, _) => Ok(()),
        // Reopening, or a closed group's verdict corrected.
        (Resolved | FalsePositive, Acknowledged | Resolved | FalsePositive) => Ok(()),
    }
}

/// A state as people read it.
pub fn label(state: AlertState) -> &'static str {
    match state {
        AlertState::New => "new",
        AlertState::Acknowledged => "acknowledged",
        AlertState::Resolved => "resolved",
        AlertState::FalsePositive => "false positive",
    }
}

/// Decides what `t` changes on a group as `current` is. `actor` is the acting user's
/// name when a person acts: acknowledging an unassigned group assigns it to them.
pub fn plan(current: &Current, t: &AlertTriage, actor: Option<&str>) -> Result<Change, Refusal> {
    let comment = match t.comment.as_deref().map(str::trim) {
        None => None,
        Some("") => return Err(Refusal::Invalid("comment", "the comment is empty".into())),
        Some(c)
            if c.chars().count() > MAX_COMMENT
                || c.chars()
                    .any(|ch| ch.is_control() && ch != '\n' && ch != '\t') =>
        {
            return Err(Refusal::Invalid(
                "comment",
                format!(
                    "a comment is at most {MAX_COMMENT} characters, without control characters"
                ),
            ))
        }
        Some(c) => Some(c.to_string()),
    };
    let state = match t.state {
        Some(to) if to != current.state => {
            may_move(current.state, to).map_err(Refusal::Conflict)?;
            Some(to)
        }
        _ => None,
    };
    if state == Some(AlertState::FalsePositive) && comment.is_none() {
        return Err(Refusal::Invalid(
            "comment",
            "a false positive needs a comment saying why".into(),
        ));
    }
    let mut assignee = match t.assignee.as_deref().map(str::trim) {
        None => None,
        Some("") => current.assignee.is_some().then_some(None),
        Some(name) => (current.assignee.as_deref() != Some(name)).then(|| Some(name.to_string())),
    };
    if state == Some(AlertState::Acknowledged) && current.assignee.is_none() && t.assignee.is_none()
    {
        assignee = actor.map(|a| Some(a.to_string()));
    }
    if state.is_none() && assignee.is_none() && comment.is_none() {
        return Err(match t.state {
            Some(s) => Refusal::Conflict(format!("the group is already {}", label(s))),
            None if t.assignee.is_some() => {
                Refusal::Conflict("the group already has that assignee".into())
            }
            None => Refusal::Invalid(
                "body",
                "nothing to do: give a state, an assignee or a comment".into(),
            ),
        });
    }
    Ok(Change {
        state,
        assignee,
        comment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlertState::*;

    fn at(state: AlertState, assignee: Option<&str>) -> Current {
        Current {
            state,
            assignee: assignee.map(String::from),
        }
    }

    fn to(state: AlertState) -> AlertTriage {
        AlertTriage {
            state: Some(state),
            ..AlertTriage::default()
        }
    }

    #[test]
    fn groups_move_forward_and_reopen_by_acknowledging() {
        for from in AlertState::ALL {
            assert!(may_move(from, New).is_err(), "{from:?} → new");
        }
        assert!(may_move(New, Acknowledged).is_ok());
        assert!(may_move(New, Resolved).is_ok());
        assert!(may_move(Acknowledged, FalsePositive).is_ok());
        assert!(may_move(Resolved, Acknowledged).is_ok(), "reopen");
        assert!(
            may_move(FalsePositive, Resolved).is_ok(),
            "verdict corrected"
        );
        let refused = plan(&at(Acknowledged, None), &to(New), None).unwrap_err();
        assert!(matches!(refused, Refusal::Conflict(m) if m.contains("back to new")));
    }

    #[test]
    fn acknowledging_an_unassigned_group_assigns_it_to_whoever_acknowledged() {
        let c = plan(&at(New, None), &to(Acknowledged), Some("ana")).unwrap();
        assert_eq!(c.state, Some(Acknowledged));
        assert_eq!(c.assignee, Some(Some("ana".into())));
        // A token acknowledging assigns nobody; an assigned group keeps its assignee.
        assert_eq!(
            plan(&at(New, None), &to(Acknowledged), None)
                .unwrap()
                .assignee,
            None
        );
        let kept = plan(&at(New, Some("bo")), &to(Acknowledged), Some("ana")).unwrap();
        assert_eq!(kept.assignee, None);
        // An explicit unassign wins over the implicit assignment.
        let t = AlertTriage {
            assignee: Some(String::new()),
            ..to(Acknowledged)
        };
        assert_eq!(
            plan(&at(New, None), &t, Some("ana")).unwrap().assignee,
            None
        );
    }

    #[test]
    fn a_false_positive_says_why() {
        let refused = plan(&at(New, None), &to(FalsePositive), Some("ana")).unwrap_err();
        assert!(matches!(refused, Refusal::Invalid("comment", _)));
        let t = AlertTriage {
            comment: Some("  the backup job's own shell  ".into()),
            ..to(FalsePositive)
        };
        let c = plan(&at(New, None), &t, Some("ana")).unwrap();
        assert_eq!(c.comment.as_deref(), Some("the backup job's own shell"));
        assert_eq!(c.state, Some(FalsePositive));
    }

    #[test]
    fn an_action_that_changes_nothing_is_refused() {
        assert!(matches!(
            plan(&at(Acknowledged, None), &to(Acknowledged), Some("ana")),
            Err(Refusal::Conflict(m)) if m.contains("already acknowledged")
        ));
        let same = AlertTriage {
            assignee: Some("bo".into()),
            ..AlertTriage::default()
        };
        assert!(matches!(
            plan(&at(New, Some("bo")), &same, None),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            plan(&at(New, None), &AlertTriage::default(), None),
            Err(Refusal::Invalid("body", _))
        ));
        // Unassigning an unassigned group, with a comment: only the comment.
        let t = AlertTriage {
            assignee: Some(" ".into()),
            comment: Some("looking".into()),
            ..AlertTriage::default()
        };
        let c = plan(&at(New, None), &t, None).unwrap();
        assert_eq!(
            c,
            Change {
                comment: Some("looking".into()),
                ..Change::default()
            }
        );
        let unassign = AlertTriage {
            assignee: Some(String::new()),
            ..AlertTriage::default()
        };
        assert_eq!(
            plan(&at(New, Some("bo")), &unassign, None)
                .unwrap()
                .assignee,
            Some(None)
        );
    }

    #[test]
    fn comments_are_bounded() {
        for bad in ["   ", "a\u{7}b"] {
            let t = AlertTriage {
                comment: Some(bad.into()),
                ..AlertTriage::default()
            };
            assert!(matches!(
                plan(&at(New, None), &t, None),
                Err(Refusal::Invalid("comment", _))
            ));
        }
        let long = AlertTriage {
            comment: Some("x".repeat(MAX_COMMENT + 1)),
            ..AlertTriage::default()
        };
        assert!(plan(&at(New, None), &long, None).is_err());
        let lines = AlertTriage {
            comment: Some("first\nsecond\tline".into()),
            ..AlertTriage::default()
        };
        assert!(plan(&at(New, None), &lines, None).is_ok());
    }
}
