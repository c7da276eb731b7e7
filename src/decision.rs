//! Decisions and their reason codes (CONTRACT §3): a denial is a value, never an exception.
use pgrx::prelude::*;

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
    pub role: Option<String>,
    pub key_hash: Option<String>,
    pub limit_scope: Option<&'static str>,
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

    /// Builds the `rbac.decision` composite value.
    pub fn into_composite(self) -> PgHeapTuple<'static, AllocatedByRust> {
        let mut tuple = new_composite("rbac.decision");
        put(&mut tuple, 1, self.allowed());
        put(&mut tuple, 2, self.reason.http_status());
        put(&mut tuple, 3, self.reason.code());
        put(&mut tuple, 4, self.message);
        put(&mut tuple, 5, self.user_id);
        put(&mut tuple, 6, self.team_id);
        put(&mut tuple, 7, self.organization_id);
        put(&mut tuple, 8, self.role);
        put(&mut tuple, 9, self.key_hash);
        put(&mut tuple, 10, self.limit_scope);
        tuple
    }
}

thread_local! {
    static TYPE_OIDS: std::cell::RefCell<std::collections::HashMap<&'static str, pg_sys::Oid>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// A new, empty value of one of pg_rbac's composite types (`rbac.decision`, `rbac.quota`, `rbac.principal`).
/// The type's oid is resolved by name once per backend (name resolution parses the name and sets up an error
/// trap: microseconds per call) and re-resolved if the type was dropped and re-created since.
pub fn new_composite(type_name: &'static str) -> PgHeapTuple<'static, AllocatedByRust> {
    let cached = TYPE_OIDS.with(|m| m.borrow().get(type_name).copied());
    // SAFETY: a syscache lookup; an unknown oid yields InvalidOid
    let oid = match cached {
        Some(oid) if unsafe { pg_sys::get_typ_typrelid(oid) } != pg_sys::InvalidOid => oid,
        _ => {
            let oid = pgrx::PgTupleDesc::for_composite_type(type_name).map(|d| d.oid()).unwrap_or_else(|| {
                crate::spi_util::raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("type {type_name} is missing"))
            });
            TYPE_OIDS.with(|m| m.borrow_mut().insert(type_name, oid));
            oid
        }
    };
    PgHeapTuple::new_composite_type_by_oid(oid)
        .unwrap_or_else(|e| crate::spi_util::raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string()))
}

/// Sets attribute `attno` (1-based) of a composite under construction.
pub fn put<T: IntoDatum>(tuple: &mut PgHeapTuple<'static, AllocatedByRust>, attno: usize, value: T) {
    let index = std::num::NonZeroUsize::new(attno).expect("attribute numbers start at 1");
    if let Err(e) = tuple.set_by_index(index, value) {
        crate::spi_util::raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("composite attribute {attno}: {e}"));
    }
}
