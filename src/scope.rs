//! The six budget levels (docs/semantics.md §9) and the nine rate-limit scopes (docs/semantics.md §10.2).
//!
//! `Scope` is the single source of truth for a level: its `limit_scope` name, its table, the columns of its
//! primary key and its place in the global lock order. Every statement that touches a level is derived from it
//! (`access/budget.rs`, `context.rs`, `quota/admission.rs`), so an unknown level cannot be expressed. The
//! PL/pgSQL functions of `sql/020_quota.sql` that branch per level (`_reservation_levels`, `_reserve`,
//! `_record_spend`) stay static SQL — released install scripts are never edited (CONTRIBUTING.md) — and this
//! module's tests check them against `Scope::ALL`.
use std::ops::Index;

/// A budget-holding level. The declaration order is the global lock order (keys → team_members → teams →
/// organizations → users → end_users, then the rate windows; docs/quotas.md) and also the order in which the
/// budget gate reports an exhausted level (docs/semantics.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Key,
    TeamMember,
    Team,
    Organization,
    User,
    EndUser,
}

impl Scope {
    /// Every level, in lock order.
    pub const ALL: [Scope; 6] = [
        Scope::Key,
        Scope::TeamMember,
        Scope::Team,
        Scope::Organization,
        Scope::User,
        Scope::EndUser,
    ];

    /// The level's name: `rbac.decision.limit_scope`, `rbac.quota.limit_scope`, `reservations.budget_scopes`.
    pub const fn name(self) -> &'static str {
        match self {
            Scope::Key => "key",
            Scope::TeamMember => "team_member",
            Scope::Team => "team",
            Scope::Organization => "organization",
            Scope::User => "user",
            Scope::EndUser => "end_user",
        }
    }

    /// The table holding the level's `spend`, `reserved`, `max_budget` and budget period (schema `rbac`).
    pub const fn table(self) -> &'static str {
        match self {
            Scope::Key => "keys",
            Scope::TeamMember => "team_members",
            Scope::Team => "teams",
            Scope::Organization => "organizations",
            Scope::User => "users",
            Scope::EndUser => "end_users",
        }
    }

    /// The primary-key columns of [`Scope::table`], in parameter order. `rbac.reservations` names the ids it
    /// records the same way.
    pub const fn key_columns(self) -> &'static [&'static str] {
        match self {
            Scope::Key => &["key_hash"],
            Scope::TeamMember => &["team_id", "user_id"],
            Scope::Team => &["team_id"],
            Scope::Organization => &["organization_id"],
            Scope::User => &["user_id"],
            Scope::EndUser => &["end_user_id"],
        }
    }

    /// Position in [`Scope::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// `col = $first AND col2 = $first+1`: the row of this level, with numbered parameters.
    pub fn key_condition(self, first_param: usize) -> String {
        self.key_condition_with(|i| format!("${}", first_param + i))
    }

    /// The row condition with each key column compared with `param(i)` (i counts from 0).
    pub fn key_condition_with(self, param: impl Fn(usize) -> String) -> String {
        self.key_columns()
            .iter()
            .enumerate()
            .map(|(i, column)| format!("{column} = {}", param(i)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

/// One value per level, indexed by [`Scope`] (e.g. the statements derived for each level).
#[derive(Debug)]
pub struct PerScope<T>([T; 6]);

impl<T> PerScope<T> {
    pub fn from_fn(f: impl FnMut(Scope) -> T) -> PerScope<T> {
        PerScope(Scope::ALL.map(f))
    }
}

impl<T> Index<Scope> for PerScope<T> {
    type Output = T;
    fn index(&self, scope: Scope) -> &T {
        &self.0[scope.index()]
    }
}

/// A set of levels (a bit per level), iterated in lock order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u8);

impl ScopeSet {
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= 1 << scope.index();
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & (1 << scope.index()) != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> ScopeSet {
        let mut set = ScopeSet::default();
        iter.into_iter().for_each(|s| set.insert(s));
        set
    }
}

/// The row of one level: its scope and the values of [`Scope::key_columns`] (for a team member the team id,
/// then the user id in `user_id`; `None` for every other level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelRow<'a> {
    pub scope: Scope,
    pub id: &'a str,
    pub user_id: Option<&'a str>,
}

impl<'a> LevelRow<'a> {
    /// The key values, one per key column, in column order.
    pub fn key_values(&self) -> impl Iterator<Item = Option<&'a str>> {
        [Some(self.id), self.user_id]
            .into_iter()
            .take(self.scope.key_columns().len())
    }
}

/// A rate-limit window scope (docs/semantics.md §10.2): a level's own rpm/tpm, or a per-model limit of a key,
/// team or organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateScope {
    Level(Scope),
    ModelPerKey,
    ModelPerTeam,
    ModelPerOrganization,
}

impl RateScope {
    /// Every window scope in report order: when several windows refuse a request, the first in this order is
    /// the `limit_scope` reported.
    pub const REPORT_ORDER: [RateScope; 9] = [
        RateScope::Level(Scope::Key),
        RateScope::Level(Scope::User),
        RateScope::Level(Scope::Team),
        RateScope::Level(Scope::TeamMember),
        RateScope::Level(Scope::Organization),
        RateScope::Level(Scope::EndUser),
        RateScope::ModelPerKey,
        RateScope::ModelPerTeam,
        RateScope::ModelPerOrganization,
    ];

    /// `rate_windows.scope` and `rbac.quota.limit_scope`.
    pub const fn name(self) -> &'static str {
        match self {
            RateScope::Level(scope) => scope.name(),
            RateScope::ModelPerKey => "model_per_key",
            RateScope::ModelPerTeam => "model_per_team",
            RateScope::ModelPerOrganization => "model_per_organization",
        }
    }

    /// The level whose row and limits the window belongs to (a per-model window: the key, team or organization).
    pub const fn level(self) -> Scope {
        match self {
            RateScope::Level(scope) => scope,
            RateScope::ModelPerKey => Scope::Key,
            RateScope::ModelPerTeam => Scope::Team,
            RateScope::ModelPerOrganization => Scope::Organization,
        }
    }

    /// Position in [`RateScope::REPORT_ORDER`].
    pub const fn report_rank(self) -> usize {
        match self {
            RateScope::Level(Scope::Key) => 0,
            RateScope::Level(Scope::User) => 1,
            RateScope::Level(Scope::Team) => 2,
            RateScope::Level(Scope::TeamMember) => 3,
            RateScope::Level(Scope::Organization) => 4,
            RateScope::Level(Scope::EndUser) => 5,
            RateScope::ModelPerKey => 6,
            RateScope::ModelPerTeam => 7,
            RateScope::ModelPerOrganization => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_indexes_agree() {
        for (i, scope) in Scope::ALL.iter().enumerate() {
            assert_eq!(scope.index(), i);
        }
        assert!(Scope::ALL.windows(2).all(|w| w[0] < w[1]));
        for (i, scope) in RateScope::REPORT_ORDER.iter().enumerate() {
            assert_eq!(scope.report_rank(), i, "{scope:?}");
        }
        let set: ScopeSet = [Scope::EndUser, Scope::Key, Scope::Team]
            .into_iter()
            .collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Scope::Key, Scope::Team, Scope::EndUser]
        );
        assert_eq!(
            Scope::TeamMember.key_condition(2),
            "team_id = $2 AND user_id = $3"
        );
        let member = LevelRow {
            scope: Scope::TeamMember,
            id: "t",
            user_id: Some("u"),
        };
        assert_eq!(
            member.key_values().collect::<Vec<_>>(),
            [Some("t"), Some("u")]
        );
        let team = LevelRow {
            scope: Scope::Team,
            id: "t",
            user_id: Some("ignored"),
        };
        assert_eq!(team.key_values().collect::<Vec<_>>(), [Some("t")]);
    }

    /// `rbac._reservation_levels` as `Scope::ALL` defines it: every level with its ids from the reservation, in
    /// lock order (settle locks in that order); a two-column level only when both ids are known.
    fn reservation_levels_sql() -> String {
        let rows: Vec<String> = Scope::ALL
            .iter()
            .enumerate()
            .map(|(i, scope)| {
                let columns = scope.key_columns();
                let second = match columns.get(1) {
                    Some(column) => format!("r.{column}"),
                    // the first row fixes the column's type
                    None if i == 0 => "NULL::text".to_string(),
                    None => "NULL".to_string(),
                };
                format!("('{}', r.{}, {second})", scope.name(), columns[0])
            })
            .collect();
        let pairs: String = Scope::ALL
            .iter()
            .filter(|s| s.key_columns().len() == 2)
            .map(|s| {
                format!(
                    " AND (v.column1 <> '{}' OR v.column3 IS NOT NULL)",
                    s.name()
                )
            })
            .collect();
        format!(
            "CREATE FUNCTION rbac._reservation_levels(r rbac.reservations)\n\
             RETURNS TABLE(scope text, id1 text, id2 text) LANGUAGE sql IMMUTABLE AS $$\n  \
             SELECT * FROM (VALUES {}) v\n  WHERE v.column2 IS NOT NULL{pairs}\n$$;",
            rows.join(", ")
        )
    }

    /// A PL/pgSQL `CASE p_scope` with one static statement per level (`$table`, `$cond` substituted).
    fn case_per_scope(statement: &str) -> String {
        let mut sql = String::from("  CASE p_scope\n");
        for scope in Scope::ALL {
            let cond = scope.key_condition_with(|i| format!("p_id{}", i + 1));
            sql.push_str(&format!("  WHEN '{}' THEN\n    ", scope.name()));
            sql.push_str(
                &statement
                    .replace("$table", scope.table())
                    .replace("$cond", &cond),
            );
            sql.push('\n');
        }
        sql.push_str("  END CASE;\n");
        sql
    }

    fn reserve_sql() -> String {
        format!(
            "CREATE FUNCTION rbac._reserve(p_scope text, p_id1 text, p_id2 text, p_amount numeric, p_check boolean)\n\
             RETURNS boolean LANGUAGE plpgsql AS $$\n#variable_conflict use_variable\nDECLARE n int;\nBEGIN\n{}\
             GET DIAGNOSTICS n = ROW_COUNT;\n  RETURN n > 0;\nEND $$;",
            case_per_scope(
                "UPDATE rbac.$table SET reserved = greatest(reserved + p_amount, 0) WHERE $cond\n      \
                 AND (NOT p_check OR (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) + reserved + p_amount <= max_budget);"
            )
        )
    }

    /// `_record_spend` up to the end of its per-level CASE (what follows it, the soft-budget and first-customer
    /// handling of sql/055_budgets.sql, is not per level).
    fn record_spend_sql() -> String {
        format!(
            "CREATE FUNCTION rbac._record_spend(p_scope text, p_id1 text, p_id2 text, p_spend numeric, p_release numeric)\n\
             RETURNS void LANGUAGE plpgsql AS $$\n#variable_conflict use_variable\n\
             DECLARE v_soft numeric; v_spend numeric; v_max numeric; v_period_end timestamptz;\nBEGIN\n{}",
            case_per_scope(
                "UPDATE rbac.$table SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,\n      \
                 budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,\n      \
                 reserved = greatest(reserved - p_release, 0) WHERE $cond\n      \
                 RETURNING soft_budget, spend, max_budget, budget_reset_at INTO v_soft, v_spend, v_max, v_period_end;"
            )
        )
    }

    fn words(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The per-level PL/pgSQL of `sql/020_quota.sql` is exactly what `Scope` derives (up to whitespace): same
    /// levels, names, tables, key columns and lock order. On failure the message holds the text to paste.
    #[test]
    fn quota_sql_matches_scope() {
        let file = words(include_str!("../sql/020_quota.sql"));
        for expected in [reservation_levels_sql(), reserve_sql(), record_spend_sql()] {
            assert!(
                file.contains(&words(&expected)),
                "sql/020_quota.sql is out of step with src/scope.rs; expected:\n{expected}"
            );
        }
    }
}
