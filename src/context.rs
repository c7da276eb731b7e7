//! The request context: everything the gates need about a principal (LiteLLM's "combined view",
//! docs/semantics.md §2.6).
//!
//! Policy columns (models, blocked, roles, expiry, which levels have a budget) are loaded with one prepared
//! query per principal and cached per backend until a policy change invalidates them (`invalidation`); the
//! budget state, which changes with every request, is read live — one primary-key lookup per level that has a
//! `max_budget` or a `budget_duration`, and none at all for principals without budgets. Money and time are
//! compared in SQL so their semantics are PostgreSQL's own (numeric, timestamptz, `now()`).
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiTupleTable};

use crate::access::budget::BudgetState;
use crate::invalidation;
use crate::role::Role;
use crate::scope::{LevelRow, Scope, ScopeSet};
use crate::spi_util::{self, text_list, TEXT};

/// One level of the hierarchy (team, team membership, organization, user or end user).
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub id: String,
    pub models: Vec<String>,
    pub blocked: bool,
    /// The level has a `max_budget` or a `budget_duration`: its budget state must be read live.
    pub budgeted: bool,
    pub budget: BudgetState,
    pub limits: Limits,
}

/// A level's quota limits (policy, cached): requests and tokens per 60-second window, a budget cap, and
/// per-model limits (`metadata.model_rpm_limit` / `model_tpm_limit`, docs/semantics.md §10.2).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub has_max_budget: bool,
    pub max_parallel_requests: Option<i64>,
    pub model_rpm: HashMap<String, i64>,
    pub model_tpm: HashMap<String, i64>,
}

/// The virtual key's own columns.
#[derive(Debug, Clone, Default)]
pub struct KeyRow {
    pub key_hash: String,
    pub user_id: Option<String>,
    pub models: Vec<String>,
    pub blocked: bool,
    /// `expires <= now()` at the transaction start.
    pub expired: bool,
    pub allowed_routes: Vec<String>,
    /// Reached through an old hash inside its regeneration grace period (LLM routes only).
    pub in_grace_period: bool,
    pub may_read_global_spend: bool,
    pub budgeted: bool,
    pub budget: BudgetState,
    pub limits: Limits,
}

/// The joined context of one request.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub key: Option<KeyRow>,
    pub team: Option<Level>,
    /// The caller's membership of `team` (its `id` is the user id).
    pub member: Option<Level>,
    pub organization: Option<Level>,
    pub user: Option<Level>,
    /// `rbac.users.user_role` of `user` (a column of the domain `rbac.user_role`, so always a known role).
    pub user_role: Option<Role>,
    pub end_user: Option<Level>,
    /// The customer the request is for — a JWT's end-user claim, else the request's — whether or not it has an
    /// `end_users` row (spend is recorded against it either way).
    pub end_user_id: Option<String>,
    /// Admin of at least one organization.
    pub is_org_admin: bool,
}

/// One level of a context, as budgets and quotas see it: its row, whether it carries a budget, the budget's
/// live state and its limits.
#[derive(Debug, Clone, Copy)]
pub struct LevelView<'a> {
    pub row: LevelRow<'a>,
    /// `max_budget` or `budget_duration` is set: the budget state is read live.
    pub budgeted: bool,
    pub budget: BudgetState,
    pub limits: &'a Limits,
}

impl Context {
    /// The level's row in this context, if present (a team membership only together with its team).
    pub fn level<'a>(&'a self, scope: Scope) -> Option<LevelView<'a>> {
        let view = |id: &'a str, user_id: Option<&'a str>, l: &'a Level| LevelView {
            row: LevelRow { scope, id, user_id },
            budgeted: l.budgeted,
            budget: l.budget,
            limits: &l.limits,
        };
        match scope {
            Scope::Key => self.key.as_ref().map(|k| LevelView {
                row: LevelRow {
                    scope,
                    id: &k.key_hash,
                    user_id: None,
                },
                budgeted: k.budgeted,
                budget: k.budget,
                limits: &k.limits,
            }),
            Scope::TeamMember => match (&self.team, &self.member) {
                (Some(team), Some(member)) => Some(view(&team.id, Some(&member.id), member)),
                _ => None,
            },
            Scope::Team => self.team.as_ref().map(|l| view(&l.id, None, l)),
            Scope::Organization => self.organization.as_ref().map(|l| view(&l.id, None, l)),
            Scope::User => self.user.as_ref().map(|l| view(&l.id, None, l)),
            Scope::EndUser => self.end_user.as_ref().map(|l| view(&l.id, None, l)),
        }
    }

    /// A level whose budget applies: every level present, the user's only without a team (docs/semantics.md §9.1).
    pub fn budget_level(&self, scope: Scope) -> Option<LevelView<'_>> {
        if scope == Scope::User && self.team.is_some() {
            return None;
        }
        self.level(scope)
    }

    fn budget_mut(&mut self, scope: Scope) -> Option<&mut BudgetState> {
        let level = match scope {
            Scope::Key => return self.key.as_mut().map(|k| &mut k.budget),
            Scope::TeamMember => &mut self.member,
            Scope::Team => &mut self.team,
            Scope::Organization => &mut self.organization,
            Scope::User => &mut self.user,
            Scope::EndUser => &mut self.end_user,
        };
        level.as_mut().map(|l| &mut l.budget)
    }
}

/// A cached key: its context without budget state, plus the instants that make it unusable.
#[derive(Debug)]
struct CachedKey {
    context: Context,
    /// `keys.expires` in microseconds since 2000-01-01 (PostgreSQL's epoch).
    expires_at: Option<i64>,
    /// For a regenerated key's old hash: the end of its grace period.
    revoke_at: Option<i64>,
}

/// Entries cached per map at most (keys, JWT principals, end users); a full map is cleared (policy is re-read on
/// demand). At roughly 1 KiB per entry the worst case is about 30 MiB per backend; typical proxies touch far fewer.
const MAX_ENTRIES: usize = 10_000;

/// The ids a JWT principal's context is cached under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PrincipalIds {
    user_id: Option<String>,
    team_id: Option<String>,
    organization_id: Option<String>,
}

#[derive(Default)]
struct EntityCache {
    generation: u64,
    keys: HashMap<String, Option<Rc<CachedKey>>>,
    principals: HashMap<PrincipalIds, Rc<Context>>,
    end_users: HashMap<String, Option<Rc<Level>>>,
}

thread_local! {
    static CACHE: RefCell<EntityCache> = RefCell::new(EntityCache::default());
}

/// Runs `f` on the cache of the current policy generation (dropping an older one first).
fn with_cache<R>(f: impl FnOnce(&mut EntityCache) -> R) -> R {
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let generation = invalidation::generation();
        if cache.generation != generation {
            *cache = EntityCache {
                generation,
                ..Default::default()
            };
        }
        f(&mut cache)
    })
}

fn insert_bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}

/// Columns of one level, named `<p>_<column>` and read by name (`read_level`): id, models, blocked, budgeted,
/// limits. `$blocked` and `$meta` stand in for tables without a `blocked` or `metadata` column.
macro_rules! level_columns {
    ($p:literal, $id:literal, $models:literal, $blocked:literal, $meta:literal) => {
        concat!(
            $p,
            ".",
            $id,
            " AS ",
            $p,
            "_id, ",
            $p,
            ".",
            $models,
            " AS ",
            $p,
            "_models, ",
            $blocked,
            " AS ",
            $p,
            "_blocked, ",
            "(",
            $p,
            ".max_budget IS NOT NULL OR ",
            $p,
            ".budget_duration IS NOT NULL) AS ",
            $p,
            "_budgeted, ",
            $p,
            ".max_budget IS NOT NULL AS ",
            $p,
            "_has_max_budget, ",
            $p,
            ".rpm_limit AS ",
            $p,
            "_rpm, ",
            $p,
            ".tpm_limit AS ",
            $p,
            "_tpm, ",
            "(",
            $meta,
            " -> 'model_rpm_limit')::text AS ",
            $p,
            "_model_rpm, ",
            "(",
            $meta,
            " -> 'model_tpm_limit')::text AS ",
            $p,
            "_model_tpm"
        )
    };
}

/// Policy columns shared by both loaders: team, membership, organization, user (with its role), org-admin flag.
macro_rules! entity_columns {
    () => {
        concat!(
            level_columns!("t", "team_id", "models", "coalesce(t.blocked, false)", "t.metadata"), ", ",
            level_columns!("tm", "user_id", "allowed_models", "false", "NULL::jsonb"), ", ",
            level_columns!("o", "organization_id", "models", "coalesce(o.blocked, false)", "o.metadata"), ", ",
            level_columns!("u", "user_id", "models", "false", "NULL::jsonb"), ", ",
            "u.user_role::text AS u_role, ",
            "EXISTS (SELECT 1 FROM rbac.organization_members om WHERE om.user_id = u.user_id AND om.user_role = 'org_admin') AS is_org_admin"
        )
    };
}

/// A key with its team, the owner's membership of it, its organization (a team key's is always its team's: a
/// key cannot escape its team's organization, docs/semantics.md §2.6) and owner. A regenerated key's old hash
/// resolves to its active key; the grace period is checked at use.
const KEY_CONTEXT_SQL: &str = concat!(
    "SELECT ",
    entity_columns!(),
    ", ",
    level_columns!("k", "key_hash", "models", "coalesce(k.blocked, false)", "k.metadata"),
    ", k.user_id AS k_user_id, k.expires AS k_expires, k.allowed_routes AS k_allowed_routes, ",
    "coalesce(k.permissions -> 'get_spend_routes' = 'true'::jsonb, false) AS k_global_spend, ",
    "k.max_parallel_requests AS k_parallel, ",
    "(SELECT d.revoke_at FROM rbac.deprecated_keys d WHERE d.key_hash = $1) AS revoke_at ",
    "FROM rbac.keys k ",
    "LEFT JOIN rbac.teams t ON t.team_id = k.team_id ",
    "LEFT JOIN rbac.team_members tm ON tm.team_id = k.team_id AND tm.user_id = k.user_id ",
    "LEFT JOIN rbac.organizations o ",
    "ON o.organization_id = CASE WHEN k.team_id IS NOT NULL THEN t.organization_id ELSE k.organization_id END ",
    "LEFT JOIN rbac.users u ON u.user_id = k.user_id ",
    "WHERE k.key_hash = coalesce((SELECT d.active_key_hash FROM rbac.deprecated_keys d WHERE d.key_hash = $1), $1)"
);

/// A principal named by ids (JWT): user, team, membership, organization (the team's when there is a team, so an
/// organization claim cannot move a team out of its organization; else the claimed one).
const PRINCIPAL_CONTEXT_SQL: &str = concat!(
    "SELECT ",
    entity_columns!(),
    " FROM (SELECT $1::text AS user_id, $2::text AS team_id, $3::text AS organization_id) p \
     LEFT JOIN rbac.teams t ON t.team_id = p.team_id \
     LEFT JOIN rbac.team_members tm ON tm.team_id = p.team_id AND tm.user_id = p.user_id \
     LEFT JOIN rbac.organizations o ON o.organization_id = CASE WHEN p.team_id IS NOT NULL THEN t.organization_id ELSE p.organization_id END \
     LEFT JOIN rbac.users u ON u.user_id = p.user_id"
);

const END_USER_SQL: &str = concat!(
    "SELECT ",
    level_columns!(
        "e",
        "end_user_id",
        "models",
        "coalesce(e.blocked, false)",
        "e.metadata"
    ),
    " FROM rbac.end_users e WHERE e.end_user_id = $1"
);

/// The context of a virtual key by its hash; None when no such key (or grace-period alias) is usable now.
pub fn load_for_key(
    client: &SpiClient<'_>,
    key_hash: &str,
    end_user_id: Option<&str>,
) -> Option<Context> {
    let cached = with_cache(|c| c.keys.get(key_hash).cloned());
    let entry = match cached {
        Some(entry) => entry,
        None => {
            let entry = fetch_key(client, key_hash).map(Rc::new);
            with_cache(|c| insert_bounded(&mut c.keys, key_hash.to_string(), entry.clone()));
            entry
        }
    }?;
    let now = transaction_start();
    if entry.revoke_at.is_some_and(|revoke| revoke <= now) {
        return None;
    }
    let mut ctx = entry.context.clone();
    if let Some(key) = ctx.key.as_mut() {
        key.expired = entry.expires_at.is_some_and(|expires| expires <= now);
        key.in_grace_period = entry.revoke_at.is_some();
    }
    ctx.end_user = end_user(client, end_user_id);
    ctx.end_user_id = end_user_id.map(str::to_string);
    read_budgets(client, &mut ctx);
    Some(ctx)
}

/// The context of a principal named by ids (a JWT): rows that do not exist are simply absent.
pub fn load_for_principal(
    client: &SpiClient<'_>,
    user_id: Option<&str>,
    team_id: Option<&str>,
    organization_id: Option<&str>,
    end_user_id: Option<&str>,
) -> Context {
    let ids = PrincipalIds {
        user_id: user_id.map(str::to_string),
        team_id: team_id.map(str::to_string),
        organization_id: organization_id.map(str::to_string),
    };
    let cached = with_cache(|c| c.principals.get(&ids).cloned());
    let policy = match cached {
        Some(policy) => policy,
        None => {
            let policy = Rc::new(fetch_principal(client, user_id, team_id, organization_id));
            with_cache(|c| insert_bounded(&mut c.principals, ids, policy.clone()));
            policy
        }
    };
    let mut ctx = (*policy).clone();
    ctx.end_user = end_user(client, end_user_id);
    ctx.end_user_id = end_user_id.map(str::to_string);
    read_budgets(client, &mut ctx);
    ctx
}

fn fetch_key(client: &SpiClient<'_>, key_hash: &str) -> Option<CachedKey> {
    let stmt = spi_util::statement(client, KEY_CONTEXT_SQL, &[TEXT], false);
    let table = client
        .select(&*stmt, Some(1), &[key_hash.into()])
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    if table.is_empty() {
        return None;
    }
    let table = table.first();
    let mut context = read_entities(&table);
    let key_level = read_level(&table, "k").expect("a found key has a hash");
    context.key = Some(KeyRow {
        key_hash: key_level.id,
        user_id: by_name(&table, "k_user_id"),
        models: key_level.models,
        blocked: key_level.blocked,
        expired: false,
        in_grace_period: false,
        allowed_routes: text_list(by_name(&table, "k_allowed_routes")),
        may_read_global_spend: by_name(&table, "k_global_spend").unwrap_or(false),
        budgeted: key_level.budgeted,
        budget: BudgetState::default(),
        limits: Limits {
            max_parallel_requests: by_name(&table, "k_parallel"),
            ..key_level.limits
        },
    });
    Some(CachedKey {
        context,
        expires_at: by_name::<TimestampWithTimeZone>(&table, "k_expires").map(micros),
        revoke_at: by_name::<TimestampWithTimeZone>(&table, "revoke_at").map(micros),
    })
}

fn fetch_principal(
    client: &SpiClient<'_>,
    user_id: Option<&str>,
    team_id: Option<&str>,
    org_id: Option<&str>,
) -> Context {
    let stmt = spi_util::statement(client, PRINCIPAL_CONTEXT_SQL, &[TEXT, TEXT, TEXT], false);
    let args = [user_id.into(), team_id.into(), org_id.into()];
    let table = client
        .select(&*stmt, Some(1), &args)
        .unwrap_or_else(|e| spi_util::spi_failed(e))
        .first();
    read_entities(&table)
}

/// The end user (customer) row, cached like other policy; None for an unknown or absent customer.
fn end_user(client: &SpiClient<'_>, end_user_id: Option<&str>) -> Option<Level> {
    let id = end_user_id?;
    let cached = with_cache(|c| c.end_users.get(id).cloned());
    let entry = match cached {
        Some(entry) => entry,
        None => {
            let stmt = spi_util::statement(client, END_USER_SQL, &[TEXT], false);
            let table = client
                .select(&*stmt, Some(1), &[id.into()])
                .unwrap_or_else(|e| spi_util::spi_failed(e));
            let entry = if table.is_empty() {
                None
            } else {
                read_level(&table.first(), "e").map(Rc::new)
            };
            with_cache(|c| insert_bounded(&mut c.end_users, id.to_string(), entry.clone()));
            entry
        }
    };
    entry.map(|level| (*level).clone())
}

/// Live budget state of every budgeted level, `(exhausted, reset_due)`, in one statement of primary-key
/// lookups (only the levels whose budget applies and is set). No statement at all when no level has a budget.
fn read_budgets(client: &SpiClient<'_>, ctx: &mut Context) {
    // the user's budget gates only keys without a team (docs/semantics.md §9.1); settle resets its period otherwise
    let rows: Vec<LevelRow<'_>> = Scope::ALL
        .into_iter()
        .filter_map(|scope| ctx.budget_level(scope).filter(|l| l.budgeted))
        .map(|l| l.row)
        .collect();
    if rows.is_empty() {
        return;
    }
    let args: Vec<pgrx::datum::DatumWithOid> = rows
        .iter()
        .flat_map(|row| row.key_values())
        .map(Into::into)
        .collect();
    let types = vec![TEXT; args.len()];
    let sql = budgets_sql(rows.iter().map(|row| row.scope).collect());
    let stmt = spi_util::statement(client, sql, &types, false);
    let table = client
        .select(&*stmt, Some(1), &args)
        .unwrap_or_else(|e| spi_util::spi_failed(e))
        .first();
    let states: Vec<(Scope, BudgetState)> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let flags: Option<i32> = col(&table, i + 1);
            let state = flags.map_or_else(BudgetState::default, |f| BudgetState {
                exhausted: f & 1 != 0,
                reset_due: f & 2 != 0,
            });
            (row.scope, state)
        })
        .collect();
    for (scope, state) in states {
        if let Some(budget) = ctx.budget_mut(scope) {
            *budget = state;
        }
    }
}

thread_local! {
    static BUDGET_SQL: RefCell<HashMap<ScopeSet, &'static str>> = RefCell::new(HashMap::new());
}

/// The budget statement for one combination of levels, one column per level in lock order with its key
/// parameters numbered in that order; each column holds bit 0 = `max_budget` set and the period's spend (0 once
/// the period lapsed) at or above it, bit 1 = the period lapsed. Built once per combination and backend (at most
/// 64), so no unneeded lookup is even initialised.
fn budgets_sql(levels: ScopeSet) -> &'static str {
    if let Some(sql) = BUDGET_SQL.with(|m| m.borrow().get(&levels).copied()) {
        return sql;
    }
    let mut parts = Vec::new();
    let mut next_param = 1;
    for scope in levels.iter() {
        let cond = scope.key_condition(next_param);
        next_param += scope.key_columns().len();
        parts.push(format!(
            "(SELECT (CASE WHEN max_budget IS NOT NULL AND (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) >= max_budget \
             THEN 1 ELSE 0 END) | (CASE WHEN budget_reset_at <= now() THEN 2 ELSE 0 END) FROM rbac.{} WHERE {cond})",
            scope.table()
        ));
    }
    // leaked on purpose: the statement cache keys plans by &'static str, and there are at most 64 of these
    let sql: &'static str = Box::leak(format!("SELECT {}", parts.join(", ")).into_boxed_str());
    BUDGET_SQL.with(|m| m.borrow_mut().insert(levels, sql));
    sql
}

/// Microseconds since 2000-01-01 UTC of the current transaction's start (what SQL `now()` returns).
fn transaction_start() -> i64 {
    // SAFETY: reads the backend's transaction start timestamp
    unsafe { pg_sys::GetCurrentTransactionStartTimestamp() }
}

fn micros(ts: TimestampWithTimeZone) -> i64 {
    // The datum of a timestamptz is microseconds since 2000-01-01 UTC; infinities map to i64 bounds.
    ts.into_inner()
}

fn col<T: FromDatum + IntoDatum>(table: &SpiTupleTable<'_>, ordinal: usize) -> Option<T> {
    table
        .get::<T>(ordinal)
        .unwrap_or_else(|e| spi_util::spi_failed(e))
}

/// Reads a column by name (only when a cache entry is filled, so the name lookup costs nothing per call).
fn by_name<T: FromDatum + IntoDatum>(table: &SpiTupleTable<'_>, name: &str) -> Option<T> {
    table
        .get_by_name::<T, _>(name)
        .unwrap_or_else(|e| spi_util::spi_failed(e))
}

/// Per-model limits from `metadata.model_rpm_limit` (a JSON object of model → number); anything else is ignored.
fn model_limits(json: Option<String>) -> HashMap<String, i64> {
    let Some(text) = json else {
        return HashMap::new();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&text)
    else {
        return HashMap::new();
    };
    map.into_iter()
        .filter_map(|(model, limit)| {
            limit
                .as_f64()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| (model, v.floor() as i64))
        })
        .collect()
}

/// Reads the level whose columns are prefixed `p`; None when its row is absent.
fn read_level(table: &SpiTupleTable<'_>, p: &str) -> Option<Level> {
    let id: String = by_name(table, &format!("{p}_id"))?;
    Some(Level {
        id,
        models: text_list(by_name(table, &format!("{p}_models"))),
        blocked: by_name(table, &format!("{p}_blocked")).unwrap_or(false),
        budgeted: by_name(table, &format!("{p}_budgeted")).unwrap_or(false),
        budget: BudgetState::default(),
        limits: Limits {
            rpm: by_name(table, &format!("{p}_rpm")),
            tpm: by_name(table, &format!("{p}_tpm")),
            has_max_budget: by_name(table, &format!("{p}_has_max_budget")).unwrap_or(false),
            max_parallel_requests: None,
            model_rpm: model_limits(by_name(table, &format!("{p}_model_rpm"))),
            model_tpm: model_limits(by_name(table, &format!("{p}_model_tpm"))),
        },
    })
}

fn read_entities(table: &SpiTupleTable<'_>) -> Context {
    Context {
        key: None,
        team: read_level(table, "t"),
        member: read_level(table, "tm"),
        organization: read_level(table, "o"),
        user_role: by_name::<String>(table, "u_role").and_then(|r| Role::parse(&r)),
        user: read_level(table, "u"),
        end_user: None,
        end_user_id: None,
        is_org_admin: by_name(table, "is_org_admin").unwrap_or(false),
    }
}
