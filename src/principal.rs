//! The backend-local principal of the current transaction (CONTRACT §5). Kept in process memory, never in a
//! GUC, so no `SET`/`set_config` can change who the caller is.
use std::cell::RefCell;

use pgrx::prelude::*;

/// Who the current transaction acts for, as set by `rbac.authenticate`.
#[derive(Debug, Clone, Default)]
pub struct Principal {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub organization_id: Option<String>,
    pub role: Option<String>,
    pub key_hash: Option<String>,
}

thread_local! {
    static CURRENT: RefCell<Option<Principal>> = const { RefCell::new(None) };
}

/// The principal of the current transaction, if `rbac.authenticate` set one.
pub fn current() -> Option<Principal> {
    CURRENT.with(|c| c.borrow().clone())
}

/// The acting user id recorded in `rbac.audit_log.actor`: the principal's user id, or NULL.
#[pg_extern(stable, parallel_restricted, name = "current_principal_user_id")]
fn current_principal_user_id() -> Option<String> {
    current().and_then(|p| p.user_id)
}
