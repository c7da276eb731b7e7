//! Budget gate and lazy period resets (docs/semantics.md §4.4, §9, §10).
//!
//! One rule everywhere: a level with a `max_budget` denies once `spend >= max_budget` (a 0 budget allows
//! nothing). A level whose `budget_reset_at` has passed counts as spend 0, and the check that sees it due
//! also performs the reset, exactly once under concurrency (the UPDATE re-checks the due time under the row lock).
use std::sync::LazyLock;

use pgrx::spi::SpiClient;

use crate::scope::{LevelRow, PerScope, Scope};
use crate::spi_util::{self, TEXT};

/// The budget state of one level as loaded with the request context (computed in SQL, in numeric).
#[derive(Debug, Clone, Copy, Default)]
pub struct BudgetState {
    /// `max_budget` is set and the period's spend (0 if a reset is due) is at or above it.
    pub exhausted: bool,
    /// `budget_reset_at <= now()`: the period is over and the row must be reset.
    pub reset_due: bool,
}

/// The first exhausted level in gate order, if any.
pub fn first_exhausted(levels: impl IntoIterator<Item = (Scope, BudgetState)>) -> Option<Scope> {
    levels
        .into_iter()
        .find(|(_, s)| s.exhausted)
        .map(|(scope, _)| scope)
}

/// Per level: reset the spend of a due period and move the period forward.
static RESET_SQL: LazyLock<PerScope<String>> = LazyLock::new(|| {
    PerScope::from_fn(|scope| {
        format!(
            "UPDATE rbac.{} SET spend = 0, budget_reset_at = rbac.next_budget_reset(budget_duration, now()) \
             WHERE {} AND budget_reset_at <= now()",
            scope.table(),
            scope.key_condition(1)
        )
    })
});

/// Resets the spend of one due level and moves its period forward. Idempotent and exact: the WHERE clause
/// is re-evaluated on the newest row version, so concurrent callers reset once.
pub fn reset_period(client: &mut SpiClient<'_>, row: LevelRow<'_>) {
    let arity = row.scope.key_columns().len();
    let stmt = spi_util::statement(client, &RESET_SQL[row.scope], &[TEXT; 2][..arity], true);
    let args: Vec<_> = row.key_values().map(Into::into).collect();
    client
        .update(&*stmt, None, &args)
        .unwrap_or_else(|e| spi_util::spi_failed(e));
}
