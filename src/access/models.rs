//! The model gate's predicate: may a model list call a model? (docs/semantics.md §4, §8.2; docs/semantics.md §8.)
//!
//! A list allows a model when it is empty, contains `*` or `all-proxy-models`, names the model exactly
//! (case-sensitive), names an access group the model belongs to, or holds a glob that matches the model —
//! directly or as `<provider>/<model>` for a bare name whose provider `rbac.models` knows. Only `*` is special
//! in a glob (the deliberate fix of docs/semantics.md §8.2: `gpt-4.1*` does not match `gpt-4x1`).
use std::collections::{HashMap, HashSet};

/// Special values of model lists (LiteLLM `SpecialModelNames`).
pub mod special {
    pub const ALL_PROXY_MODELS: &str = "all-proxy-models";
    pub const ALL_TEAM_MODELS: &str = "all-team-models";
    pub const NO_DEFAULT_MODELS: &str = "no-default-models";
    pub const STAR: &str = "*";
}

/// What `rbac.models` says about one model name.
#[derive(Debug, Default, Clone)]
pub struct ModelInfo {
    pub provider: Option<String>,
    pub access_groups: Vec<String>,
}

/// The model catalogue (`rbac.models`), as the predicate needs it.
#[derive(Debug, Default, Clone)]
pub struct ModelCatalogue {
    exact: HashMap<String, ModelInfo>,
    /// Wildcard deployments (`openai/*`): their groups apply to names with no exact row (docs/semantics.md §8.3).
    wildcards: Vec<(String, ModelInfo)>,
    group_names: HashSet<String>,
}

impl ModelCatalogue {
    pub fn add(&mut self, model_name: String, info: ModelInfo) {
        self.group_names.extend(info.access_groups.iter().cloned());
        if model_name.contains('*') {
            self.wildcards.push((model_name, info));
        } else {
            self.exact.insert(model_name, info);
        }
    }

    pub fn provider(&self, model: &str) -> Option<&str> {
        self.exact.get(model).and_then(|m| m.provider.as_deref())
    }

    pub fn is_access_group(&self, name: &str) -> bool {
        self.group_names.contains(name)
    }

    /// Access groups that contain `model`: its own row's, else those of every wildcard deployment matching it.
    pub fn groups_of(&self, model: &str) -> Vec<&str> {
        if let Some(info) = self.exact.get(model) {
            return info.access_groups.iter().map(String::as_str).collect();
        }
        self.wildcards
            .iter()
            .filter(|(pattern, _)| glob_match(pattern, model))
            .flat_map(|(_, info)| info.access_groups.iter().map(String::as_str))
            .collect()
    }

    /// Model names (exact rows and wildcard deployments) that belong to an access group.
    pub fn members_of(&self, group: &str) -> Vec<&str> {
        let has = |info: &ModelInfo| info.access_groups.iter().any(|g| g == group);
        let mut names: Vec<&str> = self
            .exact
            .iter()
            .filter(|(_, i)| has(i))
            .map(|(n, _)| n.as_str())
            .collect();
        names.extend(
            self.wildcards
                .iter()
                .filter(|(_, i)| has(i))
                .map(|(n, _)| n.as_str()),
        );
        names.sort_unstable();
        names
    }
}

/// Glob match where only `*` is special (any run of characters, `/` included); the whole name must match.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// True when the list means "every model": empty (or only NULLs), `*` or `all-proxy-models`.
pub fn allows_everything(list: &[String]) -> bool {
    list.is_empty()
        || list
            .iter()
            .any(|e| e == special::STAR || e == special::ALL_PROXY_MODELS)
}

/// The core predicate: may `list` call `model`?
pub fn model_allowed(catalogue: &ModelCatalogue, model: &str, list: &[String]) -> bool {
    matching_entry(catalogue, model, list).is_some()
}

/// What [`model_allowed`] decides, with the entry that allowed the model (`EVERY_MODEL` for an empty list):
/// the predicate itself, so that `rbac.explain` names the entry the decision used.
pub fn matching_entry<'a>(
    catalogue: &ModelCatalogue,
    model: &str,
    list: &'a [String],
) -> Option<&'a str> {
    if list.is_empty() {
        return Some(EVERY_MODEL);
    }
    if let Some(all) = list
        .iter()
        .find(|e| *e == special::STAR || *e == special::ALL_PROXY_MODELS)
    {
        return Some(all);
    }
    let groups = catalogue.groups_of(model);
    list.iter()
        .find(|entry| {
            *entry == model
                || groups.contains(&entry.as_str())
                || (entry.contains('*') && wildcard_allows(catalogue, entry, model))
        })
        .map(String::as_str)
}

/// The "entry" an empty model list allows a model with.
pub const EVERY_MODEL: &str = "(empty list: every model)";

/// A glob allows the name itself or, for a bare name, `<provider>/<name>` (never a guessed provider).
fn wildcard_allows(catalogue: &ModelCatalogue, pattern: &str, model: &str) -> bool {
    if glob_match(pattern, model) {
        return true;
    }
    !model.contains('/')
        && catalogue
            .provider(model)
            .is_some_and(|provider| glob_match(pattern, &format!("{provider}/{model}")))
}

/// Write-time containment: returns the first entry of `child` that `parent` does not cover, or None.
///
/// An empty child list inherits the parent (docs/semantics.md §8.6), as do `all-team-models` and `no-default-models`.
/// An explicit `*`/`all-proxy-models` under a restricted parent is a widening and is reported. Access groups
/// are resolved to their members; a glob is covered by the same glob or by a parent glob whose literal
/// prefix it extends (`openai/gpt-4*` within `openai/*`).
pub fn first_not_within<'a>(
    catalogue: &ModelCatalogue,
    child: &'a [String],
    parent: &[String],
) -> Option<&'a str> {
    if child.is_empty() || allows_everything(parent) {
        return None;
    }
    child
        .iter()
        .map(String::as_str)
        .find(|entry| !entry_within(catalogue, entry, parent))
}

fn entry_within(catalogue: &ModelCatalogue, entry: &str, parent: &[String]) -> bool {
    if entry == special::ALL_TEAM_MODELS || entry == special::NO_DEFAULT_MODELS {
        return true;
    }
    if entry == special::STAR || entry == special::ALL_PROXY_MODELS {
        return false;
    }
    if parent.iter().any(|p| p == entry) {
        return true;
    }
    if catalogue.is_access_group(entry) {
        return catalogue
            .members_of(entry)
            .into_iter()
            .all(|m| entry_within(catalogue, m, parent));
    }
    if entry.contains('*') {
        return parent.iter().any(|p| glob_covers(p, entry));
    }
    model_allowed(catalogue, entry, parent)
}

/// Conservative glob containment: equal globs, or a parent `prefix*` whose prefix the child glob starts with.
fn glob_covers(parent: &str, child: &str) -> bool {
    if parent == child {
        return true;
    }
    match parent.strip_suffix('*') {
        Some(prefix) if !prefix.contains('*') => child.starts_with(prefix),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn catalogue() -> ModelCatalogue {
        let mut c = ModelCatalogue::default();
        c.add(
            "gpt-4o".into(),
            ModelInfo {
                provider: Some("openai".into()),
                access_groups: list(&["beta"]),
            },
        );
        c.add(
            "gpt-4x1-mini".into(),
            ModelInfo {
                provider: Some("acme".into()),
                access_groups: vec![],
            },
        );
        c.add(
            "claude-3".into(),
            ModelInfo {
                provider: Some("anthropic".into()),
                access_groups: list(&["beta"]),
            },
        );
        c.add(
            "openai/*".into(),
            ModelInfo {
                provider: Some("openai".into()),
                access_groups: list(&["public"]),
            },
        );
        c.add(
            "openai/gpt-4o".into(),
            ModelInfo {
                provider: Some("openai".into()),
                access_groups: list(&["private"]),
            },
        );
        c
    }

    #[test]
    fn globs_only_treat_star_as_special() {
        assert!(glob_match("gpt-4.1*", "gpt-4.1-mini"));
        assert!(!glob_match("gpt-4.1*", "gpt-4x1-mini"));
        assert!(glob_match("bedrock/*", "bedrock/anthropic.claude"));
        assert!(!glob_match("bedrock/*", "bedrockz/anthropic.claude"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(glob_match("a*b*c", "a-b-b-c"));
        assert!(!glob_match("a*b*c", "a-c"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn predicate_follows_litellm_with_the_deliberate_fixes() {
        let c = catalogue();
        assert!(model_allowed(&c, "anything", &[]));
        assert!(model_allowed(&c, "anything", &list(&["*"])));
        assert!(model_allowed(
            &c,
            "anything",
            &list(&["all-proxy-models", "x"])
        ));
        assert!(
            model_allowed(&c, "gpt-4o", &list(&["openai/*"])),
            "bare name through its provider"
        );
        assert!(
            !model_allowed(&c, "unknown-bare", &list(&["openai/*"])),
            "no guessed provider"
        );
        assert!(
            !model_allowed(&c, "GPT-4o", &list(&["gpt-4o"])),
            "case sensitive"
        );
        assert!(
            model_allowed(&c, "claude-3", &list(&["beta"])),
            "access group"
        );
        assert!(
            model_allowed(&c, "openai/gpt-4o-mini", &list(&["public"])),
            "wildcard deployment group"
        );
        assert!(
            !model_allowed(&c, "openai/gpt-4o", &list(&["public"])),
            "exact row shadows the wildcard"
        );
        assert!(model_allowed(&c, "openai/gpt-4o", &list(&["private"])));
        assert!(!model_allowed(&c, "gpt-4x1-mini", &list(&["gpt-4.1*"])));
    }

    #[test]
    fn containment_resolves_groups_and_globs() {
        let c = catalogue();
        assert_eq!(first_not_within(&c, &[], &list(&["gpt-4o"])), None);
        assert_eq!(first_not_within(&c, &list(&["gpt-4o"]), &[]), None);
        assert_eq!(
            first_not_within(&c, &list(&["gpt-4o", "claude-3"]), &list(&["gpt-4o"])),
            Some("claude-3")
        );
        assert_eq!(
            first_not_within(&c, &list(&["beta"]), &list(&["gpt-4o", "claude-3"])),
            None
        );
        assert_eq!(
            first_not_within(&c, &list(&["beta"]), &list(&["gpt-4o"])),
            Some("beta")
        );
        assert_eq!(
            first_not_within(&c, &list(&["openai/gpt-4*"]), &list(&["openai/*"])),
            None
        );
        assert_eq!(
            first_not_within(&c, &list(&["openai/*"]), &list(&["openai/gpt-4*"])),
            Some("openai/*")
        );
        assert_eq!(
            first_not_within(&c, &list(&["*"]), &list(&["gpt-4o"])),
            Some("*")
        );
        assert_eq!(
            first_not_within(&c, &list(&["all-team-models"]), &list(&["gpt-4o"])),
            None
        );
    }
}
