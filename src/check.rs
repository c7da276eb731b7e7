//! `rbac.rbac_check`: one authorization decision for one request (docs/semantics.md §4).
//!
//! Order (first failing reason wins): token → blocked (key, team, organization, customer) → route gate →
//! model gate (key, team, team member, organization, user, customer) → budgets (key, team member, team,
//! organization, user, customer). The token is classified and verified here; the gates after it are `gates`.
use std::rc::Rc;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::access::budget;
use crate::access::routes::{self, RouteSubject};
use crate::auth::{self, jwt, jwt_principal, keys, TokenKind};
use crate::catalogue::{self, Catalogue};
use crate::context::{self, Context};
use crate::decision::{Decision, Reason};
use crate::gates::{self, Outcome};
use crate::scope::Scope;
use crate::spi_util;
use crate::trace::Trace;

/// Authorizes one request.
///
/// * `token`: the bearer credential as the client sent it: a virtual key (`sk-…`) or a JWT (compact JWS);
///   surrounding whitespace and a `Bearer ` prefix are ignored.
/// * `route`: the request path (`/chat/completions`, `/v1/messages`, `/key/generate`…); a query string is ignored.
/// * `model`: the requested model name (NULL for routes without a model).
/// * `end_user_id`: the customer the request is for (LiteLLM's body `user`); a JWT's end-user claim wins.
///
/// Returns an `rbac.decision` (allowed, http_status, reason, message, user_id, team_id, organization_id, role,
/// key_hash, limit_scope); a bad token or a denial is a decision, never an error. Errors: `22023` when `route`
/// is NULL or empty, or `end_user_id` is longer than 1024 characters. Semantics: LiteLLM's `user_api_key_auth` + `common_checks` (docs/semantics.md §3–§9) with
/// the deliberate fixes of docs/semantics.md §14. A budget period that has lapsed is reset by the check that sees it.
#[pg_extern(volatile, security_definer, name = "rbac_check")]
pub fn rbac_check_sql(
    token: Option<&str>,
    route: Option<&str>,
    model: Option<&str>,
    end_user_id: default!(Option<&str>, "NULL"),
) -> pgrx::composite_type!('static, "decision") {
    let route = require_route(route);
    let end_user_id = require_end_user(end_user_id);
    let outcome = decide(token, route, model, end_user_id);
    crate::decision_log::record_check(&outcome, route, model, end_user_id);
    outcome.decision.into_composite()
}

/// Whether `token` may call `model` on an LLM route now — `rbac_check(token, '/chat/completions', model)`'s
/// `allowed`, the same decision, but not written to `rbac.decision_log`: listing the models a token may call
/// (`rbac.allowed_models`, the proxy's `/v1/models`) is not a request for each of them. Internal: closed to
/// everyone but the owner (`rbac.allowed_models` runs as the owner).
#[pg_extern(volatile, name = "_model_is_callable")]
pub fn model_is_callable(token: Option<&str>, model: &str) -> bool {
    decide(token, "/chat/completions", Some(model), None)
        .decision
        .allowed()
}

/// The longest customer id accepted (characters). Ids come from request bodies: an unbounded one would be
/// stored in windows, reservations and spend_log rows at the client's choice.
pub const MAX_END_USER_ID_CHARS: usize = 1024;

/// Validates the end-user argument: `22023` above [`MAX_END_USER_ID_CHARS`]; an empty id means none.
pub fn require_end_user(end_user_id: Option<&str>) -> Option<&str> {
    let end_user_id = end_user_id.filter(|e| !e.is_empty());
    if end_user_id.is_some_and(|e| e.chars().count() > MAX_END_USER_ID_CHARS) {
        spi_util::invalid_parameter(format!(
            "end_user_id must be at most {MAX_END_USER_ID_CHARS} characters"
        ));
    }
    end_user_id
}

/// Validates and normalises the route argument: `22023` for NULL/empty; the query string is dropped.
pub fn require_route(route: Option<&str>) -> &str {
    let route = route.map(str::trim).unwrap_or("");
    let route = route.split('?').next().unwrap_or("");
    if route.is_empty() {
        spi_util::invalid_parameter(
            "route must be a non-empty request path such as /chat/completions",
        );
    }
    route
}

/// Authentication only (`rbac.authenticate`): the token and blocked checks, no route, model or budget gate.
pub fn decide_authentication(token: Option<&str>) -> Outcome {
    decide_inner(token, None, None, None, &mut Trace::off())
}

/// Runs the whole check and performs due budget resets (unless the transaction is read-only).
pub fn decide(
    token: Option<&str>,
    route: &str,
    model: Option<&str>,
    end_user_id: Option<&str>,
) -> Outcome {
    let outcome = decide_inner(token, Some(route), model, end_user_id, &mut Trace::off());
    if let Some(ctx) = &outcome.context {
        reset_due_budgets(ctx);
    }
    outcome
}

/// The same decision without performing the resets, for `consume_quota`: its admission counts a lapsed period
/// as spend 0 and `settle` resets the period when it records spend, so every row it locks is locked in the one
/// order all admissions use (a reset here would lock a team or organization before the key).
pub fn decide_without_resets(
    token: Option<&str>,
    route: &str,
    model: Option<&str>,
    end_user_id: Option<&str>,
) -> Outcome {
    decide_inner(token, Some(route), model, end_user_id, &mut Trace::off())
}

/// The decision of [`decide_without_resets`] (which `rbac_check` returns too: resets never change it), with
/// every step the gates evaluated recorded into `trace` (`rbac.explain`). The same code path, not a copy.
pub fn decide_traced(
    token: Option<&str>,
    route: &str,
    model: Option<&str>,
    end_user_id: Option<&str>,
    trace: &mut Trace,
) -> Outcome {
    decide_inner(token, Some(route), model, end_user_id, trace)
}

fn decide_inner(
    token: Option<&str>,
    route: Option<&str>,
    model: Option<&str>,
    end_user_id: Option<&str>,
    trace: &mut Trace,
) -> Outcome {
    let model = model.filter(|m| !m.is_empty());
    let end_user_id = end_user_id.filter(|e| !e.is_empty());
    Spi::connect(|client| match auth::classify(token) {
        TokenKind::Missing => {
            trace.step("token", false, String::new, || "no credential".into());
            Outcome::bare(Decision::deny(
                Reason::MissingToken,
                "no credential was presented",
            ))
        }
        TokenKind::Unrecognised => {
            trace.step("token", false, String::new, || {
                "neither a virtual key (sk-...) nor a JWT".into()
            });
            Outcome::bare(Decision::deny(
                Reason::InvalidToken,
                "the credential is neither a virtual key (sk-...) nor a JWT",
            ))
        }
        TokenKind::VirtualKey(plaintext) => {
            decide_for_key(client, plaintext, route, model, end_user_id, trace)
        }
        TokenKind::Jwt(token) => {
            trace.step(
                "token",
                true,
                || "JWT".into(),
                || "a compact JWS: verified next (its signature is never shown)".into(),
            );
            decide_for_jwt(client, token, route, model, end_user_id, trace)
        }
    })
}

fn decide_for_key(
    client: &SpiClient<'_>,
    plaintext: &str,
    route: Option<&str>,
    model: Option<&str>,
    end_user_id: Option<&str>,
    trace: &mut Trace,
) -> Outcome {
    let key_hash = keys::hash_key(plaintext);
    let ctx = context::load_for_key(client, &key_hash, end_user_id);
    trace.step(
        "token",
        ctx.is_some(),
        || format!("virtual key {key_hash}"),
        || match &ctx {
            Some(_) => "found in rbac.keys (by the SHA-256 of the key)".into(),
            None => {
                "no usable key with this hash (unknown, or an old key past its grace period)".into()
            }
        },
    );
    let Some(ctx) = ctx else {
        return Outcome::bare(Decision::deny(Reason::InvalidToken, "unknown virtual key"));
    };
    let cat = catalogue::current(client);
    let key = ctx.key.as_ref().expect("key context has a key");
    trace.step(
        "principal",
        true,
        || format!("key {}", key.key_hash),
        || {
            format!(
                "user {}, role {}, team {}, organization {}, customer {}{}",
                key.user_id.as_deref().unwrap_or("(none)"),
                ctx.user_role.map_or("(none)", crate::role::Role::name),
                ctx.team.as_ref().map_or("(none)", |t| t.id.as_str()),
                ctx.organization
                    .as_ref()
                    .map_or("(none)", |o| o.id.as_str()),
                ctx.end_user_id.as_deref().unwrap_or("(none)"),
                if key.in_grace_period {
                    "; an old key in its regeneration grace period: LLM routes only"
                } else {
                    ""
                }
            )
        },
    );
    trace.step(
        "expiry",
        !key.expired,
        || format!("key {}", key.key_hash),
        || {
            if key.expired {
                "expired (expires <= now())"
            } else {
                "not expired"
            }
            .into()
        },
    );
    let mut decision = Decision {
        reason: Reason::Ok,
        message: String::new(),
        user_id: key.user_id.clone(),
        team_id: ctx.team.as_ref().map(|t| t.id.clone()),
        organization_id: ctx.organization.as_ref().map(|o| o.id.clone()),
        role: ctx.user_role,
        key_hash: Some(key.key_hash.clone()),
        limit_scope: None,
    };
    if key.expired {
        return finish(
            decision.with(Reason::TokenExpired, "the virtual key has expired"),
            ctx,
            cat,
        );
    }
    let subject = RouteSubject {
        role: ctx.user_role,
        is_org_admin: ctx.is_org_admin,
        key_allowed_routes: &key.allowed_routes,
        key_may_read_global_spend: key.may_read_global_spend,
        // an old key inside its regeneration grace period only keeps serving traffic (it may have leaked)
        required_lists: if key.in_grace_period {
            vec![LLM_ROUTES_ONLY.as_slice()]
        } else {
            vec![]
        },
    };
    if let Some(denial) = gates::run(&cat, &ctx, &subject, route, model, &[], trace) {
        decision.deny_with(denial);
    }
    finish(decision, ctx, cat)
}

/// The route list of a key in its regeneration grace period: LLM routes only.
static LLM_ROUTES_ONLY: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| vec![routes::group::LLM_API.to_string()]);

fn finish(decision: Decision, ctx: Context, cat: Rc<Catalogue>) -> Outcome {
    Outcome {
        decision,
        context: Some(ctx),
        catalogue: Some(cat),
    }
}

/// Performs the lazy resets the context found due (skipped in read-only transactions: the decision
/// already counted the lapsed period as spend 0).
fn reset_due_budgets(ctx: &Context) {
    let due: Vec<_> = Scope::ALL
        .into_iter()
        .filter_map(|scope| ctx.budget_level(scope))
        .filter(|l| l.budget.reset_due)
        .map(|l| l.row)
        .collect();
    if due.is_empty() || spi_util::transaction_is_read_only() {
        return;
    }
    Spi::connect_mut(|client| {
        for row in &due {
            budget::reset_period(client, *row);
        }
    });
}

/// JWT path: verify, derive the role, pick the team, then the same gates as keys.
fn decide_for_jwt(
    client: &SpiClient<'_>,
    token: &str,
    route: Option<&str>,
    model: Option<&str>,
    end_user_id: Option<&str>,
    trace: &mut Trace,
) -> Outcome {
    let cat = catalogue::current(client);
    jwt::set_cache_capacity(usize::try_from(crate::JWT_CACHE_SIZE.get()).unwrap_or(0));
    let principal = match jwt::verify(token, &cat.issuers, unix_now()) {
        Ok(p) => p,
        Err(e) => {
            trace.step(
                "jwt",
                false,
                || "verification".into(),
                || jwt_error_message(&e),
            );
            return Outcome::bare(Decision::deny(e.reason(), jwt_error_message(&e)));
        }
    };
    trace.step(
        "jwt",
        true,
        || format!("issuer {}", principal.issuer),
        || {
            format!(
                "signature, issuer, audience and lifetime verified; sub {}",
                principal.subject.as_deref().unwrap_or("(none)")
            )
        },
    );
    jwt_principal::decide(client, cat, principal, route, model, end_user_id, trace)
}

/// Seconds since the Unix epoch at transaction start (JWT `exp`/`nbf` are compared with this, RFC 7519 §4.1.4).
pub fn unix_now() -> i64 {
    // SAFETY: reads the backend's transaction start timestamp
    let micros_since_2000 = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    micros_since_2000.div_euclid(1_000_000) + 946_684_800
}

fn jwt_error_message(e: &jwt::JwtError) -> String {
    match e {
        jwt::JwtError::Malformed(m) => format!("malformed JWT: {m}"),
        jwt::JwtError::BadSignature(m) => format!("JWT signature not verified: {m}"),
        jwt::JwtError::UntrustedIssuer => "the JWT issuer is not trusted (rbac.jwt_issuers)".into(),
        jwt::JwtError::AudienceMismatch => {
            "the JWT audience is not one of the issuer's audiences".into()
        }
        jwt::JwtError::Expired => "the JWT has expired".into(),
        jwt::JwtError::NotYetValid => "the JWT is not valid yet (nbf)".into(),
        jwt::JwtError::NotAccessToken(m) => format!("not an access token: {m}"),
        jwt::JwtError::TenantNotAllowed(m) => {
            format!("the JWT issuer is not trusted (rbac.jwt_issuers): {m}")
        }
    }
}
