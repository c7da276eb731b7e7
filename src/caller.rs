//! The *effective* database role behind a management call or a policy change (docs/secure-deployment.md,
//! "Who is calling").
//!
//! Management functions run with the owner's rights (SECURITY DEFINER), so inside them `current_user` is the
//! owner, and the login (`session_user`) or `SET ROLE` target says nothing about whose code is running: a
//! SECURITY DEFINER function or trigger owned by a proxy login, or an index expression that `ANALYZE` evaluates
//! as the table's owner, all run inside an administrator's session without changing either. Deciding from them
//! let a proxy login mint proxy-admin keys through an administrator's session (a confused deputy).
//!
//! Definer-rights code cannot see its caller, so the caller is captured on the caller's side:
//! * every management function ends with an argument `_caller text DEFAULT rbac._caller()`. PostgreSQL
//!   evaluates argument defaults in the *calling* context, before it switches to the owner, so
//!   `rbac._caller()` sees the effective role. It records that role (and whether it administers pg_rbac) in
//!   backend memory under a random one-time token, which becomes the argument's value;
//! * the management function's first step, `rbac._caller_claim(fn, token)`, takes the record back once. A token
//!   passed by hand is either one's own (no extra rights) or unknown (42501);
//! * a statement trigger on every audited table notes the effective role of plain DML, so that
//!   `audit_log.db_user` names the role whose rights made the change.
//!
//! Nothing here lives in a setting, so no `SET` can change it; all of it ends with the transaction.
use std::cell::RefCell;

use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgXactCallbackEvent};

use crate::spi_util::insufficient_privilege;

/// A captured caller: the effective role of the code that called a management function.
#[derive(Debug, Clone)]
struct Caller {
    role: String,
    /// Superuser or member of `rbac_admin`: may manage without a principal.
    administers: bool,
    /// Captured inside a security-restricted operation (ANALYZE, VACUUM, CREATE INDEX, REFRESH MATERIALIZED VIEW).
    restricted: bool,
}

thread_local! {
    /// Callers captured by `rbac._caller()` and not yet claimed: (token, caller, subtransaction).
    static PENDING: RefCell<Vec<(String, Caller, pg_sys::SubTransactionId)>> = const { RefCell::new(Vec::new()) };
    /// The role to record as `audit_log.db_user` for the changes being made now.
    static ACTING: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn forget_everything() {
    PENDING.with(|p| p.borrow_mut().clear());
    ACTING.with(|a| *a.borrow_mut() = None);
}

fn forget_at_transaction_end() {
    register_xact_callback(PgXactCallbackEvent::Commit, forget_everything);
    register_xact_callback(PgXactCallbackEvent::Abort, forget_everything);
    register_xact_callback(PgXactCallbackEvent::PrePrepare, forget_everything);
}

/// Drops the captures of an aborted subtransaction, so a token minted by rolled-back work cannot be claimed later.
pub fn forget_subtransaction(subtransaction: pg_sys::SubTransactionId) {
    PENDING.with(|p| p.borrow_mut().retain(|(_, _, sub)| *sub != subtransaction));
}

/// Hands the captures of a released subtransaction to its parent (so the parent's abort drops them).
pub fn release_subtransaction(
    subtransaction: pg_sys::SubTransactionId,
    parent: pg_sys::SubTransactionId,
) {
    PENDING.with(|p| {
        p.borrow_mut()
            .iter_mut()
            .filter(|(_, _, sub)| *sub == subtransaction)
            .for_each(|(_, _, sub)| *sub = parent)
    });
}

/// The name of a role by oid.
fn role_name(role: pg_sys::Oid) -> String {
    // SAFETY: GetUserNameFromId returns a palloc'd C string for an existing role (errors otherwise)
    unsafe {
        let name = pg_sys::GetUserNameFromId(role, false);
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    }
}

/// True when `role` is a superuser or a member of `rbac_admin` (membership, as `pg_has_role(..., 'MEMBER')`).
fn administers(role: pg_sys::Oid) -> bool {
    // SAFETY: catalog lookups by oid and name; a missing rbac_admin role gives InvalidOid (missing_ok)
    unsafe {
        if pg_sys::superuser_arg(role) {
            return true;
        }
        let admin = pg_sys::get_role_oid(c"rbac_admin".as_ptr(), true);
        admin != pg_sys::InvalidOid && pg_sys::is_member_of_role(role, admin)
    }
}

fn effective_role() -> pg_sys::Oid {
    // SAFETY: reads the backend's current user id
    unsafe { pg_sys::GetUserId() }
}

fn in_security_restricted_operation() -> bool {
    // SAFETY: reads the backend's security context flags
    unsafe { pg_sys::InSecurityRestrictedOperation() }
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| {
        crate::spi_util::raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("no randomness available: {e}"),
        )
    });
    hex::encode(bytes)
}

/// Records the effective role calling a management function and returns a one-time token naming the record.
/// It is the default of every management function's trailing `_caller` argument and is not meant to be called
/// otherwise: a token only ever describes the role that obtained it, so handing one over grants nothing.
#[pg_extern(volatile, parallel_restricted, name = "_caller")]
pub fn caller_token() -> String {
    let role = effective_role();
    let caller = Caller {
        role: role_name(role),
        administers: administers(role),
        restricted: in_security_restricted_operation(),
    };
    let token = new_token();
    // SAFETY: reads the backend's current subtransaction id
    let subtransaction = unsafe { pg_sys::GetCurrentSubTransactionId() };
    PENDING.with(|p| p.borrow_mut().push((token.clone(), caller, subtransaction)));
    forget_at_transaction_end();
    token
}

/// Claims the caller recorded under `token` for management function `fn_name` (once) and makes it the
/// `audit_log.db_user` of the changes that follow. Returns true when that role is a superuser or a member of
/// `rbac_admin`. Raises 42501 for an unknown or already claimed token, and inside a security-restricted
/// operation (management from an index expression, ANALYZE, VACUUM or a materialized view refresh is refused).
#[pg_extern(volatile, parallel_restricted, name = "_caller_claim")]
pub fn caller_claim(fn_name: &str, token: Option<&str>) -> bool {
    let claimed = token.and_then(|token| {
        PENDING.with(|p| {
            let mut pending = p.borrow_mut();
            let at = pending.iter().position(|(t, _, _)| t == token)?;
            Some(pending.remove(at).1)
        })
    });
    let Some(caller) = claimed else {
        insufficient_privilege(format!(
            "{fn_name}: unknown caller token; call the function without its _caller argument (its default records the caller)"
        ))
    };
    if caller.restricted || in_security_restricted_operation() {
        insufficient_privilege(format!(
            "{fn_name}: management is refused inside a security-restricted operation (ANALYZE, VACUUM, CREATE INDEX, \
             REFRESH MATERIALIZED VIEW run functions with another role's rights)"
        ));
    }
    ACTING.with(|a| *a.borrow_mut() = Some(caller.role.clone()));
    forget_at_transaction_end();
    caller.administers
}

/// The database role to record as `audit_log.db_user`: the caller of the management function making the change,
/// or the role that ran the plain DML; NULL when neither was noted in this transaction.
#[pg_extern(stable, parallel_restricted, name = "_acting_db_user")]
pub fn acting_db_user() -> Option<String> {
    ACTING.with(|a| a.borrow().clone())
}

/// Statement trigger on every audited table: notes the effective role running the statement as the
/// `audit_log.db_user` of its rows. Statements run by pg_rbac's own definer-rights code (management functions,
/// validation, foreign-key cascades as the owner) keep the role noted by the statement or call that caused them.
#[pg_trigger]
pub fn _note_dml_role<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByPostgres>>, pgrx::PgTriggerError> {
    let role = effective_role();
    let relation = trigger.relation()?;
    // SAFETY: rd_rel of an open relation is valid while the trigger runs
    let owner = unsafe { (*relation.rd_rel).relowner };
    // SAFETY: reads the backend's security context flags
    let inside_owner_code = role == owner && unsafe { pg_sys::InLocalUserIdChange() };
    if !inside_owner_code {
        ACTING.with(|a| *a.borrow_mut() = Some(role_name(role)));
        forget_at_transaction_end();
    }
    Ok(None)
}
