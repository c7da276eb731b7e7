//! `rbac.consume_quota`: the decision of `rbac_check`, then exact admission against every rpm/tpm window,
//! parallel lease and budget (docs/semantics.md §10). The limits come from the principal's cached policy; the admission
//! (`admission`) is a short sequence of prepared, row-locked statements. `settle`, `release` and expiry are SQL
//! (`sql/020_quota.sql`).
pub mod admission;

use pgrx::prelude::*;
use pgrx::AnyNumeric;

use crate::check;
use crate::context::{Context, Limits};
use crate::decision::{composite, Decision};
use crate::spi_util;
use admission::{Admission, AdmissionPlan, Request};

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
/// window, reset_at (end of that 60-second window) and retry_after_seconds (on a 429).
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
        return refusal_from_decision(outcome.decision);
    }
    let d = &outcome.decision;
    let ctx = outcome.context.unwrap_or_default();
    let end_user = ctx
        .end_user
        .as_ref()
        .map(|e| e.id.clone())
        .or(end_user_id.map(str::to_string));
    let model = model.filter(|m| !m.is_empty());
    let plan = plan_for(&ctx, d, model);
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
    quota(Spi::connect_mut(|client| {
        admission::admit(client, &plan, &request)
    }))
}

fn refusal_from_decision(d: Decision) -> PgHeapTuple<'static, AllocatedByRust> {
    quota(Admission {
        allowed: Some(false),
        http_status: Some(d.reason.http_status()),
        reason: Some(d.reason.code().to_string()),
        limit_scope: d.limit_scope.map(str::to_string),
        message: Some(d.message),
        ..Admission::default()
    })
}

/// What applies to one request, from the principal's cached policy: the budget levels to reserve against and
/// the rate windows to count in (LiteLLM v3 descriptors, docs/semantics.md §10.2).
fn plan_for(ctx: &Context, d: &Decision, model: Option<&str>) -> AdmissionPlan {
    let mut plan = AdmissionPlan::default();
    let none = Limits::default();
    let key_limits = ctx.key.as_ref().map_or(&none, |k| &k.limits);
    let key_hash = d.key_hash.as_deref();
    let team = ctx.team.as_ref().map(|t| (t.id.as_str(), &t.limits));
    let member = ctx.member.as_ref().map(|m| (m.id.as_str(), &m.limits));
    let org = ctx
        .organization
        .as_ref()
        .map(|o| (o.id.as_str(), &o.limits));
    let user = ctx.user.as_ref().map(|u| (u.id.as_str(), &u.limits));
    let end = ctx.end_user.as_ref().map(|e| (e.id.as_str(), &e.limits));
    let team_id = team.map(|(id, _)| id);
    let org_id = org.map(|(id, _)| id);
    // budget levels in lock order; the user level only for keys without a team (docs/semantics.md §9.1)
    let levels: [(&'static str, Option<(String, Option<String>)>, bool); 6] = [
        (
            "key",
            key_hash.map(|k| (k.to_string(), None)),
            key_limits.has_max_budget,
        ),
        (
            "team_member",
            team_id
                .zip(member)
                .map(|(t, (u, _))| (t.to_string(), Some(u.to_string()))),
            member.is_some_and(|(_, l)| l.has_max_budget),
        ),
        (
            "team",
            team_id.map(|t| (t.to_string(), None)),
            team.is_some_and(|(_, l)| l.has_max_budget),
        ),
        (
            "organization",
            org_id.map(|o| (o.to_string(), None)),
            org.is_some_and(|(_, l)| l.has_max_budget),
        ),
        (
            "user",
            user.map(|(u, _)| (u.to_string(), None)),
            team.is_none() && user.is_some_and(|(_, l)| l.has_max_budget),
        ),
        (
            "end_user",
            end.map(|(e, _)| (e.to_string(), None)),
            end.is_some_and(|(_, l)| l.has_max_budget),
        ),
    ];
    for (scope, ids, has_budget) in levels {
        if let (Some((id, second)), true) = (ids, has_budget) {
            plan.budget_levels.push((scope, id, second));
        }
    }
    plan.parallel = key_hash.is_some() && key_limits.max_parallel_requests.is_some();
    let rates = |l: &Limits| (l.rpm, l.tpm);
    let model_rates = |l: &Limits| {
        model.map_or((None, None), |m| {
            (l.model_rpm.get(m).copied(), l.model_tpm.get(m).copied())
        })
    };
    let candidates: [(
        i32,
        &'static str,
        Option<String>,
        (Option<i64>, Option<i64>),
    ); 9] = [
        (1, "key", key_hash.map(str::to_string), rates(key_limits)),
        (
            2,
            "user",
            user.map(|(u, _)| u.to_string()),
            user.map_or((None, None), |(_, l)| rates(l)),
        ),
        (
            3,
            "team",
            team_id.map(str::to_string),
            team.map_or((None, None), |(_, l)| rates(l)),
        ),
        (
            4,
            "team_member",
            team_id
                .zip(member)
                .map(|(t, (u, _))| compound_subject(t, u)),
            member.map_or((None, None), |(_, l)| rates(l)),
        ),
        (
            5,
            "organization",
            org_id.map(str::to_string),
            org.map_or((None, None), |(_, l)| rates(l)),
        ),
        (
            6,
            "end_user",
            end.map(|(e, _)| e.to_string()),
            end.map_or((None, None), |(_, l)| rates(l)),
        ),
        (
            7,
            "model_per_key",
            key_hash.zip(model).map(|(k, m)| compound_subject(k, m)),
            model_rates(key_limits),
        ),
        (
            8,
            "model_per_team",
            team_id.zip(model).map(|(t, m)| compound_subject(t, m)),
            team.map_or((None, None), |(_, l)| model_rates(l)),
        ),
        (
            9,
            "model_per_organization",
            org_id.zip(model).map(|(o, m)| compound_subject(o, m)),
            org.map_or((None, None), |(_, l)| model_rates(l)),
        ),
    ];
    plan.windows = candidates
        .into_iter()
        .filter_map(|(ord, scope, subject, (rpm, tpm))| {
            subject
                .filter(|_| rpm.is_some() || tpm.is_some())
                .map(|subject| (scope, subject, rpm, tpm, ord))
        })
        .collect();
    // windows are locked in this order by every caller, so concurrent admissions cannot deadlock
    plan.windows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    plan
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
        ],
    )
}
