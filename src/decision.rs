//! Decisions and their reason codes (docs/semantics.md §4): a denial is a value, never an exception.
use pgrx::prelude::*;

use crate::gates::Denial;
use crate::role::Role;
use crate::scope::Scope;

/// Why a request was allowed or denied, with the HTTP status a proxy should answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Ok,
    MissingToken,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
    UntrustedIssuer,
    AudienceMismatch,
    KeyBlocked,
    TeamBlocked,
    OrganizationBlocked,
    EndUserBlocked,
    RouteNotAllowed,
    KeyModelAccessDenied,
    TeamModelAccessDenied,
    UserModelAccessDenied,
    OrgModelAccessDenied,
    CustomerModelAccessDenied,
    NoTeamForModel,
    RoleNotMapped,
    ClaimsNotAllowed,
    GroupsOverage,
    BudgetExceeded,
}

impl Reason {
    /// The `reason` code of the contract.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::MissingToken => "missing_token",
            Reason::InvalidToken => "invalid_token",
            Reason::TokenExpired => "token_expired",
            Reason::TokenNotYetValid => "token_not_yet_valid",
            Reason::UntrustedIssuer => "untrusted_issuer",
            Reason::AudienceMismatch => "audience_mismatch",
            Reason::KeyBlocked => "key_blocked",
            Reason::TeamBlocked => "team_blocked",
            Reason::OrganizationBlocked => "organization_blocked",
            Reason::EndUserBlocked => "end_user_blocked",
            Reason::RouteNotAllowed => "route_not_allowed",
            Reason::KeyModelAccessDenied => "key_model_access_denied",
            Reason::TeamModelAccessDenied => "team_model_access_denied",
            Reason::UserModelAccessDenied => "user_model_access_denied",
            Reason::OrgModelAccessDenied => "org_model_access_denied",
            Reason::CustomerModelAccessDenied => "customer_model_access_denied",
            Reason::NoTeamForModel => "no_team_for_model",
            Reason::RoleNotMapped => "role_not_mapped",
            Reason::ClaimsNotAllowed => "claims_not_allowed",
            Reason::GroupsOverage => "groups_overage",
            Reason::BudgetExceeded => "budget_exceeded",
        }
    }

    /// The HTTP status of the contract's reason table.
    pub fn http_status(self) -> i32 {
        match self {
            Reason::Ok => 200,
            Reason::MissingToken
            | Reason::InvalidToken
            | Reason::TokenExpired
            | Reason::TokenNotYetValid
            | Reason::UntrustedIssuer
            | Reason::AudienceMismatch
            | Reason::KeyBlocked
            | Reason::TeamBlocked
            | Reason::OrganizationBlocked => 401,
            Reason::BudgetExceeded => 429,
            _ => 403,
        }
    }
}

/// One authorization decision (`rbac.decision`).
#[derive(Debug, Clone)]
pub struct Decision {
    pub reason: Reason,
    pub message: String,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub organization_id: Option<String>,
    pub role: Option<Role>,
    pub key_hash: Option<String>,
    /// The exhausted budget level of a `budget_exceeded` denial.
    pub limit_scope: Option<Scope>,
}

impl Decision {
    /// A decision with no principal attached (token problems).
    pub fn deny(reason: Reason, message: impl Into<String>) -> Decision {
        Decision {
            reason,
            message: message.into(),
            user_id: None,
            team_id: None,
            organization_id: None,
            role: None,
            key_hash: None,
            limit_scope: None,
        }
    }

    pub fn allowed(&self) -> bool {
        self.reason == Reason::Ok
    }

    /// The same principal with another reason and message.
    pub fn with(mut self, reason: Reason, message: impl Into<String>) -> Decision {
        self.reason = reason;
        self.message = message.into();
        self
    }

    /// Records a gate's refusal.
    pub fn deny_with(&mut self, denial: Denial) {
        self.reason = denial.reason;
        self.message = denial.message;
        self.limit_scope = denial.limit_scope;
    }

    /// Builds the `rbac.decision` composite value.
    pub fn into_composite(self) -> PgHeapTuple<'static, AllocatedByRust> {
        composite(
            "rbac.decision",
            vec![
                self.allowed().into_datum(),
                self.reason.http_status().into_datum(),
                self.reason.code().into_datum(),
                self.message.into_datum(),
                self.user_id.into_datum(),
                self.team_id.into_datum(),
                self.organization_id.into_datum(),
                self.role.map(Role::name).into_datum(),
                self.key_hash.into_datum(),
                self.limit_scope.map(Scope::name).into_datum(),
            ],
        )
    }
}

thread_local! {
    static TYPE_OIDS: std::cell::RefCell<std::collections::HashMap<&'static str, pg_sys::Oid>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// A value of one of pg_rbac's composite types (`rbac.decision`, `rbac.quota`, `rbac.principal`) formed in one
/// step from its attribute datums, in attribute order. (Setting attributes one by one re-forms the tuple each
/// time.) The type's oid is resolved by name once per backend — name resolution parses the name under an error
/// trap, microseconds per call — and again if the type was dropped and re-created since.
pub fn composite(
    type_name: &'static str,
    datums: Vec<Option<pg_sys::Datum>>,
) -> PgHeapTuple<'static, AllocatedByRust> {
    let cached = TYPE_OIDS.with(|m| m.borrow().get(type_name).copied());
    // SAFETY: a syscache lookup; an unknown oid yields InvalidOid
    let oid = match cached {
        Some(oid) if unsafe { pg_sys::get_typ_typrelid(oid) } != pg_sys::InvalidOid => oid,
        _ => {
            let oid = pgrx::PgTupleDesc::for_composite_type(type_name)
                .map(|d| d.oid())
                .unwrap_or_else(|| {
                    crate::spi_util::raise(
                        PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                        format!("type {type_name} is missing"),
                    )
                });
            TYPE_OIDS.with(|m| m.borrow_mut().insert(type_name, oid));
            oid
        }
    };
    let tupdesc = pgrx::PgTupleDesc::for_composite_type_by_oid(oid).unwrap_or_else(|| {
        crate::spi_util::raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("type {type_name} is missing"),
        )
    });
    // SAFETY: every datum was produced by `IntoDatum` for the attribute's own type, in attribute order
    unsafe { PgHeapTuple::from_datums(tupdesc, datums) }.unwrap_or_else(|e| {
        crate::spi_util::raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string())
    })
}
