//! The optional trace of one decision, for `rbac.explain` (docs/explain-and-decision-log.md).
//!
//! The gates record what they evaluate into a `Trace` as they decide, so the explanation and the decision come
//! from the same code path and cannot drift. An `off` trace holds no vector and never calls the closures that
//! build a step's text: `rbac_check` and `consume_quota` pay one branch per step, no allocation.
use crate::scope::Scope;

/// One evaluated step: the gate, what it looked at, whether it passed, and the data it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub gate: &'static str,
    pub subject: String,
    pub passed: bool,
    pub detail: String,
    /// For a budget step: the level whose numbers `rbac.explain` adds (spend, reserved, max_budget, reset).
    pub level: Option<(Scope, String, Option<String>)>,
}

/// Steps recorded so far, or nothing at all when tracing is off.
#[derive(Debug, Default)]
pub struct Trace(Option<Vec<Step>>);

impl Trace {
    /// No trace: every `step` call is a no-op.
    pub const fn off() -> Trace {
        Trace(None)
    }

    /// A trace that records every step.
    pub fn on() -> Trace {
        Trace(Some(Vec::new()))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Records a step; `subject` and `detail` are only evaluated when tracing.
    #[inline]
    pub fn step(
        &mut self,
        gate: &'static str,
        passed: bool,
        subject: impl FnOnce() -> String,
        detail: impl FnOnce() -> String,
    ) {
        if let Some(steps) = &mut self.0 {
            steps.push(Step {
                gate,
                subject: subject(),
                passed,
                detail: detail(),
                level: None,
            });
        }
    }

    /// Records a budget step for one level (its numbers are added by `rbac.explain`).
    #[inline]
    pub fn budget_step(
        &mut self,
        passed: bool,
        level: impl FnOnce() -> (Scope, String, Option<String>),
        detail: impl FnOnce() -> String,
    ) {
        if let Some(steps) = &mut self.0 {
            let (scope, id, user_id) = level();
            let subject = match &user_id {
                Some(user) => format!("{} {id}/{user}", scope.name()),
                None => format!("{} {id}", scope.name()),
            };
            steps.push(Step {
                gate: "budget",
                subject,
                passed,
                detail: detail(),
                level: Some((scope, id, user_id)),
            });
        }
    }

    pub fn into_steps(self) -> Vec<Step> {
        self.0.unwrap_or_default()
    }
}

/// A model or route list for a step's text: at most eight entries, then how many more.
pub fn show_list(list: &[String]) -> String {
    if list.is_empty() {
        return "[] (empty)".into();
    }
    let shown: Vec<&str> = list.iter().take(8).map(String::as_str).collect();
    match list.len() {
        n if n <= 8 => format!("[{}]", shown.join(", ")),
        n => format!("[{}, … {} more]", shown.join(", "), n - 8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_records_nothing_and_builds_no_text() {
        let mut t = Trace::off();
        t.step("x", true, || unreachable!(), || unreachable!());
        t.budget_step(true, || unreachable!(), || unreachable!());
        assert!(!t.is_on());
        assert!(t.into_steps().is_empty());
    }

    #[test]
    fn on_records_in_order() {
        let mut t = Trace::on();
        t.step("blocked", true, || "key".into(), || "not blocked".into());
        t.budget_step(
            false,
            || (Scope::TeamMember, "t1".into(), Some("u1".into())),
            || "exhausted".into(),
        );
        let steps = t.into_steps();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].subject, "team_member t1/u1");
        assert!(!steps[1].passed);
        assert_eq!(show_list(&[]), "[] (empty)");
        let long: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        assert!(show_list(&long).ends_with("… 2 more]"));
    }
}
