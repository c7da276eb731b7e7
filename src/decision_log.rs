//! `rbac.decision_log`: one row per decision of `rbac_check` / `consume_quota`, and per refused management call,
//! governed by the superuser-only setting `rbac.decision_log = off | denied | all` (docs/explain-and-decision-log.md).
//!
//! Rows are written in the caller's transaction (they commit or roll back with the request). A management refusal
//! (42501) fails its statement, so its row cannot be written there: the management entry point (src/caller.rs)
//! notes it in backend memory as the error passes through it (the server log holds the ERROR line too), and the next
//! pg_rbac decision of the same session that writes (rbac_check in a writable transaction, consume_quota) inserts it
//! as an escalation row. Only the entry point notes refusals, so no caller can forge one.
use std::cell::RefCell;

use pgrx::pg_sys::PgOid;
use pgrx::prelude::*;

use crate::gates::Outcome;
use crate::principal;
use crate::spi_util::{self, BOOL, INT8, TEXT};

/// What `rbac.decision_log` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, pgrx::PostgresGucEnum)]
pub enum Mode {
    #[name = c"off"]
    Off,
    #[name = c"denied"]
    Denied,
    #[name = c"all"]
    All,
}

/// `rbac.decision_log` (Suset: superusers, or ALTER ROLE/DATABASE ... SET by a superuser; default `denied`).
pub static DECISION_LOG: pgrx::GucSetting<Mode> = pgrx::GucSetting::<Mode>::new(Mode::Denied);

const INT4: PgOid = PgOid::BuiltIn(pg_sys::BuiltinOid::INT4OID);

/// Escalation rows noted at most per backend before they are written (a flood keeps the first ones).
const MAX_PENDING: usize = 64;

/// A refused management call, noted when its error was reported.
#[derive(Debug, Clone)]
struct Escalation {
    function: String,
    message: String,
    principal: Option<principal::Principal>,
    role: pg_sys::Oid,
    /// Microseconds since 2000-01-01 (PostgreSQL's epoch).
    at: i64,
}

thread_local! {
    static PENDING: RefCell<Vec<Escalation>> = const { RefCell::new(Vec::new()) };
}

/// Registers the setting (from `_PG_init`).
pub fn register() {
    pgrx::GucRegistry::define_enum_guc(
        c"rbac.decision_log",
        c"Which decisions rbac_check and consume_quota record in rbac.decision_log: off, denied or all.",
        c"Superuser-only (set it with ALTER ROLE / ALTER DATABASE ... SET as a superuser), so a caller cannot \
          stop the logging of its own denials. Refused management calls are recorded in modes denied and all.",
        &DECISION_LOG,
        pgrx::GucContext::Suset,
        pgrx::GucFlags::default(),
    );
}

/// The longest refusal message kept for the log (characters): a message is text the failing call produced, so it is
/// bounded before it is held in backend memory (at most [`MAX_PENDING`] of them).
const MAX_MESSAGE_CHARS: usize = 1024;

/// Notes a management call refused with 42501, for the decision log. Called only by the management entry point
/// (`src/caller.rs`) when the implementation it ran raised the refusal, so that no other code — a caller raising
/// its own `rbac.x: ...` error — can add rows: the function is the entry point's own, the role the caller it saw.
pub fn note_management_refusal(function: &str, message: &str, role: pg_sys::Oid) {
    if DECISION_LOG.get() == Mode::Off {
        return;
    }
    let escalation = Escalation {
        function: function.to_string(),
        message: message.chars().take(MAX_MESSAGE_CHARS).collect(),
        principal: principal::current(),
        role,
        // SAFETY: reads the backend's clock
        at: unsafe { pg_sys::GetCurrentTimestamp() },
    };
    PENDING.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.len() < MAX_PENDING {
                p.push(escalation);
            }
        }
    });
}

/// One row of `rbac.decision_log`.
pub struct Entry<'a> {
    pub request_id: Option<String>,
    pub key_hash: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub team_id: Option<&'a str>,
    pub organization_id: Option<&'a str>,
    pub end_user_id: Option<&'a str>,
    pub route: &'a str,
    pub model: Option<&'a str>,
    pub allowed: bool,
    pub http_status: i32,
    pub reason: &'a str,
    pub limit_scope: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// True when a decision with this outcome is to be recorded (nothing is read but the setting).
#[inline]
pub fn wanted(allowed: bool) -> bool {
    match DECISION_LOG.get() {
        Mode::Off => false,
        Mode::Denied => !allowed,
        Mode::All => true,
    }
}

/// `rbac_check`'s decision, recorded when the setting asks for it and the transaction may write.
pub fn record_check(
    outcome: &Outcome,
    route: &str,
    model: Option<&str>,
    end_user_id: Option<&str>,
) {
    let d = &outcome.decision;
    let pending = has_pending();
    if !pending && !wanted(d.allowed()) {
        return;
    }
    let end_user = outcome
        .context
        .as_ref()
        .and_then(|c| c.end_user_id.as_deref())
        .or(end_user_id);
    let entry = wanted(d.allowed()).then(|| Entry {
        request_id: None,
        key_hash: d.key_hash.as_deref(),
        user_id: d.user_id.as_deref(),
        team_id: d.team_id.as_deref(),
        organization_id: d.organization_id.as_deref(),
        end_user_id: end_user,
        route,
        model: model.filter(|m| !m.is_empty()),
        allowed: d.allowed(),
        http_status: d.reason.http_status(),
        reason: d.reason.code(),
        limit_scope: d.limit_scope.map(crate::scope::Scope::name),
        message: (!d.message.is_empty()).then_some(d.message.as_str()),
    });
    write(entry);
}

/// Writes `entry` (if any) and the refused management calls noted so far; skipped in a read-only
/// transaction (the escalations then wait for the next writable one).
pub fn write(entry: Option<Entry<'_>>) {
    if spi_util::transaction_is_read_only() {
        return;
    }
    let escalations: Vec<Escalation> = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if entry.is_none() && escalations.is_empty() {
        return;
    }
    const INSERT: &str = "INSERT INTO rbac.decision_log(logged_at, request_id, key_hash, user_id, team_id, \
         organization_id, end_user_id, route, model, allowed, http_status, reason, limit_scope, message, db_user) \
         VALUES (coalesce(to_timestamp($1 / 1000000.0 + 946684800), now()), $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15)";
    let types = [
        INT8, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, BOOL, INT4, TEXT, TEXT, TEXT, TEXT,
    ];
    Spi::connect_mut(|client| {
        let stmt = spi_util::statement(client, INSERT, &types, true);
        for e in &escalations {
            let p = e.principal.clone().unwrap_or_default();
            // SAFETY: a syscache lookup by oid; noerr = true gives NULL for a role dropped since
            let db_user = unsafe {
                let name = pg_sys::GetUserNameFromId(e.role, true);
                (!name.is_null()).then(|| {
                    std::ffi::CStr::from_ptr(name)
                        .to_string_lossy()
                        .into_owned()
                })
            };
            let args = [
                Some(e.at).into(),
                None::<String>.into(),
                p.key_hash.into(),
                p.user_id.into(),
                p.team_id.into(),
                p.organization_id.into(),
                None::<String>.into(),
                Some(e.function.clone()).into(),
                None::<String>.into(),
                Some(false).into(),
                Some(403i32).into(),
                Some(ESCALATION_REASON).into(),
                None::<String>.into(),
                Some(e.message.clone()).into(),
                db_user.into(),
            ];
            client
                .update(&*stmt, None, &args)
                .unwrap_or_else(|e| spi_util::spi_failed(e));
        }
        if let Some(e) = &entry {
            let args = [
                None::<i64>.into(),
                e.request_id.clone().into(),
                e.key_hash.into(),
                e.user_id.into(),
                e.team_id.into(),
                e.organization_id.into(),
                e.end_user_id.into(),
                Some(e.route).into(),
                e.model.into(),
                Some(e.allowed).into(),
                Some(e.http_status).into(),
                Some(e.reason).into(),
                e.limit_scope.into(),
                e.message.into(),
                None::<String>.into(),
            ];
            client
                .update(&*stmt, None, &args)
                .unwrap_or_else(|e| spi_util::spi_failed(e));
        }
    });
}

/// `decision_log.reason` of a refused management call.
pub const ESCALATION_REASON: &str = "management_refused";

#[inline]
fn has_pending() -> bool {
    PENDING.with(|p| !p.borrow().is_empty())
}

/// Whether refused management calls wait to be written (consume_quota writes them even when its own decision
/// is not logged).
pub fn pending() -> bool {
    has_pending()
}
