//! SQL entry points of the access predicates, for DBAs, triggers and tests.
use pgrx::prelude::*;

use crate::access::models;
use crate::catalogue;
use crate::spi_util::text_list;

/// True when a model list (`text[]`: names, globs with `*`, access groups, `*`, `all-proxy-models`; empty or
/// NULL = all) allows `model`, using the provider and access groups of `rbac.models`. LiteLLM
/// `_can_object_call_model` (docs/semantics.md §8.1–§8.4) with docs/semantics.md §8.2's glob fix. NULL model → NULL.
#[pg_extern(stable, parallel_restricted)]
pub fn model_allowed(model: Option<&str>, models: Option<Vec<Option<String>>>) -> Option<bool> {
    let model = model?;
    let list = text_list(models);
    Some(Spi::connect(|client| {
        let cat = catalogue::current(client);
        models::model_allowed(&cat.models, model, &list)
    }))
}

/// The first entry of `child` (a model list) that `parent` does not cover, or NULL when `child` lies within
/// `parent` (access groups resolved; an empty child inherits the parent, docs/semantics.md §8.6). Used by the write-time
/// validation triggers (docs/semantics.md §2).
#[pg_extern(stable, parallel_restricted)]
pub fn models_within(
    child: Option<Vec<Option<String>>>,
    parent: Option<Vec<Option<String>>>,
) -> Option<String> {
    let child = text_list(child);
    let parent = text_list(parent);
    if child.is_empty() || models::allows_everything(&parent) {
        return None;
    }
    Spi::connect(|client| {
        let cat = catalogue::current(client);
        models::first_not_within(&cat.models, &child, &parent).map(str::to_string)
    })
}

/// True when a route list (`text[]` of group names, exact paths (which also allow their sub-paths),
/// `{param}` templates and trailing-`*` prefixes; docs/semantics.md §7.1) allows `route`. Empty list → false.
#[pg_extern(stable, parallel_restricted)]
pub fn route_allowed_by(route: Option<&str>, routes: Option<Vec<Option<String>>>) -> Option<bool> {
    let route = route?;
    let list = text_list(routes);
    Some(Spi::connect(|client| {
        catalogue::current(client).routes.list_allows(&list, route)
    }))
}
