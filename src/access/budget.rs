//! Budget gate and lazy period resets (docs/semantics.md §4.4, §9, §10; docs/semantics.md §9).
//!
//! One rule everywhere: a level with a `max_budget` denies once `spend >= max_budget` (a 0 budget allows
//! nothing). A level whose `budget_reset_at` has passed counts as spend 0, and the check that sees it due
//! also performs the reset, exactly once under concurrency (the UPDATE re-checks the due time under the row lock).
use pgrx::spi::SpiClient;

use crate::spi_util::{self, TEXT};

/// A budget-holding level, in the order the gate reports them (docs/semantics.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Key,
    TeamMember,
    Team,
    Organization,
    User,
    EndUser,
}

impl Scope {
    /// The `limit_scope` name of the level.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Key => "key",
            Scope::TeamMember => "team_member",
            Scope::Team => "team",
            Scope::Organization => "organization",
            Scope::User => "user",
            Scope::EndUser => "end_user",
        }
    }
}

/// The budget state of one level as loaded with the request context (computed in SQL, in numeric).
#[derive(Debug, Clone, Copy, Default)]
pub struct BudgetState {
    /// `max_budget` is set and the period's spend (0 if a reset is due) is at or above it.
    pub exhausted: bool,
    /// `budget_reset_at <= now()`: the period is over and the row must be reset.
    pub reset_due: bool,
}

/// The first exhausted level in gate order, if any.
pub fn first_exhausted(levels: &[(Scope, BudgetState)]) -> Option<Scope> {
    levels
        .iter()
        .find(|(_, s)| s.exhausted)
        .map(|(scope, _)| *scope)
}

/// Resets the spend of one due level and moves its period forward. Idempotent and exact: the WHERE clause
/// is re-evaluated on the newest row version, so concurrent callers reset once.
pub fn reset_period(client: &mut SpiClient<'_>, scope: Scope, ids: (&str, Option<&str>)) {
    const KEY: &str = "UPDATE rbac.keys SET spend = 0, budget_reset_at = rbac.next_budget_reset(budget_duration, now()) \
                       WHERE key_hash = $1 AND budget_reset_at <= now()";
    const TEAM: &str = "UPDATE rbac.teams SET spend = 0, budget_reset_at = rbac.next_budget_reset(budget_duration, now()) \
                        WHERE team_id = $1 AND budget_reset_at <= now()";
    const MEMBER: &str = "UPDATE rbac.team_members SET spend = 0, budget_reset_at = rbac.next_budget_reset(budget_duration, now()) \
                          WHERE team_id = $1 AND user_id = $2 AND budget_reset_at <= now()";
    const ORG: &str = "UPDATE rbac.organizations SET spend = 0, budget_reset_at = rbac.next_budget_reset(budget_duration, now()) \
                       WHERE organization_id = $1 AND budget_reset_at <= now()";
    const USER: &str = "UPDATE rbac.users SET spend = 0, budget_reset_at = rbac.next_budget_reset(budget_duration, now()) \
                        WHERE user_id = $1 AND budget_reset_at <= now()";
    const END_USER: &str = "UPDATE rbac.end_users SET spend = 0, budget_reset_at = rbac.next_budget_reset(budget_duration, now()) \
                            WHERE end_user_id = $1 AND budget_reset_at <= now()";
    let sql = match scope {
        Scope::Key => KEY,
        Scope::Team => TEAM,
        Scope::TeamMember => MEMBER,
        Scope::Organization => ORG,
        Scope::User => USER,
        Scope::EndUser => END_USER,
    };
    let (id, second) = ids;
    let result = if scope == Scope::TeamMember {
        let stmt = spi_util::statement(client, sql, &[TEXT, TEXT], true);
        client.update(&*stmt, None, &[id.into(), second.into()])
    } else {
        let stmt = spi_util::statement(client, sql, &[TEXT], true);
        client.update(&*stmt, None, &[id.into()])
    };
    result.unwrap_or_else(|e| spi_util::spi_failed(e));
}
