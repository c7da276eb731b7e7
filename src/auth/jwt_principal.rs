//! From a verified JWT to a decision: role derivation (docs/semantics.md §11.5), team selection
//! (docs/semantics.md §11.6), the issuer's `enforce_rbac` / `role_permissions` and admin routes, then the common gates.
//! Tokens never create users or teams (docs/semantics.md §11.6): ids that name no row are simply absent.
use std::rc::Rc;

use pgrx::spi::SpiClient;

use crate::access::routes::RouteSubject;
use crate::auth::jwt::JwtPrincipal;
use crate::catalogue::Catalogue;
use crate::context::{self, Context};
use crate::decision::{Decision, Reason};
use crate::gates::{self, Outcome};
use crate::role::Role;
use crate::trace::{show_list, Trace};

/// Role derivation of docs/semantics.md §11.5: admin scope → `proxy_admin`; else the mapped role; else the user row's
/// role; else `internal_user` when a user id claim is present; else `team` when only team claims are present.
pub fn derive_role(
    principal: &JwtPrincipal,
    user_row_role: Option<Role>,
    has_team_claim: bool,
) -> Option<Role> {
    if principal.admin_scope {
        return Some(Role::ProxyAdmin);
    }
    if let Some(mapped) = principal.mapped_role {
        return Some(mapped);
    }
    if let Some(role) = user_row_role {
        // a template's token from a foreign tenant never inherits an administrative user row
        return Some(if principal.administrative_roles {
            role
        } else {
            role.at_most(Role::InternalUser)
        });
    }
    if principal.user_id.is_some() {
        return Some(Role::InternalUser);
    }
    has_team_claim.then_some(Role::Team)
}

/// Why the issuer's admission rules refuse this principal: a claim rule or e-mail domain (decided when the token
/// was verified), or a derived role outside `allowed_roles`. `None` when admitted.
fn admission_refusal(principal: &JwtPrincipal, role: Option<Role>) -> Option<String> {
    if let Some(refusal) = &principal.admission_refusal {
        return Some(refusal.clone());
    }
    let allowed = principal.allowed_roles.as_ref()?;
    match role {
        Some(role) if allowed.contains(&role) => None,
        Some(role) => Some(format!(
            "role {} is not among the issuer's allowed_roles",
            role.name()
        )),
        None => Some("no role could be derived, and the issuer admits only some roles".into()),
    }
}

/// A token's teams for a message: how many, and at most three of them (a group list can hold hundreds of
/// names, which belong neither in client-facing errors nor in proxy logs).
fn team_summary(teams: &[&str]) -> String {
    let shown: Vec<&str> = teams.iter().take(3).copied().collect();
    match teams.len() {
        0 => "none".into(),
        n if n <= 3 => shown.join(", "),
        n => format!("{n} teams: {}, …", shown.join(", ")),
    }
}

/// Candidate teams of a token: its team list and single team claim, sorted by id, without duplicates.
fn candidate_teams(principal: &JwtPrincipal) -> Vec<&str> {
    let mut teams: Vec<&str> = principal
        .team_ids
        .iter()
        .map(String::as_str)
        .chain(principal.team_id.as_deref())
        .collect();
    teams.sort_unstable();
    teams.dedup();
    teams
}

/// Decides for a verified JWT principal.
///
/// Teams are needed only by a request that names a model (an LLM call, docs/semantics.md §11.6): there the team
/// claims must give a usable team (`no_team_for_model` otherwise, LiteLLM's default). Elsewhere (management,
/// spend and info routes, `rbac.authenticate`) team claims never refuse: the principal's team is the first
/// candidate that exists and is usable, else the first that exists (blocked: the blocked gate answers), else
/// none — the principal acts with its personal permissions (LiteLLM: no team found without a model).
pub fn decide(
    client: &SpiClient<'_>,
    cat: Rc<Catalogue>,
    principal: Rc<JwtPrincipal>,
    route: Option<&str>,
    model: Option<&str>,
    end_user_arg: Option<&str>,
    trace: &mut Trace,
) -> Outcome {
    let end_user = principal.end_user_id.as_deref().or(end_user_arg);
    let user_id = principal.user_id.as_deref();
    let org_id = principal.organization_id.as_deref();
    let refuse = |trace: &mut Trace, mut decision: Decision, reason: Reason, message: String| {
        trace.step(
            "principal",
            false,
            || reason.code().to_string(),
            || message.clone(),
        );
        decision.reason = reason;
        decision.message = message;
        Outcome {
            decision,
            context: None,
            catalogue: Some(cat.clone()),
        }
    };
    // An admin-scope token acts as the proxy admin, not for a team (LiteLLM resolves admins before teams).
    let teams = if principal.admin_scope {
        Vec::new()
    } else {
        candidate_teams(&principal)
    };
    let team_needed = model.is_some();

    // One context query in the common cases (no team or one team claim); the user row's role comes with it.
    let selected = match (teams.as_slice(), team_needed) {
        ([], _) => Some(context::load_for_principal(
            client, user_id, None, org_id, end_user,
        )),
        ([only], true) => Some(context::load_for_principal(
            client,
            user_id,
            Some(only),
            org_id,
            end_user,
        )),
        (several, true) => select_team(client, &cat, several, user_id, org_id, end_user, model),
        (candidates, false) => Some(principal_team(
            client, candidates, user_id, org_id, end_user,
        )),
    };
    let user_row_role = match &selected {
        Some(ctx) => ctx.user_role,
        None => context::load_for_principal(client, user_id, None, org_id, end_user).user_role,
    };
    let has_team_claim = !teams.is_empty();
    let role = derive_role(&principal, user_row_role, has_team_claim);
    trace.step(
        "principal",
        true,
        || "claims".into(),
        || {
            format!(
                "user {}, team claims {}, organization {}, customer {}, scopes {}, roles {}",
                user_id.unwrap_or("(none)"),
                show_list(&teams.iter().map(|t| t.to_string()).collect::<Vec<_>>()),
                org_id.unwrap_or("(none)"),
                end_user.unwrap_or("(none)"),
                show_list(&principal.scopes),
                show_list(&principal.roles)
            )
        },
    );
    trace.step(
        "role",
        true,
        || role.map_or("(none)", Role::name).to_string(),
        || {
            let source = if principal.admin_scope {
                "the issuer's admin scope".to_string()
            } else if let Some(mapped) = principal.mapped_role {
                format!("a role mapping ({})", mapped.name())
            } else if let Some(row) = user_row_role {
                format!("the user row's role {}", row.name())
            } else if principal.user_id.is_some() {
                "a user id claim without a user row (internal_user)".into()
            } else if has_team_claim {
                "team claims only (team)".into()
            } else {
                "nothing to derive a role from".into()
            };
            format!(
                "derived from {source} (docs/semantics.md §11.5); issuer enforce_rbac {}",
                principal.enforce_rbac
            )
        },
    );
    let mut decision = Decision::deny(Reason::Ok, "");
    decision.user_id = principal.user_id.clone();
    decision.role = role;
    // Roles the IdP left out cannot be mapped: refusing says so, where deriving a lesser role would not.
    if principal.roles_overage && !principal.admin_scope {
        return refuse(
            trace,
            decision,
            Reason::GroupsOverage,
            "the IdP left the roles claim out of the token (groups overage: too many groups to list); \
             map roles from app roles or from groups assigned to the application"
                .into(),
        );
    }
    // The issuer's admission rules: which of the IdP's users may use the gateway at all (docs/jwt.md).
    if let Some(refusal) = admission_refusal(&principal, role) {
        return refuse(trace, decision, Reason::ClaimsNotAllowed, refusal);
    }
    if principal.enforce_rbac && role.is_none() {
        return refuse(
            trace,
            decision,
            Reason::RoleNotMapped,
            "the issuer enforces RBAC and no role could be derived from the token".into(),
        );
    }
    if team_needed && principal.teams_overage && !principal.admin_scope {
        return refuse(
            trace,
            decision,
            Reason::GroupsOverage,
            format!(
                "the IdP left the team claim out of the token (groups overage: too many groups to list), so the \
                 team that may call {} cannot be chosen; emit only the groups assigned to the application",
                model.unwrap_or("this model")
            ),
        );
    }
    let Some(ctx) = selected else {
        return refuse(
            trace,
            decision,
            Reason::NoTeamForModel,
            format!(
                "none of the token's teams ({}) may call {}",
                team_summary(&teams),
                model.unwrap_or("this route")
            ),
        );
    };
    if team_needed && has_team_claim && ctx.team.is_none() {
        return refuse(
            trace,
            decision,
            Reason::NoTeamForModel,
            format!("the token's team ({}) does not exist", team_summary(&teams)),
        );
    }

    let permission = if principal.enforce_rbac {
        role.and_then(|r| cat.role_permissions.get(&r))
    } else {
        None
    };
    let mut required_lists: Vec<&[String]> = Vec::new();
    if principal.admin_scope {
        required_lists.push(&principal.admin_allowed_routes);
    }
    if let Some(p) = permission {
        required_lists.push(&p.routes);
    }
    let subject = RouteSubject {
        role,
        is_org_admin: ctx.is_org_admin,
        key_allowed_routes: &[],
        key_may_read_global_spend: false,
        required_lists,
    };
    decision.team_id = ctx.team.as_ref().map(|t| t.id.clone());
    decision.organization_id = ctx.organization.as_ref().map(|o| o.id.clone());
    trace.step(
        "team",
        true,
        || {
            ctx.team
                .as_ref()
                .map_or("(none)", |t| t.id.as_str())
                .to_string()
        },
        || {
            format!(
                "selected from {} candidate team(s) (docs/semantics.md §11.6); organization {}",
                teams.len(),
                ctx.organization
                    .as_ref()
                    .map_or("(none)", |o| o.id.as_str())
            )
        },
    );
    let role_models = permission.map(|p| p.models.as_slice()).unwrap_or(&[]);
    if let Some(denial) = gates::run(&cat, &ctx, &subject, route, model, role_models, trace) {
        decision.deny_with(denial);
    }
    Outcome {
        decision,
        context: Some(ctx),
        catalogue: Some(cat),
    }
}

/// The first team (by id) that exists, is not blocked and may call the model (docs/semantics.md §11.6).
fn select_team(
    client: &SpiClient<'_>,
    cat: &Catalogue,
    teams: &[&str],
    user_id: Option<&str>,
    org_id: Option<&str>,
    end_user: Option<&str>,
    model: Option<&str>,
) -> Option<Context> {
    teams.iter().find_map(|team| {
        let ctx = context::load_for_principal(client, user_id, Some(team), org_id, end_user);
        let usable = ctx.team.as_ref().is_some_and(|t| !t.blocked)
            && !ctx.organization.as_ref().is_some_and(|o| o.blocked)
            && model.is_none_or(|m| gates::model_gate_passes(cat, &ctx, m));
        usable.then_some(ctx)
    })
}

/// The principal's team where no team is needed (docs/semantics.md §11.6): the first candidate (by id) that
/// exists and whose team and organization are not blocked; else the first that exists (the blocked gate then
/// refuses: blocking a team blocks the tokens that name it, as it blocks its keys); else no team. Candidates
/// that name no team are skipped: a group that is not a team never locks anyone out.
fn principal_team(
    client: &SpiClient<'_>,
    teams: &[&str],
    user_id: Option<&str>,
    org_id: Option<&str>,
    end_user: Option<&str>,
) -> Context {
    let mut first_blocked: Option<Context> = None;
    for team in teams {
        let ctx = context::load_for_principal(client, user_id, Some(team), org_id, end_user);
        let Some(row) = &ctx.team else {
            continue;
        };
        if !row.blocked && !ctx.organization.as_ref().is_some_and(|o| o.blocked) {
            return ctx;
        }
        if first_blocked.is_none() {
            first_blocked = Some(ctx);
        }
    }
    first_blocked
        .unwrap_or_else(|| context::load_for_principal(client, user_id, None, org_id, end_user))
}
