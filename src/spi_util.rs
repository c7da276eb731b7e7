//! Small helpers around SPI: SQLSTATE errors and a per-backend cache of prepared statements.
//!
//! Hot-path SQL is prepared once per backend (`SPI_keepplan`) and reused; PostgreSQL's plan cache
//! revalidates the plans when the tables they use change.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::pg_sys::{self, PgOid};
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient};

/// Raises a PostgreSQL ERROR with the given SQLSTATE and message (never returns).
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    ereport!(ERROR, code, message.into());
}

/// Raises `22023` (invalid_parameter_value): bad argument values.
pub fn invalid_parameter(message: impl Into<String>) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message)
}

/// Raises `42501` (insufficient_privilege): a refused management action, naming the rule.
pub fn insufficient_privilege(message: impl Into<String>) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, message)
}

/// Turns an SPI failure into an internal error (a bug or a broken installation, never user input).
pub fn spi_failed(err: pgrx::spi::SpiError) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        format!("pg_rbac: SPI failed: {err}"),
    )
}

thread_local! {
    static STATEMENTS: RefCell<HashMap<&'static str, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

/// Returns the backend's prepared plan for `sql`, preparing (and keeping) it on first use.
/// `mutating` statements run with a fresh snapshot and may write.
pub fn statement(
    client: &SpiClient<'_>,
    sql: &'static str,
    args: &[PgOid],
    mutating: bool,
) -> Rc<OwnedPreparedStatement> {
    if let Some(found) = STATEMENTS.with(|s| s.borrow().get(sql).cloned()) {
        return found;
    }
    let prepared = if mutating {
        client.prepare_mut(sql, args)
    } else {
        client.prepare(sql, args)
    };
    let kept = Rc::new(prepared.unwrap_or_else(|e| spi_failed(e)).keep());
    STATEMENTS.with(|s| s.borrow_mut().insert(sql, kept.clone()));
    kept
}

/// `text` argument type, for `statement`.
pub const TEXT: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::TEXTOID);
/// `text[]` argument type.
pub const TEXT_ARRAY: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::TEXTARRAYOID);
/// `numeric` argument type.
pub const NUMERIC: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::NUMERICOID);
/// `bigint` argument type.
pub const INT8: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::INT8OID);
/// `bigint[]` argument type.
pub const INT8_ARRAY: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::INT8ARRAYOID);
/// `integer[]` argument type.
pub const INT4_ARRAY: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::INT4ARRAYOID);
/// `boolean` argument type.
pub const BOOL: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::BOOLOID);
/// `uuid` argument type.
pub const UUID: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::UUIDOID);

/// Reads a nullable `text[]` column as a list of its non-NULL entries (NULL array = empty list).
pub fn text_list(value: Option<Vec<Option<String>>>) -> Vec<String> {
    value
        .map(|v| v.into_iter().flatten().collect())
        .unwrap_or_default()
}

/// True when the current transaction may not write (a hot standby or `SET TRANSACTION READ ONLY`).
pub fn transaction_is_read_only() -> bool {
    // SAFETY: a plain read of a backend-global flag
    unsafe { pg_sys::XactReadOnly || pg_sys::RecoveryInProgress() }
}
