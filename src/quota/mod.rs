//! `rbac.consume_quota`: the decision of `rbac_check`, then exact admission against every rpm/tpm window,
//! parallel lease and budget (docs/semantics.md §10). The limits come from the principal's cached policy; the admission
//! (`admission`) is a short sequence of prepared, row-locked statements. `settle`, `release` and expiry are SQL
//! (`sql/020_quota.sql`).
pub mod admission;

use pgrx::prelude::*;
use pgrx::AnyNumeric;

use crate::check;
use crate::context::Context;
use crate::decision::{composite, Decision};
use crate::decision_log;
use crate::scope::{RateScope, Scope};
use crate::spi_util;
use admission::{Admission, AdmissionPlan, RateWindow, Request};

/// The largest token estimate one request may carry (10^12). Estimates come from clients (`max_tokens`): an
/// unbounded one, counted first in a shared window, would overflow every later request's arithmetic.
pub const MAX_TOKENS_PER_REQUEST: i64 = 1_000_000_000_000;

/// The rate-window subject of a compound scope (team member, model per key/team/organization): the first id's
/// length, then both ids. Ids may contain `:` (model `llama3:8b`, team `t2:llama3`), so plain joining would let
/// two different pairs share one window; the length prefix makes every pair its own subject.
pub fn compound_subject(first: &str, second: &str) -> String {
    format!("{}:{first}:{second}", first.len())
}

/// Admits or refuses one request.
///
/// * `token`, `route`, `model`, `end_user_id`: as `rbac.rbac_check` (which runs first; a denial is returned
///   with its reason and nothing is consumed).
/// * `requests`: requests to count in the rpm windows (default 1, >= 0).
/// * `tokens`: estimated tokens (prompt + expected completion) to count in the tpm windows (default 0, 0..=10^12);
///   `rbac.settle` corrects them to the actual count.
/// * `cost`: USD to reserve against every budget level (default 0, finite, >= 0).
///
/// Returns `rbac.quota`: allowed, http_status (200, a `rbac_check` status, or 429), reason (`ok`, a
/// `rbac_check` reason, `rate_limit_exceeded`, `parallel_limit_exceeded`, `budget_exceeded`), limit_scope (key,
/// user, team, team_member, organization, end_user, model_per_key, model_per_team, model_per_organization),
/// reservation_id (for `rbac.settle` / `rbac.release`), remaining_requests / remaining_tokens in the tightest
/// window, reset_at (end of that 60-second window), retry_after_seconds (on a 429), message, and on an admission
/// limit_requests / limit_tokens (the rpm / tpm limit of the window each `remaining_*` is counted in).
/// All-or-nothing and exact under concurrency; rolled back with the caller's transaction. Errors: `22023` for a
/// NULL/empty route, negative/non-finite amounts, tokens above 10^12 or an end_user_id above 1024 characters. LiteLLM: the v3 parallel-request limiter and budget
/// reservation (docs/semantics.md §9–§10), without their races.
#[pg_extern(volatile, security_definer, requires = ["quota_schema"])]
pub fn consume_quota(
    token: Option<&str>,
    route: Option<&str>,
    model: Option<&str>,
    requests: default!(Option<i32>, 1),
    tokens: default!(Option<i64>, 0),
    cost: default!(Option<AnyNumeric>, 0),
    end_user_id: default!(Option<&str>, "NULL"),
) -> pgrx::composite_type!('static, "quota") {
    let route = check::require_route(route);
    let requests = i64::from(requests.unwrap_or(1));
    let tokens = tokens.unwrap_or(0);
    let cost = cost.unwrap_or_else(|| AnyNumeric::from(0));
    if requests < 0 || tokens < 0 {
        spi_util::invalid_parameter("requests and tokens must be >= 0");
    }
    if tokens > MAX_TOKENS_PER_REQUEST {
        spi_util::invalid_parameter(format!(
            "tokens must be at most {MAX_TOKENS_PER_REQUEST} (got {tokens})"
        ));
    }
    let end_user_id = check::require_end_user(end_user_id);
    let cost_text = cost.to_string();
    if cost < AnyNumeric::from(0) || matches!(cost_text.as_str(), "NaN" | "Infinity" | "-Infinity")
    {
        spi_util::invalid_parameter(format!(
            "cost must be a finite amount in USD >= 0 (got {cost_text})"
        ));
    }
    let outcome = check::decide_without_resets(token, route, model, end_user_id);
    if !outcome.decision.allowed() {
        // the same row rbac_check would write for this denial (docs/explain-and-decision-log.md)
        decision_log::record_check(&outcome, route, model, end_user_id);
        return refusal_from_decision(outcome.decision);
    }
    let d = &outcome.decision;
    let ctx = outcome.context.unwrap_or_default();
    // the customer the decision was made for (a JWT's end-user claim wins over the request's), row or not
    let end_user = ctx.end_user_id.clone().or(end_user_id.map(str::to_string));
    let model = model.filter(|m| !m.is_empty());
    let plan = plan_for(&ctx, model);
    let request = Request {
        key_hash: d.key_hash.as_deref(),
        user_id: d.user_id.as_deref(),
        team_id: d.team_id.as_deref(),
        organization_id: d.organization_id.as_deref(),
        end_user_id: end_user.as_deref(),
        model,
        requests,
        tokens,
        positive_cost: cost > AnyNumeric::from(0),
        cost,
    };
    // copied out of SPI memory inside the closure; the composite is formed afterwards in the caller's context
    let admission = Spi::connect_mut(|client| admission::admit(client, &plan, &request));
    let allowed = admission.allowed.unwrap_or(false);
    if decision_log::wanted(allowed) || decision_log::pending() {
        let entry = decision_log::wanted(allowed).then(|| decision_log::Entry {
            request_id: admission.reservation_id.map(|u| u.to_string()),
            key_hash: request.key_hash,
            user_id: request.user_id,
            team_id: request.team_id,
            organization_id: request.organization_id,
            end_user_id: request.end_user_id,
            route,
            model,
            allowed,
            http_status: admission.http_status.unwrap_or(200),
            reason: admission.reason.unwrap_or("ok"),
            limit_scope: admission.limit_scope,
            message: admission.message.as_deref(),
        });
        decision_log::write(entry);
    }
    quota(admission)
}

fn refusal_from_decision(d: Decision) -> PgHeapTuple<'static, AllocatedByRust> {
    quota(Admission {
        allowed: Some(false),
        http_status: Some(d.reason.http_status()),
        reason: Some(d.reason.code()),
        limit_scope: d.limit_scope.map(Scope::name),
        message: Some(d.message),
        ..Admission::default()
    })
}

/// What applies to one request, from the principal's cached policy: the budget levels to reserve against and
/// the rate windows to count in (LiteLLM v3 descriptors, docs/semantics.md §10.2).
fn plan_for<'a>(ctx: &'a Context, model: Option<&str>) -> AdmissionPlan<'a> {
    // budget levels with a max_budget, in lock order; the user level only without a team (docs/semantics.md §9.1)
    let budget_levels = Scope::ALL
        .into_iter()
        .filter_map(|scope| ctx.budget_level(scope))
        .filter(|l| l.limits.has_max_budget)
        .map(|l| l.row)
        .collect();
    let key = ctx.level(Scope::Key);
    let parallel = key.is_some_and(|k| k.limits.max_parallel_requests.is_some());
    let mut windows: Vec<RateWindow> = RateScope::REPORT_ORDER
        .into_iter()
        .filter_map(|scope| {
            let l = ctx.level(scope.level())?;
            let (subject, rpm, tpm) = match scope {
                RateScope::Level(_) => {
                    let subject = match l.row.user_id {
                        Some(user_id) => compound_subject(l.row.id, user_id),
                        None => l.row.id.to_string(),
                    };
                    (subject, l.limits.rpm, l.limits.tpm)
                }
                RateScope::ModelPerKey
                | RateScope::ModelPerTeam
                | RateScope::ModelPerOrganization => {
                    let model = model?;
                    (
                        compound_subject(l.row.id, model),
                        l.limits.model_rpm.get(model).copied(),
                        l.limits.model_tpm.get(model).copied(),
                    )
                }
            };
            (rpm.is_some() || tpm.is_some()).then_some(RateWindow {
                scope,
                subject,
                rpm,
                tpm,
            })
        })
        .collect();
    // windows are locked in this order by every caller, so concurrent admissions cannot deadlock
    windows.sort_by(|a, b| (a.scope.name(), &a.subject).cmp(&(b.scope.name(), &b.subject)));
    AdmissionPlan {
        budget_levels,
        parallel,
        windows,
    }
}

fn quota(a: Admission) -> PgHeapTuple<'static, AllocatedByRust> {
    composite(
        "rbac.quota",
        vec![
            a.allowed.into_datum(),
            a.http_status.into_datum(),
            a.reason.into_datum(),
            a.limit_scope.into_datum(),
            a.reservation_id.into_datum(),
            a.remaining_requests.into_datum(),
            a.remaining_tokens.into_datum(),
            a.reset_at.into_datum(),
            a.retry_after_seconds.into_datum(),
            a.message.into_datum(),
            a.limit_requests.into_datum(),
            a.limit_tokens.into_datum(),
        ],
    )
}
