//! The request context: everything the gates need about a principal, loaded with one prepared query
//! (LiteLLM's "combined view", litellm-semantics §1.9). Comparisons of money and time are done in SQL so
//! the numeric and timestamptz semantics are PostgreSQL's own.
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiTupleTable};

use crate::access::budget::BudgetState;
use crate::spi_util::{self, text_list, TEXT};

/// One level of the hierarchy (team, team membership, organization, user or end user).
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub id: String,
    pub models: Vec<String>,
    pub blocked: bool,
    pub budget: BudgetState,
}

/// The virtual key's own columns.
#[derive(Debug, Clone, Default)]
pub struct KeyRow {
    pub key_hash: String,
    pub user_id: Option<String>,
    pub models: Vec<String>,
    pub blocked: bool,
    pub expired: bool,
    pub allowed_routes: Vec<String>,
    pub may_read_global_spend: bool,
    pub budget: BudgetState,
}

/// The joined context of one request.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Cache epoch read in the same snapshot (see `catalogue`).
    pub epoch: i64,
    pub key: Option<KeyRow>,
    pub team: Option<Level>,
    /// The caller's membership of `team` (its `id` is the user id).
    pub member: Option<Level>,
    pub organization: Option<Level>,
    pub user: Option<Level>,
    /// `rbac.users.user_role` of `user`.
    pub user_role: Option<String>,
    pub end_user: Option<Level>,
    /// Admin of at least one organization.
    pub is_org_admin: bool,
}

/// Columns shared by both loaders (27): epoch; team, membership, organization, user and end user as
/// (id, models, blocked, budget exhausted, reset due) — the user's second column is its role; org-admin flag.
macro_rules! entity_columns {
    () => {
        "(SELECT epoch FROM rbac.cache_epoch), \
         t.team_id, t.models, coalesce(t.blocked, false), \
         t.max_budget IS NOT NULL AND (CASE WHEN t.budget_reset_at <= now() THEN 0 ELSE t.spend END) >= t.max_budget, \
         coalesce(t.budget_reset_at <= now(), false), \
         tm.user_id, tm.allowed_models, false, \
         tm.max_budget IS NOT NULL AND (CASE WHEN tm.budget_reset_at <= now() THEN 0 ELSE tm.spend END) >= tm.max_budget, \
         coalesce(tm.budget_reset_at <= now(), false), \
         o.organization_id, o.models, coalesce(o.blocked, false), \
         o.max_budget IS NOT NULL AND (CASE WHEN o.budget_reset_at <= now() THEN 0 ELSE o.spend END) >= o.max_budget, \
         coalesce(o.budget_reset_at <= now(), false), \
         u.user_id, u.user_role::text, u.models, \
         u.max_budget IS NOT NULL AND (CASE WHEN u.budget_reset_at <= now() THEN 0 ELSE u.spend END) >= u.max_budget, \
         coalesce(u.budget_reset_at <= now(), false), \
         e.end_user_id, e.models, coalesce(e.blocked, false), \
         e.max_budget IS NOT NULL AND (CASE WHEN e.budget_reset_at <= now() THEN 0 ELSE e.spend END) >= e.max_budget, \
         coalesce(e.budget_reset_at <= now(), false), \
         EXISTS (SELECT 1 FROM rbac.organization_members om WHERE om.user_id = u.user_id AND om.user_role = 'org_admin')"
    };
}

/// Joins for a key: team, the key owner's membership of it, the key's (else the team's) organization, owner, end user.
/// A regenerated key inside its grace period resolves to its active key (LiteLLM deprecated keys).
const KEY_CONTEXT_SQL: &str = concat!(
    "SELECT ",
    entity_columns!(),
    ", k.key_hash, k.user_id, k.models, coalesce(k.blocked, false), coalesce(k.expires <= now(), false), k.allowed_routes, \
     coalesce(k.permissions -> 'get_spend_routes' = 'true'::jsonb, false), \
     k.max_budget IS NOT NULL AND (CASE WHEN k.budget_reset_at <= now() THEN 0 ELSE k.spend END) >= k.max_budget, \
     coalesce(k.budget_reset_at <= now(), false) \
     FROM rbac.keys k \
     LEFT JOIN rbac.teams t ON t.team_id = k.team_id \
     LEFT JOIN rbac.team_members tm ON tm.team_id = k.team_id AND tm.user_id = k.user_id \
     LEFT JOIN rbac.organizations o ON o.organization_id = coalesce(k.organization_id, t.organization_id) \
     LEFT JOIN rbac.users u ON u.user_id = k.user_id \
     LEFT JOIN rbac.end_users e ON e.end_user_id = $2 \
     WHERE k.key_hash = coalesce((SELECT d.active_key_hash FROM rbac.deprecated_keys d \
                                  WHERE d.key_hash = $1 AND d.revoke_at > now()), $1)"
);

/// Joins for a principal named by ids (JWT): user, team, membership, organization (given, else the team's), end user.
const PRINCIPAL_CONTEXT_SQL: &str = concat!(
    "SELECT ",
    entity_columns!(),
    " FROM (SELECT $1::text AS user_id, $2::text AS team_id, $3::text AS organization_id) p \
     LEFT JOIN rbac.teams t ON t.team_id = p.team_id \
     LEFT JOIN rbac.team_members tm ON tm.team_id = p.team_id AND tm.user_id = p.user_id \
     LEFT JOIN rbac.organizations o ON o.organization_id = coalesce(p.organization_id, t.organization_id) \
     LEFT JOIN rbac.users u ON u.user_id = p.user_id \
     LEFT JOIN rbac.end_users e ON e.end_user_id = $4"
);

/// Loads the context of a virtual key by its hash; None when no such key (or grace-period alias) exists.
pub fn load_for_key(client: &SpiClient<'_>, key_hash: &str, end_user_id: Option<&str>) -> Option<Context> {
    let stmt = spi_util::statement(client, KEY_CONTEXT_SQL, &[TEXT, TEXT], false);
    let table = client.select(&*stmt, Some(1), &[key_hash.into(), end_user_id.into()]).unwrap_or_else(|e| spi_util::spi_failed(e));
    if table.is_empty() {
        return None;
    }
    let table = table.first();
    let mut ctx = read_entities(&table);
    ctx.key = Some(KeyRow {
        key_hash: col(&table, 28).unwrap_or_default(),
        user_id: col(&table, 29),
        models: text_list(col(&table, 30)),
        blocked: col(&table, 31).unwrap_or(false),
        expired: col(&table, 32).unwrap_or(false),
        allowed_routes: text_list(col(&table, 33)),
        may_read_global_spend: col(&table, 34).unwrap_or(false),
        budget: BudgetState { exhausted: col(&table, 35).unwrap_or(false), reset_due: col(&table, 36).unwrap_or(false) },
    });
    Some(ctx)
}

/// Loads the context of a principal named by ids (a JWT): rows that do not exist are simply absent.
pub fn load_for_principal(
    client: &SpiClient<'_>,
    user_id: Option<&str>,
    team_id: Option<&str>,
    organization_id: Option<&str>,
    end_user_id: Option<&str>,
) -> Context {
    let stmt = spi_util::statement(client, PRINCIPAL_CONTEXT_SQL, &[TEXT, TEXT, TEXT, TEXT], false);
    let args = [user_id.into(), team_id.into(), organization_id.into(), end_user_id.into()];
    let table = client.select(&*stmt, Some(1), &args).unwrap_or_else(|e| spi_util::spi_failed(e)).first();
    read_entities(&table)
}

fn col<T: FromDatum + IntoDatum>(table: &SpiTupleTable<'_>, ordinal: usize) -> Option<T> {
    table.get::<T>(ordinal).unwrap_or_else(|e| spi_util::spi_failed(e))
}

/// Reads one level starting at `first`: id, models, blocked, exhausted, reset_due.
fn read_level(table: &SpiTupleTable<'_>, first: usize) -> Option<Level> {
    let id: String = col(table, first)?;
    Some(Level {
        id,
        models: text_list(col(table, first + 1)),
        blocked: col(table, first + 2).unwrap_or(false),
        budget: BudgetState {
            exhausted: col(table, first + 3).unwrap_or(false),
            reset_due: col(table, first + 4).unwrap_or(false),
        },
    })
}

fn read_entities(table: &SpiTupleTable<'_>) -> Context {
    Context {
        epoch: col(table, 1).unwrap_or(0),
        key: None,
        team: read_level(table, 2),
        member: read_level(table, 7),
        organization: read_level(table, 12),
        user_role: col(table, 18),
        user: col::<String>(table, 17).map(|id| Level {
            id,
            models: text_list(col(table, 19)),
            blocked: false,
            budget: BudgetState { exhausted: col(table, 20).unwrap_or(false), reset_due: col(table, 21).unwrap_or(false) },
        }),
        end_user: read_level(table, 22),
        is_org_admin: col(table, 27).unwrap_or(false),
    }
}
