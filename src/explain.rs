//! `rbac.explain`: every gate `rbac_check` evaluates for one request, in order, with the data it used, ending with
//! the decision (docs/explain-and-decision-log.md). The steps are recorded by the gates themselves while they
//! decide (`trace`), so the explanation cannot drift from the decision. Who may call it is decided by the public
//! function's implementation `rbac._explain` (sql/080_decisions.sql); this is its closed helper.
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

use crate::check;
use crate::role::Role;
use crate::scope::Scope;
use crate::spi_util;
use crate::trace::{Step, Trace};

/// The steps of `rbac_check(token, route, model, end_user_id)` as a jsonb array of
/// `{step, gate, subject, passed, detail}`, the last one the decision (gate `decision`, subject the reason,
/// passed = allowed, detail `http_status=… limit_scope=… …: message`). No budget reset is performed (the decision
/// is the same: a lapsed period counts as spend 0). Errors: 22023 as `rbac_check`. Closed to everyone but the
/// owner: `rbac.explain` checks the caller first.
#[pg_extern(volatile, name = "_explain_steps")]
pub fn explain_steps(
    token: Option<&str>,
    route: Option<&str>,
    model: Option<&str>,
    end_user_id: default!(Option<&str>, "NULL"),
) -> JsonB {
    let route = check::require_route(route);
    let end_user_id = check::require_end_user(end_user_id);
    let mut trace = Trace::on();
    let outcome = check::decide_traced(token, route, model, end_user_id, &mut trace);
    let mut steps = trace.into_steps();
    add_budget_numbers(&mut steps);
    let d = &outcome.decision;
    let none = "(none)";
    steps.push(Step {
        gate: "decision",
        subject: d.reason.code().to_string(),
        passed: d.allowed(),
        detail: format!(
            "http_status={} limit_scope={} user_id={} team_id={} organization_id={} role={}: {}",
            d.reason.http_status(),
            d.limit_scope.map_or(none, Scope::name),
            d.user_id.as_deref().unwrap_or(none),
            d.team_id.as_deref().unwrap_or(none),
            d.organization_id.as_deref().unwrap_or(none),
            d.role.map_or(none, Role::name),
            if d.message.is_empty() {
                "allowed"
            } else {
                &d.message
            }
        ),
        level: None,
    });
    let rows: Vec<Value> = steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            json!({"step": i + 1, "gate": s.gate, "subject": s.subject, "passed": s.passed, "detail": s.detail})
        })
        .collect();
    JsonB(Value::Array(rows))
}

/// Appends each budget step's numbers (spend, reserved, max_budget, period), read now from the level's row.
fn add_budget_numbers(steps: &mut [Step]) {
    Spi::connect(|client| {
        for step in steps.iter_mut() {
            let Some((scope, id, user_id)) = &step.level else {
                continue;
            };
            // a soft budget and a budget tier (sql/055_budgets.sql) are named only when set; the tier's values are
            // already the row's (budget_fields lists which)
            let sql = format!(
                "SELECT format('spend %s, reserved %s, max_budget %s, budget_duration %s, budget_reset_at %s', \
                 spend, reserved, coalesce(max_budget::text, 'none'), coalesce(budget_duration, 'none'), \
                 coalesce(budget_reset_at::text, 'none')) \
                 || coalesce(', soft_budget ' || soft_budget, '') \
                 || coalesce(', budget tier ' || (to_jsonb(x) ->> 'budget_id') || ' (gives ' || coalesce((SELECT \
                    string_agg(f, ', ') FROM jsonb_array_elements_text(to_jsonb(x) -> 'budget_fields') f), 'nothing') \
                    || ')', '') \
                 FROM rbac.{} x WHERE {}",
                scope.table(),
                scope.key_condition(1)
            );
            let arity = scope.key_columns().len();
            let args: Vec<_> = [Some(id.as_str()), user_id.as_deref()][..arity]
                .iter()
                .map(|v| (*v).into())
                .collect();
            let numbers: Option<String> = client
                .select(&sql, Some(1), &args)
                .and_then(|t| t.first().get(1))
                .unwrap_or_else(|e| spi_util::spi_failed(e));
            if let Some(numbers) = numbers {
                step.detail = format!("{}; {numbers}", step.detail);
            }
        }
    });
}
