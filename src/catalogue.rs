//! Per-backend cache of the small, rarely-changing policy tables: route groups, the model catalogue,
//! role permissions and trusted JWT issuers (with their parsed keys).
//!
//! Why a cache: these tables are read by every decision and change rarely. Why it is safe: statement triggers
//! bump `rbac.cache_epoch` from a sequence on every change; each call reads the epoch in its own snapshot and
//! reloads when it differs, so a change is seen by the next call in every backend (and at once by the
//! transaction that made it). Sequence values are never reused, so a rolled-back change cannot alias a
//! committed one. A backend is one process, so a `thread_local!` needs no lock.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::spi::SpiClient;

use crate::access::models::{ModelCatalogue, ModelInfo};
use crate::access::routes::RouteGroups;
use crate::auth::jwt::Issuer;
use crate::spi_util::{self, text_list};

/// `rbac.role_permissions` row: models and routes a JWT role may use when its issuer enforces RBAC.
#[derive(Debug, Clone, Default)]
pub struct RolePermission {
    pub models: Vec<String>,
    pub routes: Vec<String>,
}

/// Everything cached for one epoch.
#[derive(Debug, Default)]
pub struct Catalogue {
    pub epoch: i64,
    pub routes: RouteGroups,
    pub models: ModelCatalogue,
    pub role_permissions: HashMap<String, RolePermission>,
    pub issuers: HashMap<String, Rc<Issuer>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Catalogue>>> = const { RefCell::new(None) };
}

/// The catalogue for `epoch` (as read by the caller's query), reloading it when the epoch moved.
pub fn for_epoch(client: &SpiClient<'_>, epoch: i64) -> Rc<Catalogue> {
    if let Some(cached) = CURRENT.with(|c| c.borrow().clone()) {
        if cached.epoch == epoch {
            return cached;
        }
    }
    let loaded = Rc::new(load(client, epoch));
    CURRENT.with(|c| *c.borrow_mut() = Some(loaded.clone()));
    crate::auth::jwt::forget_verified_tokens();
    loaded
}

/// The current catalogue, reading the epoch first (for callers without a context query, e.g. triggers).
pub fn current(client: &SpiClient<'_>) -> Rc<Catalogue> {
    const EPOCH_SQL: &str = "SELECT epoch FROM rbac.cache_epoch";
    let stmt = spi_util::statement(client, EPOCH_SQL, &[], false);
    let epoch = client
        .select(&*stmt, Some(1), &[])
        .and_then(|t| t.first().get_one::<i64>())
        .unwrap_or_else(|e| spi_util::spi_failed(e))
        .unwrap_or(0);
    for_epoch(client, epoch)
}

fn load(client: &SpiClient<'_>, epoch: i64) -> Catalogue {
    let mut catalogue = Catalogue { epoch, ..Default::default() };
    let routes = client
        .select("SELECT group_name, pattern FROM rbac.route_groups", None, &[])
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    for row in routes {
        if let (Ok(Some(group)), Ok(Some(pattern))) = (row.get::<String>(1), row.get::<String>(2)) {
            catalogue.routes.add(&group, &pattern);
        }
    }
    let models = client
        .select("SELECT model_name, provider, access_groups FROM rbac.models", None, &[])
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    for row in models {
        let Ok(Some(name)) = row.get::<String>(1) else { continue };
        let info = ModelInfo {
            provider: row.get::<String>(2).ok().flatten(),
            access_groups: text_list(row.get::<Vec<Option<String>>>(3).ok().flatten()),
        };
        catalogue.models.add(name, info);
    }
    let permissions = client
        .select("SELECT role::text, models, routes FROM rbac.role_permissions", None, &[])
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    for row in permissions {
        let Ok(Some(role)) = row.get::<String>(1) else { continue };
        let permission = RolePermission {
            models: text_list(row.get::<Vec<Option<String>>>(2).ok().flatten()),
            routes: text_list(row.get::<Vec<Option<String>>>(3).ok().flatten()),
        };
        catalogue.role_permissions.insert(role, permission);
    }
    catalogue.issuers = load_issuers(client);
    catalogue
}

/// Trusted issuers with their JWKS parsed once per epoch. A row that cannot be used is skipped (and so trusts
/// nothing) rather than failing every decision; the write-time trigger rejects most such rows anyway.
fn load_issuers(client: &SpiClient<'_>) -> HashMap<String, Rc<Issuer>> {
    let rows = client
        .select("SELECT to_jsonb(i)::text FROM rbac.jwt_issuers i", None, &[])
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    let mut issuers = HashMap::new();
    for row in rows {
        let Ok(Some(text)) = row.get::<String>(1) else { continue };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        match Issuer::from_row(&value) {
            Ok(issuer) => {
                issuers.insert(issuer.issuer.clone(), Rc::new(issuer));
            }
            Err(e) => pgrx::warning!("pg_rbac: ignoring unusable rbac.jwt_issuers row: {e}"),
        }
    }
    issuers
}
