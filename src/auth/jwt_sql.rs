//! SQL functions about JWT issuers beyond the decision itself: `rbac.jwt_inspect` (say why a token gets the
//! decision it gets) and the write-time check of `rbac.jwt_issuers` rows (docs/identity-providers.md).
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

use crate::auth::{self, jwt, TokenKind};
use crate::caller;
use crate::catalogue;
use crate::check;
use crate::principal;
use crate::role::Role;
use crate::spi_util::{self, insufficient_privilege};

/// The public name of [`jwt_inspect`], as its refusals say.
const INSPECT: &str = "rbac.jwt_inspect";

/// Why `issuer_row` (`to_jsonb(NEW)` of `rbac.jwt_issuers`) cannot work as written, or NULL: JWKS without a
/// usable verification key or with private-key members, claim paths that can match nothing, issuer templates
/// (`{tenantid}`) without `allowed_tenants`, malformed `group_mappings` ([`jwt::issuer_row_problem`]). Called by
/// the validation trigger, which raises 23514 with this text. Never raises itself.
#[pg_extern(immutable, parallel_safe, name = "_jwt_issuer_problem")]
pub fn jwt_issuer_problem(issuer_row: JsonB) -> Option<String> {
    jwt::issuer_row_problem(&issuer_row.0)
}

/// The implementation of `rbac.jwt_inspect(token, route, model)`, run with the owner's rights by its C entry
/// point (`src/caller.rs`): explains what pg_rbac does with a JWT, as jsonb.
///
/// Who: a transaction principal (`rbac.authenticate`) that is `proxy_admin` or `proxy_admin_viewer` — the roles
/// that can already read every issuer row (without `jwks`), team and user the explanation draws on — and whose
/// virtual key, if any, allows `/key/info`; without a principal, a caller whose effective role is a superuser or
/// a member of `rbac_admin`. Anyone else: 42501, so the function is no oracle of other tenants' configuration.
///
/// The result: [`jwt::inspect`]'s report (header, issuer row chosen, key, each check, each configured claim path
/// and its value, the principal resolved, admission rules, warnings) plus `decision`: what `rbac.rbac_check(token,
/// route, model)` decides (with `route` NULL: what `rbac.authenticate(token)` decides), without performing budget
/// resets. Never key material or the token's signature. Errors: 42501 as above; 22023 for an empty route.
#[pg_extern(volatile, name = "_jwt_inspect")]
pub fn jwt_inspect(
    token: Option<&str>,
    route: default!(Option<&str>, "NULL"),
    model: default!(Option<&str>, "NULL"),
) -> JsonB {
    authorize_inspect();
    let route = route.map(|r| check::require_route(Some(r)));
    let mut report = match auth::classify(token) {
        TokenKind::Jwt(jwt_token) => {
            let cat = Spi::connect(catalogue::current);
            jwt::inspect(jwt_token, &cat.issuers, check::unix_now())
        }
        TokenKind::Missing => json!({"token": "missing"}),
        TokenKind::VirtualKey(_) => json!({"token": "a virtual key, not a JWT"}),
        TokenKind::Unrecognised => json!({"token": "neither a virtual key nor a JWT"}),
    };
    let outcome = match route {
        Some(route) => check::decide_without_resets(token, route, model, None),
        None => check::decide_authentication(token),
    };
    let d = &outcome.decision;
    if let Value::Object(map) = &mut report {
        map.insert(
            "decision".into(),
            json!({
                "route": route,
                // without a route the decision is authenticate's, which judges no model
                "model": route.and(model.filter(|m| !m.is_empty())),
                "allowed": d.allowed(), "http_status": d.reason.http_status(), "reason": d.reason.code(),
                "message": d.message, "user_id": d.user_id, "team_id": d.team_id,
                "organization_id": d.organization_id, "role": d.role.map(Role::name),
            }),
        );
    }
    JsonB(report)
}

/// 42501 unless the caller may inspect tokens (see [`jwt_inspect`]).
fn authorize_inspect() {
    let caller_administers = caller::management_caller_administers(INSPECT);
    let principal = principal::current().filter(|p| *p != principal::Principal::default());
    let Some(principal) = principal else {
        if caller_administers {
            return;
        }
        insufficient_privilege(format!(
            "{INSPECT}: no principal: call rbac.authenticate(token) as a proxy admin or viewer first (without a \
             principal only superusers and members of rbac_admin may inspect tokens)"
        ));
    };
    if !matches!(
        principal.role,
        Some(Role::ProxyAdmin | Role::ProxyAdminViewer)
    ) {
        insufficient_privilege(format!(
            "{INSPECT}: only a proxy admin or proxy admin viewer may inspect tokens (it explains every issuer's \
             configuration)"
        ));
    }
    let key_allows = Spi::get_one::<bool>("SELECT rbac._key_allows('/key/info')")
        .unwrap_or_else(|e| spi_util::spi_failed(e))
        .unwrap_or(false);
    if !key_allows {
        insufficient_privilege(format!(
            "{INSPECT}: the principal's virtual key may not call /key/info (its allowed_routes)"
        ));
    }
}
