//! The gates after authentication, in the order of docs/semantics.md §4.4: blocked (key, team, organization,
//! customer) → route → model (key, team, team member, organization, user, customer) → budgets (key, team member,
//! team, organization, user, customer). Pure: no SQL; both token paths (`check.rs` for virtual keys,
//! `auth/jwt_principal.rs` for JWTs) call them with a loaded context.
use std::rc::Rc;

use crate::access::budget::{self, BudgetState};
use crate::access::models::{self, special};
use crate::access::routes::{self, RouteSubject};
use crate::catalogue::Catalogue;
use crate::context::Context;
use crate::decision::{Decision, Reason};
use crate::role::Role;
use crate::scope::Scope;

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
/// `role_models`: a JWT role's `role_permissions.models` (empty = no restriction).
pub fn run(
    cat: &Catalogue,
    ctx: &Context,
    subject: &RouteSubject<'_>,
    route: Option<&str>,
    model: Option<&str>,
    role_models: &[String],
) -> Option<Denial> {
    if let Some(denial) = blocked_gate(ctx) {
        return Some(denial);
    }
    let route = route?;
    if !routes::route_allowed(&cat.routes, subject, route) {
        let role = subject.role.map_or("none", Role::name);
        return Some(Denial::new(
            Reason::RouteNotAllowed,
            format!("route {route} is not allowed for role {role}"),
        ));
    }
    if let Some(model) = model {
        if let Some(denial) = model_gate(cat, ctx, model, role_models) {
            return Some(denial);
        }
    }
    if cat.routes.is_budget_checked(route) {
        if let Some(scope) = budget::first_exhausted(budget_levels(ctx)) {
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
    None
}

fn blocked_gate(ctx: &Context) -> Option<Denial> {
    if ctx.key.as_ref().is_some_and(|k| k.blocked) {
        return Some(Denial::new(
            Reason::KeyBlocked,
            "the virtual key is blocked",
        ));
    }
    if let Some(team) = ctx.team.as_ref().filter(|t| t.blocked) {
        return Some(Denial::new(
            Reason::TeamBlocked,
            format!("team {} is blocked", team.id),
        ));
    }
    if let Some(org) = ctx.organization.as_ref().filter(|o| o.blocked) {
        return Some(Denial::new(
            Reason::OrganizationBlocked,
            format!("organization {} is blocked", org.id),
        ));
    }
    if let Some(end_user) = ctx.end_user.as_ref().filter(|e| e.blocked) {
        return Some(Denial::new(
            Reason::EndUserBlocked,
            format!("customer {} is blocked", end_user.id),
        ));
    }
    None
}

/// The model gate alone (JWT team selection, docs/semantics.md §11.6).
pub fn model_gate_passes(cat: &Catalogue, ctx: &Context, model: &str) -> bool {
    model_gate(cat, ctx, model, &[]).is_none()
}

/// The model gate: the intersection of every level that applies (docs/semantics.md §4, docs/semantics.md §8.5).
fn model_gate(
    cat: &Catalogue,
    ctx: &Context,
    model: &str,
    role_models: &[String],
) -> Option<Denial> {
    let allowed = |list: &[String]| models::model_allowed(&cat.models, model, list);
    let denied = |reason: Reason, level: &str| {
        Some(Denial::new(
            reason,
            format!("{level} may not call model {model}"),
        ))
    };
    if let Some(key) = &ctx.key {
        // `all-team-models` hands the decision to the team check (docs/semantics.md §8.4)
        let inherits = key.models.iter().any(|m| m == special::ALL_TEAM_MODELS);
        if !inherits && !allowed(&key.models) {
            return denied(Reason::KeyModelAccessDenied, "the virtual key");
        }
    }
    if let Some(team) = &ctx.team {
        let all_team_models = team.models.iter().any(|m| m == special::ALL_TEAM_MODELS);
        if !all_team_models && !allowed(&team.models) {
            return denied(Reason::TeamModelAccessDenied, &format!("team {}", team.id));
        }
    }
    if let Some(member) = ctx.member.as_ref().filter(|m| !m.models.is_empty()) {
        if !allowed(&member.models) {
            return denied(
                Reason::TeamModelAccessDenied,
                &format!("team member {}", member.id),
            );
        }
    }
    if let Some(org) = &ctx.organization {
        if !allowed(&org.models) {
            return denied(
                Reason::OrgModelAccessDenied,
                &format!("organization {}", org.id),
            );
        }
    }
    if let (None, Some(user)) = (&ctx.team, &ctx.user) {
        let no_default = user.models.iter().any(|m| m == special::NO_DEFAULT_MODELS);
        if no_default || !allowed(&user.models) {
            return denied(Reason::UserModelAccessDenied, &format!("user {}", user.id));
        }
    }
    if let Some(end_user) = &ctx.end_user {
        if !allowed(&end_user.models) {
            return denied(
                Reason::CustomerModelAccessDenied,
                &format!("customer {}", end_user.id),
            );
        }
    }
    // JWT role_permissions.models: exact membership, as LiteLLM (docs/semantics.md §8.8)
    if !role_models.is_empty() && !role_models.iter().any(|m| m == model) {
        return denied(Reason::UserModelAccessDenied, "the token's role");
    }
    None
}

/// The budget state of every level whose budget applies, in gate order (docs/semantics.md §9.1).
fn budget_levels(ctx: &Context) -> impl Iterator<Item = (Scope, BudgetState)> + '_ {
    Scope::ALL
        .into_iter()
        .filter_map(|scope| ctx.budget_level(scope).map(|l| (scope, l.budget)))
}
