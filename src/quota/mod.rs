//! `rbac.consume_quota`: the decision of `rbac_check`, then exact admission against every rpm/tpm window,
//! parallel lease and budget (CONTRACT §4). The admission itself is SQL (`sql/020_quota.sql`, `rbac._admit`):
//! it is a sequence of row-locked conditional updates, which SQL states most plainly.
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::AnyNumeric;

use crate::check;
use crate::decision::{composite, Decision};
use crate::context::{Context, Limits};
use crate::spi_util::{self, BOOL, INT4_ARRAY, INT8, INT8_ARRAY, NUMERIC, TEXT, TEXT_ARRAY};

/// Admits or refuses one request.
///
/// * `token`, `route`, `model`, `end_user_id`: as `rbac.rbac_check` (which runs first; a denial is returned
///   with its reason and nothing is consumed).
/// * `requests`: requests to count in the rpm windows (default 1, >= 0).
/// * `tokens`: estimated tokens (prompt + expected completion) to count in the tpm windows (default 0, >= 0);
///   `rbac.settle` corrects them to the actual count.
/// * `cost`: USD to reserve against every budget level (default 0, finite, >= 0).
///
/// Returns `rbac.quota`: allowed, http_status (200, a `rbac_check` status, or 429), reason (`ok`, a
/// `rbac_check` reason, `rate_limit_exceeded`, `parallel_limit_exceeded`, `budget_exceeded`), limit_scope (key,
/// user, team, team_member, organization, end_user, model_per_key, model_per_team, model_per_organization),
/// reservation_id (for `rbac.settle` / `rbac.release`), remaining_requests / remaining_tokens in the tightest
/// window, reset_at (end of that 60-second window) and retry_after_seconds (on a 429).
/// All-or-nothing and exact under concurrency; rolled back with the caller's transaction. Errors: `22023` for a
/// NULL/empty route or negative/non-finite amounts. LiteLLM: the v3 parallel-request limiter and budget
/// reservation (litellm-semantics §7–§8), without their races.
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
    let cost_text = cost.to_string();
    if cost < AnyNumeric::from(0) || matches!(cost_text.as_str(), "NaN" | "Infinity" | "-Infinity") {
        spi_util::invalid_parameter(format!("cost must be a finite amount in USD >= 0 (got {cost_text})"));
    }
    let outcome = check::decide_without_resets(token, route, model, end_user_id);
    if !outcome.decision.allowed() {
        return refusal_from_decision(outcome.decision);
    }
    let d = &outcome.decision;
    let ctx = outcome.context.unwrap_or_default();
    let end_user = ctx.end_user.as_ref().map(|e| e.id.clone()).or(end_user_id.map(str::to_string));
    let model = model.filter(|m| !m.is_empty());
    let plan = AdmissionPlan::for_context(&ctx, d, end_user.as_deref(), model);
    admit(d, end_user.as_deref(), model, requests, tokens, cost, &plan)
}

/// What applies to one request, from the principal's cached policy: the budget levels to reserve against and
/// the rate windows to count in (LiteLLM v3 descriptors, litellm-semantics §8.2).
#[derive(Debug, Default)]
struct AdmissionPlan {
    budget_levels: Vec<&'static str>,
    parallel: bool,
    scopes: Vec<&'static str>,
    subjects: Vec<String>,
    rpms: Vec<Option<i64>>,
    tpms: Vec<Option<i64>>,
    ords: Vec<i32>,
}

impl AdmissionPlan {
    fn for_context(ctx: &Context, d: &Decision, end_user: Option<&str>, model: Option<&str>) -> AdmissionPlan {
        let mut plan = AdmissionPlan::default();
        let none = Limits::default();
        let key = ctx.key.as_ref();
        let key_limits = key.map_or(&none, |k| &k.limits);
        let team = ctx.team.as_ref().map(|t| (&t.id, &t.limits));
        let member = ctx.member.as_ref().map(|m| &m.limits);
        let org = ctx.organization.as_ref().map(|o| (&o.id, &o.limits));
        let user = ctx.user.as_ref().map(|u| (&u.id, &u.limits));
        let end = ctx.end_user.as_ref().map(|e| &e.limits);
        // budget levels in lock order; the user level only for keys without a team (LiteLLM §7.1)
        for (scope, has) in [
            ("key", key_limits.has_max_budget),
            ("team_member", member.is_some_and(|l| l.has_max_budget)),
            ("team", team.is_some_and(|(_, l)| l.has_max_budget)),
            ("organization", org.is_some_and(|(_, l)| l.has_max_budget)),
            ("user", team.is_none() && user.is_some_and(|(_, l)| l.has_max_budget)),
            ("end_user", end.is_some_and(|l| l.has_max_budget)),
        ] {
            if has {
                plan.budget_levels.push(scope);
            }
        }
        plan.parallel = key.is_some() && key_limits.max_parallel_requests.is_some();
        let model_limit = |l: &Limits| model.map_or((None, None), |m| (l.model_rpm.get(m).copied(), l.model_tpm.get(m).copied()));
        let key_hash = d.key_hash.as_deref();
        let team_id = team.map(|(id, _)| id.as_str());
        let org_id = org.map(|(id, _)| id.as_str());
        let candidates: [(i32, &'static str, Option<String>, (Option<i64>, Option<i64>)); 9] = [
            (1, "key", key_hash.map(str::to_string), (key_limits.rpm, key_limits.tpm)),
            (2, "user", user.map(|(id, _)| id.clone()), user.map_or((None, None), |(_, l)| (l.rpm, l.tpm))),
            (3, "team", team_id.map(str::to_string), team.map_or((None, None), |(_, l)| (l.rpm, l.tpm))),
            (4, "team_member", team_id.zip(d.user_id.as_deref()).map(|(t, u)| format!("{t}:{u}")), member.map_or((None, None), |l| (l.rpm, l.tpm))),
            (5, "organization", org_id.map(str::to_string), org.map_or((None, None), |(_, l)| (l.rpm, l.tpm))),
            (6, "end_user", end_user.filter(|_| end.is_some()).map(str::to_string), end.map_or((None, None), |l| (l.rpm, l.tpm))),
            (7, "model_per_key", key_hash.zip(model).map(|(k, m)| format!("{k}:{m}")), model_limit(key_limits)),
            (8, "model_per_team", team_id.zip(model).map(|(t, m)| format!("{t}:{m}")), team.map_or((None, None), |(_, l)| model_limit(l))),
            (9, "model_per_organization", org_id.zip(model).map(|(o, m)| format!("{o}:{m}")), org.map_or((None, None), |(_, l)| model_limit(l))),
        ];
        let mut windows: Vec<_> = candidates
            .into_iter()
            .filter_map(|(ord, scope, subject, (rpm, tpm))| {
                subject.filter(|_| rpm.is_some() || tpm.is_some()).map(|subject| (scope, subject, rpm, tpm, ord))
            })
            .collect();
        // the SQL side locks windows in this order; every caller uses the same one, so none can deadlock
        windows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (scope, subject, rpm, tpm, ord) in windows {
            plan.scopes.push(scope);
            plan.subjects.push(subject);
            plan.rpms.push(rpm);
            plan.tpms.push(tpm);
            plan.ords.push(ord);
        }
        plan
    }
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

/// Runs `rbac._admit` for an allowed principal and returns its `rbac.quota`.
fn admit(
    d: &Decision,
    end_user: Option<&str>,
    model: Option<&str>,
    requests: i64,
    tokens: i64,
    cost: AnyNumeric,
    plan: &AdmissionPlan,
) -> PgHeapTuple<'static, AllocatedByRust> {
    const ADMIT_SQL: &str = "SELECT q.allowed, q.http_status, q.reason, q.limit_scope, q.reservation_id, q.remaining_requests, \
                             q.remaining_tokens, q.reset_at, q.retry_after_seconds, q.message \
                             FROM rbac._admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) q";
    // Values are copied out of SPI memory inside the closure; the composite is built afterwards in the
    // caller's memory context (anything palloc'd inside Spi::connect is freed when it returns).
    let row = Spi::connect_mut(|client| {
        let types = [TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, INT8, INT8, NUMERIC, TEXT_ARRAY, BOOL, TEXT_ARRAY, TEXT_ARRAY, INT8_ARRAY, INT8_ARRAY, INT4_ARRAY];
        let stmt = spi_util::statement(client, ADMIT_SQL, &types, true);
        let args = [
            d.key_hash.as_deref().into(),
            d.user_id.as_deref().into(),
            d.team_id.as_deref().into(),
            d.organization_id.as_deref().into(),
            end_user.into(),
            model.into(),
            requests.into(),
            tokens.into(),
            cost.into(),
            plan.budget_levels.clone().into(),
            plan.parallel.into(),
            plan.scopes.clone().into(),
            plan.subjects.clone().into(),
            plan.rpms.clone().into(),
            plan.tpms.clone().into(),
            plan.ords.clone().into(),
        ];
        let t = client.update(&*stmt, Some(1), &args).unwrap_or_else(|e| spi_util::spi_failed(e)).first();
        Admission {
            allowed: got(t.get::<bool>(1)),
            http_status: got(t.get::<i32>(2)),
            reason: got(t.get::<String>(3)),
            limit_scope: got(t.get::<String>(4)),
            reservation_id: got(t.get::<pgrx::Uuid>(5)),
            remaining_requests: got(t.get::<i64>(6)),
            remaining_tokens: got(t.get::<i64>(7)),
            reset_at: got(t.get::<TimestampWithTimeZone>(8)),
            retry_after_seconds: got(t.get::<i32>(9)),
            message: got(t.get::<String>(10)),
        }
    });
    quota(row)
}

/// One `rbac.quota` row copied out of SPI memory.
#[derive(Default)]
struct Admission {
    allowed: Option<bool>,
    http_status: Option<i32>,
    reason: Option<String>,
    limit_scope: Option<String>,
    reservation_id: Option<pgrx::Uuid>,
    remaining_requests: Option<i64>,
    remaining_tokens: Option<i64>,
    reset_at: Option<TimestampWithTimeZone>,
    retry_after_seconds: Option<i32>,
    message: Option<String>,
}

fn got<T>(value: pgrx::spi::SpiResult<Option<T>>) -> Option<T> {
    value.unwrap_or_else(|e| spi_util::spi_failed(e))
}
