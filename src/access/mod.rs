//! Authorization gates that do not depend on how the caller authenticated: routes, models and budgets.
pub mod budget;
pub mod models;
pub mod routes;
pub mod sql_api;
