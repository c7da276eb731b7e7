//! The gates after authentication, in the order of docs/semantics.md §4.4: blocked (key, team, organization,
//! customer) → route → model (key, team, team member, organization, user, customer) → budgets (key, team member,
//! team, organization, user, customer). Pure: no SQL; both token paths (`check.rs` for virtual keys,
//! `auth/jwt_principal.rs` for JWTs) call them with a loaded context.
use std::rc::Rc;

use crate::access::budget::BudgetState;
use crate::access::models::{self, special};
use crate::access::routes::{self, RouteSubject};
use crate::catalogue::Catalogue;
use crate::context::Context;
use crate::decision::{Decision, Reason};
use crate::role::Role;
use crate::scope::Scope;
use crate::trace::{show_list, Trace};

/// A decision together with the context it was made in (reused by quotas and `authenticate`).
pub struct Outcome {
    pub decision: Decision,
    pub context: Option<Context>,
    pub catalogue: Option<Rc<Catalogue>>,
}

impl Outcome {
    /// A decision made before any context was loaded (token problems).
    pub fn bare(decision: Decision) -> Outcome {
        Outcome {
            decision,
            context: None,
            catalogue: None,
        }
    }
}

/// Why a gate refused: the reason, a message naming the level, and for a budget the level that is exhausted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: Reason,
    pub message: String,
    pub limit_scope: Option<Scope>,
}

impl Denial {
    fn new(reason: Reason, message: impl Into<String>) -> Denial {
        Denial {
            reason,
            message: message.into(),
            limit_scope: None,
        }
    }
}

/// The gates in contract order; None = allowed. Without a route (`rbac.authenticate`) only the blocked gate runs.
/// `role_models`: a JWT role's `role_permissions.models` (empty = no restriction). Each gate records what it
/// evaluated into `trace` (nothing when the trace is off).
pub fn run(
    cat: &Catalogue,
    ctx: &Context,
    subject: &RouteSubject<'_>,
    route: Option<&str>,
    model: Option<&str>,
    role_models: &[String],
    trace: &mut Trace,
) -> Option<Denial> {
    if let Some(denial) = blocked_gate(ctx, trace) {
        return Some(denial);
    }
    let route = route?;
    let verdict = routes::route_verdict(&cat.routes, subject, route);
    trace.step(
        "route",
        verdict.is_ok(),
        || route.to_string(),
        || {
            let role = subject.role.map_or("none", Role::name);
            let rule = verdict.unwrap_or_else(|e| e);
            let mut d = format!("role {role}: {rule}");
            if !subject.key_allowed_routes.is_empty() {
                d.push_str(&format!(
                    "; key allowed_routes {}",
                    show_list(subject.key_allowed_routes)
                ));
            }
            d
        },
    );
    if verdict.is_err() {
        let role = subject.role.map_or("none", Role::name);
        return Some(Denial::new(
            Reason::RouteNotAllowed,
            format!("route {route} is not allowed for role {role}"),
        ));
    }
    match model {
        Some(model) => {
            if let Some(denial) = model_gate(cat, ctx, model, role_models, trace) {
                return Some(denial);
            }
        }
        None => trace.step(
            "model",
            true,
            || "(none)".into(),
            || "no model requested: the model gate does not apply".into(),
        ),
    }
    if !cat.routes.is_budget_checked(route) {
        trace.step(
            "budget",
            true,
            || route.to_string(),
            || "the route is not budget-checked (budget_exempt_routes, or not an LLM route)".into(),
        );
        return None;
    }
    let mut any = false;
    for (scope, state) in budget_levels(ctx) {
        any = true;
        trace.budget_step(
            !state.exhausted,
            || {
                let l = ctx.budget_level(scope).expect("a budget level is present");
                (
                    scope,
                    l.row.id.to_string(),
                    l.row.user_id.map(str::to_string),
                )
            },
            || {
                let lapsed = if state.reset_due {
                    "; the period has lapsed: spend counts as 0"
                } else {
                    ""
                };
                let verdict = if state.exhausted {
                    "spend >= max_budget: exhausted"
                } else {
                    "within max_budget (or none set)"
                };
                format!("{verdict}{lapsed}")
            },
        );
        if state.exhausted {
            return Some(Denial {
                reason: Reason::BudgetExceeded,
                message: format!(
                    "budget exceeded at {} level: spend >= max_budget",
                    scope.name()
                ),
                limit_scope: Some(scope),
            });
        }
    }
    if !any {
        trace.step(
            "budget",
            true,
            || route.to_string(),
            || "no level of this request has a budget".into(),
        );
    }
    None
}

fn blocked_gate(ctx: &Context, trace: &mut Trace) -> Option<Denial> {
    let mut check = |level: &'static str, id: &str, blocked: bool| {
        trace.step(
            "blocked",
            !blocked,
            || format!("{level} {id}"),
            || if blocked { "blocked" } else { "not blocked" }.into(),
        );
        blocked
    };
    if let Some(key) = &ctx.key {
        if check("key", &key.key_hash, key.blocked) {
            return Some(Denial::new(
                Reason::KeyBlocked,
                "the virtual key is blocked",
            ));
        }
    }
    if let Some(team) = &ctx.team {
        if check("team", &team.id, team.blocked) {
            return Some(Denial::new(
                Reason::TeamBlocked,
                format!("team {} is blocked", team.id),
            ));
        }
    }
    if let Some(org) = &ctx.organization {
        if check("organization", &org.id, org.blocked) {
            return Some(Denial::new(
                Reason::OrganizationBlocked,
                format!("organization {} is blocked", org.id),
            ));
        }
    }
    if let Some(end_user) = &ctx.end_user {
        if check("customer", &end_user.id, end_user.blocked) {
            return Some(Denial::new(
                Reason::EndUserBlocked,
                format!("customer {} is blocked", end_user.id),
            ));
        }
    }
    None
}

/// The model gate alone (JWT team selection, docs/semantics.md §11.6).
pub fn model_gate_passes(cat: &Catalogue, ctx: &Context, model: &str) -> bool {
    model_gate(cat, ctx, model, &[], &mut Trace::off()).is_none()
}

/// The model gate: the intersection of every level that applies (docs/semantics.md §4, docs/semantics.md §8.5).
fn model_gate(
    cat: &Catalogue,
    ctx: &Context,
    model: &str,
    role_models: &[String],
    trace: &mut Trace,
) -> Option<Denial> {
    // records the level's list and the entry that allowed the model (or that none did); true when allowed
    let level = |trace: &mut Trace, subject: &dyn Fn() -> String, list: &[String]| {
        let entry = models::matching_entry(&cat.models, model, list);
        trace.step("model", entry.is_some(), subject, || match entry {
            Some(e) => format!("{model} allowed by entry {e:?} of {}", show_list(list)),
            None => format!("no entry of {} allows {model}", show_list(list)),
        });
        entry.is_some()
    };
    let denied = |reason: Reason, level: &str| {
        Some(Denial::new(
            reason,
            format!("{level} may not call model {model}"),
        ))
    };
    if let Some(key) = &ctx.key {
        // `all-team-models` hands the decision to the team check (docs/semantics.md §8.4)
        let inherits = key.models.iter().any(|m| m == special::ALL_TEAM_MODELS);
        if inherits {
            trace.step(
                "model",
                true,
                || format!("key {}", key.key_hash),
                || "all-team-models: the team's list decides".into(),
            );
        } else if !level(trace, &|| format!("key {}", key.key_hash), &key.models) {
            return denied(Reason::KeyModelAccessDenied, "the virtual key");
        }
    }
    if let Some(team) = &ctx.team {
        let all_team_models = team.models.iter().any(|m| m == special::ALL_TEAM_MODELS);
        if all_team_models {
            trace.step(
                "model",
                true,
                || format!("team {}", team.id),
                || "all-team-models: every model".into(),
            );
        } else if !level(trace, &|| format!("team {}", team.id), &team.models) {
            return denied(Reason::TeamModelAccessDenied, &format!("team {}", team.id));
        }
    }
    if let Some(member) = ctx.member.as_ref().filter(|m| !m.models.is_empty()) {
        if !level(
            trace,
            &|| format!("team member {}", member.id),
            &member.models,
        ) {
            return denied(
                Reason::TeamModelAccessDenied,
                &format!("team member {}", member.id),
            );
        }
    }
    if let Some(org) = &ctx.organization {
        if !level(trace, &|| format!("organization {}", org.id), &org.models) {
            return denied(
                Reason::OrgModelAccessDenied,
                &format!("organization {}", org.id),
            );
        }
    }
    if let (None, Some(user)) = (&ctx.team, &ctx.user) {
        let no_default = user.models.iter().any(|m| m == special::NO_DEFAULT_MODELS);
        if no_default {
            trace.step(
                "model",
                false,
                || format!("user {}", user.id),
                || "no-default-models: the user may call no model without a team".into(),
            );
            return denied(Reason::UserModelAccessDenied, &format!("user {}", user.id));
        }
        if !level(trace, &|| format!("user {}", user.id), &user.models) {
            return denied(Reason::UserModelAccessDenied, &format!("user {}", user.id));
        }
    }
    if let Some(end_user) = &ctx.end_user {
        if !level(
            trace,
            &|| format!("customer {}", end_user.id),
            &end_user.models,
        ) {
            return denied(
                Reason::CustomerModelAccessDenied,
                &format!("customer {}", end_user.id),
            );
        }
    }
    // JWT role_permissions.models: exact membership, as LiteLLM (docs/semantics.md §8.8)
    if !role_models.is_empty() {
        let listed = role_models.iter().any(|m| m == model);
        trace.step(
            "model",
            listed,
            || "the token's role (role_permissions.models)".into(),
            || format!("exact membership of {model} in {}", show_list(role_models)),
        );
        if !listed {
            return denied(Reason::UserModelAccessDenied, "the token's role");
        }
    }
    None
}

/// The budget state of every level whose budget applies, in gate order (docs/semantics.md §9.1).
fn budget_levels(ctx: &Context) -> impl Iterator<Item = (Scope, BudgetState)> + '_ {
    Scope::ALL
        .into_iter()
        .filter_map(|scope| ctx.budget_level(scope).map(|l| (scope, l.budget)))
}
