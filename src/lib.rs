//! pg_rbac: the authorization layer of an LLM gateway (LiteLLM's proxy semantics) inside PostgreSQL.
//!
//! This file only wires modules and SQL files together; see `docs/architecture.md` for the design.
use pgrx::prelude::*;

pub mod access;
pub mod auth;
pub mod caller;
pub mod catalogue;
pub mod check;
pub mod context;
pub mod decision;
pub mod decision_log;
pub mod explain;
pub mod gates;
pub mod invalidation;
pub mod principal;
pub mod quota;
pub mod role;
pub mod scope;
pub mod spi_util;
pub mod trace;

#[cfg(any(test, feature = "pg_test"))]
mod tests;

::pgrx::pg_module_magic!(name, version);

/// `rbac.jwt_cache_size`: verified JWTs cached per backend (default 4096, 0 = verify every token).
pub static JWT_CACHE_SIZE: pgrx::GucSetting<i32> =
    pgrx::GucSetting::<i32>::new(auth::jwt::VERIFIED_CACHE_CAPACITY as i32);

/// `rbac.reservation_ttl`: seconds an unsettled `consume_quota` reservation holds its budget and parallel slot
/// (default 600, at least 1). Superuser-only, so a caller cannot shorten it to defeat the limits.
pub static RESERVATION_TTL: pgrx::GucSetting<i32> = pgrx::GucSetting::<i32>::new(600);

/// Library load: registers pg_rbac's settings. Runs on first use in each backend (no preload needed).
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // Errors never carry Rust backtraces (build paths, crate versions) into the DETAIL a client sees, whatever
    // RUST_BACKTRACE the server inherited: std reads RUST_LIB_BACKTRACE first and caches the answer, and this runs
    // at library load, before any error can capture one. PG_RBAC_BACKTRACE=1 in the server's environment keeps
    // them, for debugging.
    if std::env::var_os("PG_RBAC_BACKTRACE").is_none_or(|v| v != "1") {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    pgrx::GucRegistry::define_int_guc(
        c"rbac.jwt_cache_size",
        c"Verified JWTs cached per backend (0 disables the cache).",
        c"Each entry holds one verified principal keyed by the token's SHA-256; about 1 KiB per entry.",
        &JWT_CACHE_SIZE,
        0,
        1_000_000,
        pgrx::GucContext::Userset,
        pgrx::GucFlags::default(),
    );
    pgrx::GucRegistry::define_int_guc(
        c"rbac.reservation_ttl",
        c"How long an unsettled rbac.consume_quota reservation holds its budget and parallel slot.",
        c"Reservations older than this are released by rbac.expire_reservations and before a key is refused.",
        &RESERVATION_TTL,
        1,
        86_400 * 7,
        pgrx::GucContext::Suset,
        pgrx::GucFlags::UNIT_S,
    );
    decision_log::register();
    invalidation::register();
    principal::register_callbacks();
}

extension_sql_file!("../sql/001_schema.sql", name = "schema", bootstrap);
extension_sql_file!(
    "../sql/002_quota_schema.sql",
    name = "quota_schema",
    requires = ["schema"]
);
extension_sql_file!(
    "../sql/004_budget_schema.sql",
    name = "budget_schema",
    requires = ["quota_schema"]
);
extension_sql_file!(
    "../sql/003_route_groups.sql",
    name = "route_groups",
    requires = ["schema"]
);
extension_sql_file!(
    "../sql/010_policy_rules.sql",
    name = "policy_rules",
    requires = [
        "route_groups",
        "quota_schema",
        access::sql_api::models_within,
        principal::current_principal_user_id,
        invalidation::_signal_policy_change,
        caller::acting_db_user,
        caller::_note_dml_role
    ]
);
extension_sql_file!(
    "../sql/020_quota.sql",
    name = "quota",
    requires = ["policy_rules", quota::consume_quota]
);
extension_sql_file!(
    "../sql/030_security.sql",
    name = "security",
    requires = [
        "policy_rules",
        "quota",
        check::rbac_check_sql,
        principal::authenticate,
        principal::current_principal,
        caller::management_caller_administers,
        caller::acting_db_user
    ]
);
extension_sql_file!(
    "../sql/040_functions.sql",
    name = "functions",
    requires = [
        check::rbac_check_sql,
        quota::consume_quota,
        principal::authenticate,
        principal::current_principal,
        principal::current_principal_user_id,
        principal::current_principal_role,
        auth::keys::hash_key_sql,
        auth::keys::generate_key_plaintext_sql,
        access::sql_api::model_allowed,
        access::sql_api::models_within,
        access::sql_api::route_allowed_by
    ]
);
extension_sql_file!(
    "../sql/050_management.sql",
    name = "management",
    requires = ["functions", "security", "quota"]
);
extension_sql_file!(
    "../sql/055_budgets.sql",
    name = "budgets",
    requires = ["management", "budget_schema"]
);
extension_sql_file!(
    "../sql/060_lifecycle.sql",
    name = "lifecycle",
    requires = ["management"]
);
extension_sql_file!(
    "../sql/070_inspection.sql",
    name = "inspection",
    requires = ["lifecycle", check::model_is_callable]
);
extension_sql_file!(
    "../sql/080_decisions.sql",
    name = "decisions",
    requires = ["inspection", explain::explain_steps]
);
extension_sql_file!("../sql/090_finalize.sql", name = "finalize", finalize);

/// Used by `cargo pgrx test`: the test cluster needs no extra settings.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
