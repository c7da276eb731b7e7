//! Exact admission of one request (docs/semantics.md §10), as a short sequence of prepared, row-locked statements.
//!
//! Exactness: every counter is changed under its row lock with the limit re-checked on the newest row version
//! (READ COMMITTED re-evaluates the WHERE clause after waiting), so with rpm_limit N at most N requests are
//! admitted per window whatever the concurrency, and reserved + spend never exceeds max_budget.
//! All-or-nothing: what an admission reserved before a refusal is undone under the same locks before it returns.
//! Lock order, the same everywhere (admission, settle, release, expiry), so callers cannot deadlock:
//! keys → team_members → teams → organizations → users → end_users → rate_windows sorted by (scope, subject).
use std::sync::LazyLock;

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::AnyNumeric;

use crate::decision::Reason;
use crate::scope::{LevelRow, PerScope, RateScope, Scope};
use crate::spi_util::{self, BOOL, INT8, NUMERIC, TEXT, TEXT_ARRAY};

/// What applies to one request (from the principal's cached policy).
#[derive(Debug, Default)]
pub struct AdmissionPlan<'a> {
    /// Levels with a `max_budget`, in lock order.
    pub budget_levels: Vec<LevelRow<'a>>,
    /// The key has `max_parallel_requests`.
    pub parallel: bool,
    /// Rate windows with a limit, sorted by (scope name, subject): the order every caller locks them in.
    pub windows: Vec<RateWindow>,
}

/// One rate window a request is counted in, with its limits per 60-second window.
#[derive(Debug, Clone)]
pub struct RateWindow {
    pub scope: RateScope,
    /// The id, or for a compound scope both ids (`compound_subject`).
    pub subject: String,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
}

/// The request being admitted.
pub struct Request<'a> {
    pub key_hash: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub team_id: Option<&'a str>,
    pub organization_id: Option<&'a str>,
    pub end_user_id: Option<&'a str>,
    pub model: Option<&'a str>,
    pub requests: i64,
    pub tokens: i64,
    pub cost: AnyNumeric,
    pub positive_cost: bool,
}

/// The outcome, as the `rbac.quota` columns.
#[derive(Debug, Default)]
pub struct Admission {
    pub allowed: Option<bool>,
    pub http_status: Option<i32>,
    pub reason: Option<&'static str>,
    pub limit_scope: Option<&'static str>,
    pub reservation_id: Option<pgrx::Uuid>,
    pub remaining_requests: Option<i64>,
    pub remaining_tokens: Option<i64>,
    /// The limit (requests per minute) of the window `remaining_requests` is counted in.
    pub limit_requests: Option<i64>,
    /// The limit (tokens per minute) of the window `remaining_tokens` is counted in.
    pub limit_tokens: Option<i64>,
    pub reset_at: Option<TimestampWithTimeZone>,
    pub retry_after_seconds: Option<i32>,
    pub message: Option<String>,
}

/// Why the admission refused (all HTTP 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Budget,
    Parallel,
    Rate,
}

impl Limit {
    fn code(self) -> &'static str {
        match self {
            Limit::Budget => Reason::BudgetExceeded.code(),
            Limit::Parallel => "parallel_limit_exceeded",
            Limit::Rate => "rate_limit_exceeded",
        }
    }
}

fn refusal(
    limit: Limit,
    scope: &'static str,
    reset_at: Option<TimestampWithTimeZone>,
    message: String,
) -> Admission {
    let retry_after_seconds = match (reset_at, limit) {
        (Some(at), _) => Some(seconds_until(at)),
        (None, Limit::Parallel) => Some(1),
        // a budget frees only when spend is settled lower or its period ends; the rate caller sets its own
        (None, Limit::Budget | Limit::Rate) => None,
    };
    Admission {
        allowed: Some(false),
        http_status: Some(429),
        reason: Some(limit.code()),
        limit_scope: Some(scope),
        remaining_requests: Some(0),
        reset_at,
        retry_after_seconds,
        message: Some(message),
        ..Admission::default()
    }
}

/// Whole seconds (at least 1) from the transaction start to `at`.
fn seconds_until(at: TimestampWithTimeZone) -> i32 {
    // SAFETY: reads the backend's transaction start timestamp
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    let micros = at.into_inner().saturating_sub(now);
    i32::try_from((micros + 999_999).div_euclid(1_000_000))
        .unwrap_or(i32::MAX)
        .max(1)
}

/// The conditional reserve and the refund of one budget level (`$1` the amount, then the level's key).
struct BudgetStatements {
    reserve: String,
    unreserve: String,
}

static BUDGET_SQL: LazyLock<PerScope<BudgetStatements>> = LazyLock::new(|| {
    PerScope::from_fn(|scope| {
        let (table, row) = (scope.table(), scope.key_condition(2));
        BudgetStatements {
            reserve: format!(
                "UPDATE rbac.{table} SET reserved = reserved + $1 WHERE {row} \
                 AND (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) + reserved + $1 <= max_budget"
            ),
            unreserve: format!(
                "UPDATE rbac.{table} SET reserved = greatest(reserved - $1, 0) WHERE {row}"
            ),
        }
    })
});

/// Runs a prepared write and returns how many rows it changed.
fn write(
    client: &mut SpiClient<'_>,
    sql: &'static str,
    types: &[pgrx::pg_sys::PgOid],
    args: &[pgrx::datum::DatumWithOid<'_>],
) -> usize {
    let stmt = spi_util::statement(client, sql, types, true);
    client
        .update(&*stmt, None, args)
        .unwrap_or_else(|e| spi_util::spi_failed(e))
        .len()
}

/// Changes one budget level's `reserved` (conditionally when reserving). Returns whether it changed.
fn change_reserved(
    client: &mut SpiClient<'_>,
    level: &LevelRow<'_>,
    cost: &AnyNumeric,
    reserve: bool,
) -> bool {
    let statements = &BUDGET_SQL[level.scope];
    let sql = if reserve {
        &statements.reserve
    } else {
        &statements.unreserve
    };
    let types = &[NUMERIC, TEXT, TEXT][..1 + level.scope.key_columns().len()];
    let mut args = vec![cost.clone().into()];
    args.extend(level.key_values().map(Into::into));
    write(client, sql, types, &args) > 0
}

/// Undoes what an admission took so far (budget levels reserved, the parallel slot), under the locks it holds.
fn undo(
    client: &mut SpiClient<'_>,
    reserved: &[LevelRow<'_>],
    cost: &AnyNumeric,
    slot: Option<&str>,
) {
    for level in reserved {
        change_reserved(client, level, cost, false);
    }
    if let Some(key_hash) = slot {
        const FREE_SLOT: &str =
            "UPDATE rbac.keys SET in_flight = greatest(in_flight - 1, 0) WHERE key_hash = $1";
        write(client, FREE_SLOT, &[TEXT], &[key_hash.into()]);
    }
}

/// Releases the key's own reservations older than `rbac.reservation_ttl`; true if any was released.
fn expire_key_reservations(client: &mut SpiClient<'_>, key_hash: Option<&str>) -> bool {
    const EXPIRE: &str = "SELECT rbac._expire_key_reservations($1)";
    let Some(key_hash) = key_hash else {
        return false;
    };
    let stmt = spi_util::statement(client, EXPIRE, &[TEXT], true);
    let released = client
        .update(&*stmt, Some(1), &[key_hash.into()])
        .and_then(|t| t.first().get_one::<i32>())
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    released.unwrap_or(0) > 0
}

/// State of one locked window: counts after this request and the window's end.
struct Window {
    used_requests: i64,
    used_tokens: i64,
    end: Option<TimestampWithTimeZone>,
    start_after: Option<TimestampWithTimeZone>,
}

const LOCK_WINDOW: &str =
    "SELECT CASE WHEN window_start <= now() - interval '60 seconds' THEN 0 ELSE requests END, \
     CASE WHEN window_start <= now() - interval '60 seconds' THEN 0 ELSE tokens END, \
     CASE WHEN window_start <= now() - interval '60 seconds' THEN now() ELSE window_start END \
     FROM rbac.rate_windows WHERE scope = $1 AND subject = $2 FOR UPDATE";
const CREATE_WINDOW: &str =
    "INSERT INTO rbac.rate_windows(scope, subject, window_start) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING";
/// Locks, checks and counts a window in one statement (a fresh row is created counting this request).
/// Counters saturate at bigint's maximum (numeric sums), so no request can make another one overflow.
const COUNT_WINDOW_IF_FITS: &str = "INSERT INTO rbac.rate_windows AS w (scope, subject, window_start, requests, tokens) \
     VALUES ($1, $2, now(), $3, $4) ON CONFLICT (scope, subject) DO UPDATE SET \
       window_start = CASE WHEN w.window_start <= now() - interval '60 seconds' THEN now() ELSE w.window_start END, \
       requests = least(CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.requests END::numeric \
                        + excluded.requests, 9223372036854775807)::bigint, \
       tokens = least(CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.tokens END::numeric \
                      + excluded.tokens, 9223372036854775807)::bigint \
     WHERE ($5::bigint IS NULL OR CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.requests END::numeric \
              + excluded.requests <= $5) \
       AND ($6::bigint IS NULL OR CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.tokens END::numeric \
              + excluded.tokens <= $6) \
     RETURNING w.requests, w.tokens, w.window_start";
const WINDOW_END: &str = "SELECT window_start + interval '60 seconds' FROM rbac.rate_windows WHERE scope = $1 AND subject = $2";
const COUNT_WINDOW: &str = "UPDATE rbac.rate_windows SET \
       window_start = CASE WHEN window_start <= now() - interval '60 seconds' THEN now() ELSE window_start END, \
       requests = least(CASE WHEN window_start <= now() - interval '60 seconds' THEN 0 ELSE requests END::numeric + $3, \
                        9223372036854775807)::bigint, \
       tokens = least(CASE WHEN window_start <= now() - interval '60 seconds' THEN 0 ELSE tokens END::numeric + $4, \
                      9223372036854775807)::bigint \
     WHERE scope = $1 AND subject = $2";

/// Locks one window (creating it on first use) and returns its counts as they would be after this request.
fn lock_window(client: &mut SpiClient<'_>, window: &RateWindow, req: &Request<'_>) -> Window {
    let (scope, subject) = (window.scope.name(), window.subject.as_str());
    for _ in 0..2 {
        let stmt = spi_util::statement(client, LOCK_WINDOW, &[TEXT, TEXT], true);
        let table = client
            .update(&*stmt, Some(1), &[scope.into(), subject.into()])
            .unwrap_or_else(|e| spi_util::spi_failed(e));
        if !table.is_empty() {
            let row = table.first();
            let get = |i| {
                row.get::<i64>(i)
                    .unwrap_or_else(|e| spi_util::spi_failed(e))
                    .unwrap_or(0)
            };
            let start: Option<TimestampWithTimeZone> =
                row.get(3).unwrap_or_else(|e| spi_util::spi_failed(e));
            return Window {
                used_requests: get(1).saturating_add(req.requests),
                used_tokens: get(2).saturating_add(req.tokens),
                end: start.map(plus_window),
                start_after: start,
            };
        }
        write(
            client,
            CREATE_WINDOW,
            &[TEXT, TEXT],
            &[scope.into(), subject.into()],
        );
    }
    spi_util::raise(
        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        format!("rate window {scope}/{subject} vanished"),
    )
}

fn plus_window(start: TimestampWithTimeZone) -> TimestampWithTimeZone {
    // SAFETY: a plain value; 60 s in microseconds added to a finite timestamptz
    unsafe {
        TimestampWithTimeZone::from_datum(
            pg_sys::Datum::from(start.into_inner() + 60_000_000),
            false,
        )
    }
    .unwrap_or(start)
}

/// What is left in the tightest window of one kind (requests or tokens), and that window's limit: the
/// `remaining_*` and `limit_*` columns of `rbac.quota` (a proxy's `x-ratelimit-*` headers).
#[derive(Debug, Default, Clone, Copy)]
struct Headroom {
    remaining: Option<i64>,
    limit: Option<i64>,
}

impl Headroom {
    /// Takes a window into account: `used` of `limit` (no limit: nothing changes).
    fn tighten(&mut self, limit: Option<i64>, used: i64) {
        let Some(limit) = limit else { return };
        let remaining = limit.saturating_sub(used);
        if self.remaining.is_none_or(|r| remaining < r) {
            *self = Headroom {
                remaining: Some(remaining),
                limit: Some(limit),
            };
        }
    }
}

/// Admits or refuses the request against the plan; on success the reservation that `settle`/`release` close.
pub fn admit(client: &mut SpiClient<'_>, plan: &AdmissionPlan<'_>, req: &Request<'_>) -> Admission {
    for attempt in 0..2 {
        match try_admit(client, plan, req) {
            Err(Refused::Retryable(_))
                if attempt == 0 && expire_key_reservations(client, req.key_hash) =>
            {
                continue
            }
            Err(Refused::Retryable(refused) | Refused::Final(refused)) => return *refused,
            Ok(admitted) => return admitted,
        }
    }
    unreachable!("the second attempt always returns")
}

/// The refusing window reported to the caller: the first in report order (key, user, team, …).
struct Failure {
    scope: RateScope,
    end: Option<TimestampWithTimeZone>,
}

fn note(failed: &mut Option<Failure>, scope: RateScope, end: Option<TimestampWithTimeZone>) {
    if failed
        .as_ref()
        .is_none_or(|f| scope.report_rank() < f.scope.report_rank())
    {
        *failed = Some(Failure { scope, end });
    }
}

/// A refusal; boxed, so the admission's `Result` stays small on the path that admits.
enum Refused {
    /// Budget or parallel refusals: the key's own stale reservations may be holding what is missing.
    Retryable(Box<Admission>),
    Final(Box<Admission>),
}

/// A tpm window this request was counted in: `settle`/`release` correct its tokens while the window is current.
struct ChargedWindow<'p> {
    scope: RateScope,
    subject: &'p str,
    start: Option<TimestampWithTimeZone>,
}

fn try_admit(
    client: &mut SpiClient<'_>,
    plan: &AdmissionPlan<'_>,
    req: &Request<'_>,
) -> Result<Admission, Refused> {
    // 1. budget reservations, level by level in lock order
    let mut reserved: Vec<LevelRow<'_>> = Vec::new();
    if req.positive_cost {
        for level in &plan.budget_levels {
            if !change_reserved(client, level, &req.cost, true) {
                undo(client, &reserved, &req.cost, None);
                let scope = level.scope.name();
                let message = format!(
                    "reserving {} USD would take the {scope} budget past max_budget",
                    req.cost
                );
                return Err(Refused::Retryable(Box::new(refusal(
                    Limit::Budget,
                    scope,
                    None,
                    message,
                ))));
            }
            reserved.push(*level);
        }
    }
    // 2. a parallel-request lease on the key (LiteLLM enforces max_parallel_requests for keys only, docs/semantics.md §10.4)
    let slot = match (plan.parallel, req.key_hash) {
        (true, Some(key_hash)) => {
            const TAKE_SLOT: &str =
                "UPDATE rbac.keys SET in_flight = in_flight + 1 WHERE key_hash = $1 AND in_flight < max_parallel_requests";
            if write(client, TAKE_SLOT, &[TEXT], &[key_hash.into()]) == 0 {
                undo(client, &reserved, &req.cost, None);
                let message =
                    "max_parallel_requests requests are already in flight for this key".to_string();
                return Err(Refused::Retryable(Box::new(refusal(
                    Limit::Parallel,
                    Scope::Key.name(),
                    None,
                    message,
                ))));
            }
            Some(key_hash)
        }
        _ => None,
    };
    // 3. rate windows: all but the last locked and checked; the last checked and counted in one statement;
    //    then the others counted. A refusal has changed no window.
    let mut requests_left = Headroom::default();
    let mut tokens_left = Headroom::default();
    let mut reset_at: Option<TimestampWithTimeZone> = None;
    let mut failed: Option<Failure> = None;
    let mut tpm_windows: Vec<ChargedWindow<'_>> = Vec::new();
    let count = plan.windows.len();
    for w in &plan.windows {
        if w.rpm.is_some_and(|l| req.requests > l) || w.tpm.is_some_and(|l| req.tokens > l) {
            note(&mut failed, w.scope, None); // larger than a whole window
        }
    }
    if failed.is_none() {
        for window in plan.windows.iter().take(count.saturating_sub(1)) {
            let (rpm, tpm) = (window.rpm, window.tpm);
            let w = lock_window(client, window, req);
            if rpm.is_some_and(|l| w.used_requests > l) || tpm.is_some_and(|l| w.used_tokens > l) {
                note(&mut failed, window.scope, w.end);
            }
            requests_left.tighten(rpm, w.used_requests);
            tokens_left.tighten(tpm, w.used_tokens);
            reset_at = [reset_at, w.end]
                .into_iter()
                .flatten()
                .min_by_key(|t| t.into_inner());
            if tpm.is_some() {
                tpm_windows.push(ChargedWindow {
                    scope: window.scope,
                    subject: &window.subject,
                    start: w.start_after,
                });
            }
        }
    }
    if let (None, Some(last)) = (&failed, plan.windows.last()) {
        let (scope, subject, rpm, tpm) =
            (last.scope.name(), last.subject.as_str(), last.rpm, last.tpm);
        let stmt = spi_util::statement(
            client,
            COUNT_WINDOW_IF_FITS,
            &[TEXT, TEXT, INT8, INT8, INT8, INT8],
            true,
        );
        let args = [
            scope.into(),
            subject.into(),
            req.requests.into(),
            req.tokens.into(),
            rpm.into(),
            tpm.into(),
        ];
        let table = client
            .update(&*stmt, Some(1), &args)
            .unwrap_or_else(|e| spi_util::spi_failed(e));
        if table.is_empty() {
            let stmt = spi_util::statement(client, WINDOW_END, &[TEXT, TEXT], false);
            let end = client
                .select(&*stmt, Some(1), &[scope.into(), subject.into()])
                .and_then(|t| t.first().get_one::<TimestampWithTimeZone>())
                .unwrap_or_else(|e| spi_util::spi_failed(e));
            note(&mut failed, last.scope, end);
        } else {
            let row = table.first();
            let requests = row
                .get::<i64>(1)
                .unwrap_or_else(|e| spi_util::spi_failed(e))
                .unwrap_or(0);
            let tokens = row
                .get::<i64>(2)
                .unwrap_or_else(|e| spi_util::spi_failed(e))
                .unwrap_or(0);
            let start: Option<TimestampWithTimeZone> =
                row.get(3).unwrap_or_else(|e| spi_util::spi_failed(e));
            requests_left.tighten(rpm, requests);
            tokens_left.tighten(tpm, tokens);
            reset_at = [reset_at, start.map(plus_window)]
                .into_iter()
                .flatten()
                .min_by_key(|t| t.into_inner());
            if tpm.is_some() {
                tpm_windows.push(ChargedWindow {
                    scope: last.scope,
                    subject,
                    start,
                });
            }
        }
    }
    if let Some(Failure { scope, end }) = failed {
        undo(client, &reserved, &req.cost, slot);
        let scope = scope.name();
        let message = format!("rate limit exceeded for {scope} (limits per 60-second window)");
        let mut refused = refusal(Limit::Rate, scope, end, message);
        if refused.reset_at.is_none() {
            refused.retry_after_seconds = Some(60);
        }
        return Err(Refused::Final(Box::new(refused)));
    }
    for window in plan.windows.iter().take(count.saturating_sub(1)) {
        let args = [
            window.scope.name().into(),
            window.subject.as_str().into(),
            req.requests.into(),
            req.tokens.into(),
        ];
        write(client, COUNT_WINDOW, &[TEXT, TEXT, INT8, INT8], &args);
    }
    // 4. the reservation that settle/release will close (tpm windows kept for the token correction)
    const RESERVE: &str = "INSERT INTO rbac.reservations(expires_at, key_hash, user_id, team_id, organization_id, end_user_id, \
         model, requests, tokens, cost, budget_scopes, parallel_slot, rate_scopes, rate_subjects, rate_window_starts) \
         VALUES (now() + rbac._reservation_ttl(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         RETURNING reservation_id";
    let types = [
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        TEXT,
        INT8,
        INT8,
        NUMERIC,
        TEXT_ARRAY,
        BOOL,
        TEXT_ARRAY,
        TEXT_ARRAY,
        TIMESTAMPTZ_ARRAY,
    ];
    let held_cost = if reserved.is_empty() {
        AnyNumeric::from(0)
    } else {
        req.cost.clone()
    };
    let budget_scopes: Vec<&str> = reserved.iter().map(|l| l.scope.name()).collect();
    let rate_scopes: Vec<&str> = tpm_windows.iter().map(|w| w.scope.name()).collect();
    let rate_subjects: Vec<&str> = tpm_windows.iter().map(|w| w.subject).collect();
    let rate_starts: Vec<Option<TimestampWithTimeZone>> =
        tpm_windows.iter().map(|w| w.start).collect();
    let args = [
        req.key_hash.into(),
        req.user_id.into(),
        req.team_id.into(),
        req.organization_id.into(),
        req.end_user_id.into(),
        req.model.into(),
        req.requests.into(),
        req.tokens.into(),
        held_cost.into(),
        budget_scopes.into(),
        slot.is_some().into(),
        rate_scopes.into(),
        rate_subjects.into(),
        rate_starts.into(),
    ];
    let stmt = spi_util::statement(client, RESERVE, &types, true);
    let reservation_id = client
        .update(&*stmt, Some(1), &args)
        .and_then(|t| t.first().get_one::<pgrx::Uuid>())
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    Ok(Admission {
        allowed: Some(true),
        http_status: Some(200),
        reason: Some(Reason::Ok.code()),
        reservation_id,
        remaining_requests: requests_left.remaining,
        remaining_tokens: tokens_left.remaining,
        limit_requests: requests_left.limit,
        limit_tokens: tokens_left.limit,
        reset_at,
        ..Admission::default()
    })
}

const TIMESTAMPTZ_ARRAY: pgrx::pg_sys::PgOid =
    pgrx::pg_sys::PgOid::BuiltIn(pgrx::pg_sys::BuiltinOid::TIMESTAMPTZARRAYOID);
