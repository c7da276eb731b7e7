//! The *effective* database role behind a management call or a policy change (docs/secure-deployment.md,
//! "Who is calling").
//!
//! Management writes rows the caller's row-level security hides, so it runs with the owner's rights. A
//! `SECURITY DEFINER` function cannot see who called it: inside it `current_user` is the owner, and the login
//! (`session_user`) or `SET ROLE` target says nothing about whose code is running — a definer function or view of
//! a proxy login, or an index expression that `ANALYZE` evaluates as the table's owner, all run inside an
//! administrator's session without changing either. Deciding from them let a proxy login mint proxy-admin keys
//! through an administrator's session (a confused deputy). Handing an identity from the caller's side to the
//! definer side through a value does not work either: anything the caller's context evaluates (an argument
//! default of *someone else's* function, a view column) can be captured and replayed by other code.
//!
//! So the public management functions are one C entry point, [`rbac_manage`], that is *not* `SECURITY DEFINER`.
//! Called directly by the code that names it, it reads `current_user` itself (`GetUserId()`), refuses inside
//! security-restricted operations, switches to the owner exactly as PostgreSQL does for definer functions, and
//! calls the PL/pgSQL implementation `rbac._<name>` with the same arguments. While the implementation runs, the
//! caller is on a backend-local stack that only the implementations read (`rbac._management_caller_administers`);
//! no other code runs between the capture and its use. A statement trigger on every audited table notes the
//! effective role of plain DML, so that `audit_log.db_user` names the role whose rights made a change.
//!
//! Nothing here lives in a setting, so no `SET` can change it; all of it ends with the call or the transaction.
use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgXactCallbackEvent};

use crate::spi_util::{self, insufficient_privilege};

/// The effective role that called a public management function.
#[derive(Debug, Clone)]
struct Caller {
    role: String,
    /// Superuser or member of `rbac_admin`: may manage without a principal.
    administers: bool,
}

/// A public management function's implementation: `rbac._<name>` with the same argument types.
#[derive(Debug, Clone, Copy)]
struct Implementation {
    function: pg_sys::Oid,
    owner: pg_sys::Oid,
}

thread_local! {
    /// Callers of the management calls running now, innermost last.
    static CALLERS: RefCell<Vec<Caller>> = const { RefCell::new(Vec::new()) };
    /// The role to record as `audit_log.db_user` for the changes being made now.
    static ACTING: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Public function oid → implementation (functions are immutable once created; a new install has new oids).
    static IMPLEMENTATIONS: RefCell<HashMap<pg_sys::Oid, Implementation>> = RefCell::new(HashMap::new());
}

fn forget_everything() {
    CALLERS.with(|c| c.borrow_mut().clear());
    ACTING.with(|a| *a.borrow_mut() = None);
}

fn forget_at_transaction_end() {
    register_xact_callback(PgXactCallbackEvent::Commit, forget_everything);
    register_xact_callback(PgXactCallbackEvent::Abort, forget_everything);
    register_xact_callback(PgXactCallbackEvent::PrePrepare, forget_everything);
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

/// The implementation of public management function `public` (cached per backend). Operators and types are
/// schema-qualified: this runs before the switch to the owner, under whatever search_path is in force.
fn implementation_of(public: pg_sys::Oid) -> Implementation {
    if let Some(found) = IMPLEMENTATIONS.with(|m| m.borrow().get(&public).copied()) {
        return found;
    }
    const SQL: &str = "SELECT i.oid, i.proowner FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_proc i \
         ON i.pronamespace OPERATOR(pg_catalog.=) p.pronamespace \
         AND i.proname OPERATOR(pg_catalog.=) ('_' OPERATOR(pg_catalog.||) p.proname::pg_catalog.text)::pg_catalog.name \
         AND i.proargtypes OPERATOR(pg_catalog.=) p.proargtypes \
         WHERE p.oid OPERATOR(pg_catalog.=) $1";
    let found = Spi::connect(|client| {
        let table = client
            .select(SQL, Some(1), &[public.into()])
            .unwrap_or_else(|e| spi_util::spi_failed(e));
        if table.is_empty() {
            return None;
        }
        let row = table.first();
        let function: Option<pg_sys::Oid> = row.get(1).unwrap_or_else(|e| spi_util::spi_failed(e));
        let owner: Option<pg_sys::Oid> = row.get(2).unwrap_or_else(|e| spi_util::spi_failed(e));
        function.zip(owner).map(|(function, owner)| Implementation { function, owner })
    })
    .unwrap_or_else(|| {
        spi_util::raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_FUNCTION,
            format!("pg_rbac: function {public:?} has no implementation rbac._<name> with the same arguments"),
        )
    });
    IMPLEMENTATIONS.with(|m| m.borrow_mut().insert(public, found));
    found
}

/// Calls `implementation` with the arguments (and set-returning context) of the call `fcinfo`.
///
/// # Safety
/// `fcinfo` must be the live call information of a V1 C function call.
unsafe fn call_with_same_arguments(
    fcinfo: pg_sys::FunctionCallInfo,
    implementation: pg_sys::Oid,
) -> pg_sys::Datum {
    let flinfo = pg_sys::palloc0(std::mem::size_of::<pg_sys::FmgrInfo>()) as *mut pg_sys::FmgrInfo;
    pg_sys::fmgr_info(implementation, flinfo);
    (*flinfo).fn_expr = (*(*fcinfo).flinfo).fn_expr;
    let nargs = (*fcinfo).nargs as usize;
    let size = std::mem::offset_of!(pg_sys::FunctionCallInfoBaseData, args)
        + nargs * std::mem::size_of::<pg_sys::NullableDatum>();
    let inner = pg_sys::palloc0(size) as pg_sys::FunctionCallInfo;
    (*inner).flinfo = flinfo;
    (*inner).resultinfo = (*fcinfo).resultinfo; // a set-returning implementation materialises into the caller's
    (*inner).fncollation = (*fcinfo).fncollation;
    (*inner).nargs = (*fcinfo).nargs;
    (*inner)
        .args
        .as_mut_slice(nargs)
        .copy_from_slice((*fcinfo).args.as_slice(nargs));
    let function = (*flinfo).fn_addr.expect("fmgr_info sets fn_addr");
    let result = pg_sys::ffi::pg_guard_ffi_boundary(|| function(inner));
    (*fcinfo).isnull = (*inner).isnull;
    result
}

/// V1 call-convention record of [`rbac_manage`].
#[no_mangle]
pub extern "C" fn pg_finfo_rbac_manage() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// The C entry point of every public management function (`rbac.key_generate`, `rbac.team_new`, ...; see
/// `sql/050_management.sql`). Not `SECURITY DEFINER`: it reads the effective role of its immediate caller, refuses
/// (42501) inside a security-restricted operation (ANALYZE, VACUUM, CREATE INDEX, REFRESH MATERIALIZED VIEW),
/// then runs the implementation `rbac._<name>` with the owner's rights, the caller on the backend-local stack.
///
/// # Safety
/// Called by PostgreSQL's function manager with a valid `fcinfo`.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn rbac_manage(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let public = (*(*fcinfo).flinfo).fn_oid;
    if pg_sys::InSecurityRestrictedOperation() {
        insufficient_privilege(
            "pg_rbac management is refused inside a security-restricted operation (ANALYZE, VACUUM, CREATE INDEX, \
             REFRESH MATERIALIZED VIEW run functions with another role's rights)",
        );
    }
    let implementation = implementation_of(public);
    let role = effective_role();
    let caller = Caller {
        role: role_name(role),
        administers: administers(role),
    };
    let mut saved_user = pg_sys::InvalidOid;
    let mut saved_context = 0;
    pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
    let saved_acting = ACTING.with(|a| a.replace(Some(caller.role.clone())));
    CALLERS.with(|c| c.borrow_mut().push(caller));
    forget_at_transaction_end();
    let call = std::panic::AssertUnwindSafe(|| {
        // what fmgr_security_definer does for a definer function owned by the implementation's owner
        pg_sys::SetUserIdAndSecContext(
            implementation.owner,
            saved_context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32,
        );
        call_with_same_arguments(fcinfo, implementation.function)
    });
    let restore = || {
        pg_sys::SetUserIdAndSecContext(saved_user, saved_context);
        CALLERS.with(|c| c.borrow_mut().pop());
        ACTING.with(|a| *a.borrow_mut() = saved_acting.clone());
    };
    PgTryBuilder::new(call)
        .catch_others(|error| {
            note_refusal(public, &error, role);
            error.rethrow()
        })
        .finally(restore)
        .execute()
}

/// A management call its implementation refused (42501): noted for the decision log (src/decision_log.rs) here, where
/// the function and the caller are known for certain.
fn note_refusal(public: pg_sys::Oid, error: &pg_sys::panic::CaughtError, role: pg_sys::Oid) {
    let report = match error {
        pg_sys::panic::CaughtError::PostgresError(r)
        | pg_sys::panic::CaughtError::ErrorReport(r) => r,
        pg_sys::panic::CaughtError::RustPanic { .. } => return,
    };
    if report.sql_error_code() != PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE {
        return;
    }
    // SAFETY: the name of an existing function (the one being called), palloc'd
    let name = unsafe {
        let name = pg_sys::get_func_name(public);
        if name.is_null() {
            return;
        }
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    };
    crate::decision_log::note_management_refusal(&format!("rbac.{name}"), report.message(), role);
}

/// True when the effective role that called the public management function now running is a superuser or a
/// member of `rbac_admin`. For the implementations only (closed to everyone else); 42501 when no management call
/// is running, i.e. an implementation was reached some other way.
#[pg_extern(volatile, parallel_unsafe, name = "_management_caller_administers")]
pub fn management_caller_administers(fn_name: &str) -> bool {
    CALLERS
        .with(|c| c.borrow().last().map(|caller| caller.administers))
        .unwrap_or_else(|| {
            insufficient_privilege(format!(
                "{fn_name}: call the public function {fn_name}, not its implementation"
            ))
        })
}

/// The database role to record as `audit_log.db_user`: the caller of the management function making the change,
/// or the role that ran the plain DML; NULL when neither was noted in this transaction.
#[pg_extern(stable, parallel_restricted, name = "_acting_db_user")]
pub fn acting_db_user() -> Option<String> {
    ACTING.with(|a| a.borrow().clone())
}

/// Statement trigger on every audited table: notes the effective role running the statement as the
/// `audit_log.db_user` of its rows. Statements run by pg_rbac's own owner-rights code (management
/// implementations, validation, foreign-key cascades as the owner) keep the role noted by the statement or call
/// that caused them.
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
