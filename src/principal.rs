//! The backend-local principal of the current transaction (docs/semantics.md §12): `rbac.authenticate` sets it,
//! `rbac.current_principal()` reads it, transaction end clears it. It lives in process memory, never in a GUC,
//! so no `SET`/`set_config` can change who the caller is.
use std::cell::RefCell;

use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgXactCallbackEvent};

use crate::check;
use crate::decision::{composite, Decision};
use crate::gates::Outcome;
use crate::role::Role;

/// Who the current transaction acts for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Principal {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub organization_id: Option<String>,
    pub role: Option<Role>,
    pub key_hash: Option<String>,
}

/// PostgreSQL's `TopSubTransactionId`: the top-level transaction itself (a C macro, not exported by pgrx).
const TOP_SUBTRANSACTION: pg_sys::SubTransactionId = 1;

thread_local! {
    static CURRENT: RefCell<Option<Principal>> = const { RefCell::new(None) };
    /// Principals to restore if a subtransaction aborts: (subtransaction id, principal before it changed it).
    static SAVED: RefCell<Vec<(pg_sys::SubTransactionId, Option<Principal>)>> = const { RefCell::new(Vec::new()) };
}

/// The principal of the current transaction, if `rbac.authenticate` set one.
pub fn current() -> Option<Principal> {
    CURRENT.with(|c| c.borrow().clone())
}

fn clear() {
    CURRENT.with(|c| *c.borrow_mut() = None);
    SAVED.with(|s| s.borrow_mut().clear());
}

/// Inside a savepoint, remembers the principal in force before this subtransaction changed it, so that
/// `ROLLBACK TO SAVEPOINT` brings it back: a principal set (or cleared) by rolled-back work does not survive.
fn restore_on_savepoint_rollback() {
    // SAFETY: reads the backend's current subtransaction id
    let subtransaction = unsafe { pg_sys::GetCurrentSubTransactionId() };
    if subtransaction == TOP_SUBTRANSACTION {
        return;
    }
    let previous = current();
    SAVED.with(|s| {
        let mut saved = s.borrow_mut();
        if !saved.iter().any(|(id, _)| *id == subtransaction) {
            saved.push((subtransaction, previous));
        }
    });
    clear_at_transaction_end();
}

/// Subtransaction callback (registered once per backend): an aborted subtransaction restores the principal it
/// started with; a released one hands its saved state to its parent (or drops it at the top level).
#[pg_guard]
unsafe extern "C-unwind" fn on_subtransaction(
    event: pg_sys::SubXactEvent::Type,
    subtransaction: pg_sys::SubTransactionId,
    parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        let restored = SAVED.with(|s| {
            let mut saved = s.borrow_mut();
            let first = saved.iter().position(|(id, _)| *id == subtransaction);
            let restored = first.map(|i| saved[i].1.clone());
            saved.retain(|(id, _)| *id != subtransaction);
            restored
        });
        if let Some(previous) = restored {
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    } else if event == pg_sys::SubXactEvent::SUBXACT_EVENT_COMMIT_SUB {
        SAVED.with(|s| {
            let mut saved = s.borrow_mut();
            let parent_has_state = saved.iter().any(|(id, _)| *id == parent);
            if parent == TOP_SUBTRANSACTION || parent_has_state {
                saved.retain(|(id, _)| *id != subtransaction);
            } else {
                saved
                    .iter_mut()
                    .filter(|(id, _)| *id == subtransaction)
                    .for_each(|(id, _)| *id = parent);
            }
        });
    }
}

/// Registers the subtransaction callback; called once per backend from `_PG_init`.
pub fn register_callbacks() {
    // SAFETY: registration at library load; the callback only touches thread-local state
    unsafe { pg_sys::RegisterSubXactCallback(Some(on_subtransaction), std::ptr::null_mut()) };
}

/// Replaces the principal and arranges for it to vanish when the transaction ends (commit, abort or prepare).
fn set_for_transaction(principal: Principal) {
    restore_on_savepoint_rollback();
    CURRENT.with(|c| *c.borrow_mut() = Some(principal));
    clear_at_transaction_end();
}

/// Transaction end (commit, abort, prepare) forgets the principal and any saved savepoint state.
fn clear_at_transaction_end() {
    // pgrx callbacks last for the current transaction only; registering on every call is cheap and robust.
    register_xact_callback(PgXactCallbackEvent::Commit, clear);
    register_xact_callback(PgXactCallbackEvent::Abort, clear);
    register_xact_callback(PgXactCallbackEvent::PrePrepare, clear);
}

/// Verifies `token` (a virtual key `sk-…` or a JWT) and, when it authenticates (valid, not expired, not
/// blocked), makes it the principal of the current transaction, replacing any earlier one; otherwise the
/// principal is cleared. Returns the `rbac.decision` of the authentication (no route, model or budget gate).
/// Use inside an explicit transaction: the principal ends with it. Never raises for a bad token.
#[pg_extern(volatile, security_definer)]
pub fn authenticate(token: Option<&str>) -> pgrx::composite_type!('static, "decision") {
    let Outcome {
        decision, context, ..
    } = check::decide_authentication(token);
    if decision.allowed() {
        let mut principal = principal_of(&decision);
        // An old key inside its regeneration grace period keeps its own (old) hash as the principal's key, so
        // that management and row-level security see it for what it is: LLM routes only (rbac._key_allows).
        if context
            .as_ref()
            .and_then(|c| c.key.as_ref())
            .is_some_and(|k| k.in_grace_period)
        {
            if let crate::auth::TokenKind::VirtualKey(plaintext) = crate::auth::classify(token) {
                principal.key_hash = Some(crate::auth::keys::hash_key(plaintext));
            }
        }
        set_for_transaction(principal);
    } else {
        restore_on_savepoint_rollback();
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
    decision.into_composite()
}

fn principal_of(d: &Decision) -> Principal {
    Principal {
        user_id: d.user_id.clone(),
        team_id: d.team_id.clone(),
        organization_id: d.organization_id.clone(),
        role: d.role,
        key_hash: d.key_hash.clone(),
    }
}

/// The principal of the current transaction as `rbac.principal` (user_id, team_id, organization_id, role,
/// key_hash); every field is NULL when `rbac.authenticate` has not succeeded in this transaction.
/// Row-level security policies are written against it.
#[pg_extern(stable, parallel_restricted)]
pub fn current_principal() -> pgrx::composite_type!('static, "principal") {
    let p = current().unwrap_or_default();
    composite(
        "rbac.principal",
        vec![
            p.user_id.into_datum(),
            p.team_id.into_datum(),
            p.organization_id.into_datum(),
            p.role.map(Role::name).into_datum(),
            p.key_hash.into_datum(),
        ],
    )
}

/// The principal's user id, or NULL (recorded as `rbac.audit_log.actor`; used by row-level security).
#[pg_extern(stable, parallel_restricted)]
pub fn current_principal_user_id() -> Option<String> {
    current().and_then(|p| p.user_id)
}

/// The principal's role (`proxy_admin`, `internal_user`, …), or NULL without a principal.
#[pg_extern(stable, parallel_restricted)]
pub fn current_principal_role() -> Option<String> {
    current().and_then(|p| p.role).map(|r| r.name().to_string())
}
