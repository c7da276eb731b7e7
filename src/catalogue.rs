//! Per-backend cache of the small, rarely-changing policy tables: route groups, the model catalogue,
//! role permissions and trusted JWT issuers (with their parsed keys).
//!
//! Why a cache: these tables are read by every decision and change rarely. Why it is safe: every change
//! invalidates it in every backend through PostgreSQL's invalidation messages (see `invalidation`), so the
//! next call after a commit — and the changing transaction itself — reloads. A backend is one process, so a
//! `thread_local!` needs no lock.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::spi::SpiClient;

use crate::access::models::{ModelCatalogue, ModelInfo};
use crate::access::routes::RouteGroups;
use crate::auth::jwt::Issuer;
use crate::invalidation;
use crate::role::Role;
use crate::spi_util::{self, text_list};

/// `rbac.role_permissions` row: models and routes a JWT role may use when its issuer enforces RBAC.
#[derive(Debug, Clone, Default)]
pub struct RolePermission {
    pub models: Vec<String>,
    pub routes: Vec<String>,
}

/// Everything cached for one policy generation.
#[derive(Debug, Default)]
pub struct Catalogue {
    pub generation: u64,
    pub routes: RouteGroups,
    pub models: ModelCatalogue,
    pub role_permissions: HashMap<Role, RolePermission>,
    pub issuers: HashMap<String, Rc<Issuer>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Catalogue>>> = const { RefCell::new(None) };
}

/// The catalogue of the current policy generation, loaded on first use after a change.
pub fn current(client: &SpiClient<'_>) -> Rc<Catalogue> {
    let generation = invalidation::generation();
    if let Some(cached) = CURRENT.with(|c| c.borrow().clone()) {
        if cached.generation == generation {
            return cached;
        }
    }
    let loaded = Rc::new(load(client, generation));
    CURRENT.with(|c| *c.borrow_mut() = Some(loaded.clone()));
    crate::auth::jwt::forget_verified_tokens();
    loaded
}

fn load(client: &SpiClient<'_>, generation: u64) -> Catalogue {
    let mut catalogue = Catalogue {
        generation,
        ..Default::default()
    };
    let sentinel = client
        .select("SELECT 'rbac.cache_epoch'::regclass::oid", None, &[])
        .and_then(|t| t.first().get_one::<pgrx::pg_sys::Oid>())
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    invalidation::set_sentinel(sentinel.unwrap_or(pgrx::pg_sys::InvalidOid));
    let routes = client
        .select(
            "SELECT group_name, pattern FROM rbac.route_groups",
            None,
            &[],
        )
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    for row in routes {
        if let (Ok(Some(group)), Ok(Some(pattern))) = (row.get::<String>(1), row.get::<String>(2)) {
            catalogue.routes.add(&group, &pattern);
        }
    }
    let models = client
        .select(
            "SELECT model_name, provider, access_groups FROM rbac.models",
            None,
            &[],
        )
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    for row in models {
        let Ok(Some(name)) = row.get::<String>(1) else {
            continue;
        };
        let info = ModelInfo {
            provider: row.get::<String>(2).ok().flatten(),
            access_groups: text_list(row.get::<Vec<Option<String>>>(3).ok().flatten()),
        };
        catalogue.models.add(name, info);
    }
    let permissions = client
        .select(
            "SELECT role::text, models, routes FROM rbac.role_permissions",
            None,
            &[],
        )
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    for row in permissions {
        // the column's domain rbac.user_role admits known roles only
        let Some(role) = row
            .get::<String>(1)
            .ok()
            .flatten()
            .and_then(|r| Role::parse(&r))
        else {
            continue;
        };
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
        .select(
            "SELECT to_jsonb(i)::text FROM rbac.jwt_issuers i",
            None,
            &[],
        )
        .unwrap_or_else(|e| spi_util::spi_failed(e));
    let mut issuers = HashMap::new();
    for row in rows {
        let Ok(Some(text)) = row.get::<String>(1) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        match Issuer::from_row(&value) {
            Ok(issuer) => {
                issuers.insert(issuer.issuer.clone(), Rc::new(issuer));
            }
            Err(e) => pgrx::warning!("pg_rbac: ignoring unusable rbac.jwt_issuers row: {e}"),
        }
    }
    issuers
}
