//! Route patterns and the route gate (docs/semantics.md §7).
//!
//! Pattern syntax: an exact path; `{param}` matches one path segment; `{param:path}` matches one or more
//! characters including `/`; a trailing `*` is a prefix match. In route *lists* (a key's `allowed_routes`,
//! `role_permissions.routes`, an issuer's `admin_allowed_routes`) an entry may also name a route group, and a
//! plain path also allows its sub-paths (`/x` allows `/x/y`, never `/xy`), as LiteLLM's key `allowed_routes`.
use std::collections::{HashMap, HashSet};

use crate::role::Role;

/// One piece of a parsed `{param}` pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Literal(String),
    /// `{param}`: one or more characters other than `/`.
    Segment,
    /// `{param:path}`: one or more characters, `/` included.
    Path,
}

/// A compiled route pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    Exact(String),
    Prefix(String),
    Template(Vec<Token>),
}

impl Pattern {
    /// Parses one pattern of the documented syntax.
    pub fn parse(pattern: &str) -> Pattern {
        if let Some(prefix) = pattern.strip_suffix('*') {
            return Pattern::Prefix(prefix.to_string());
        }
        if !pattern.contains('{') {
            return Pattern::Exact(pattern.to_string());
        }
        let mut tokens = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                break;
            };
            if open > 0 {
                tokens.push(Token::Literal(rest[..open].to_string()));
            }
            let inner = &rest[open + 1..close];
            tokens.push(if inner.ends_with(":path") {
                Token::Path
            } else {
                Token::Segment
            });
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            tokens.push(Token::Literal(rest.to_string()));
        }
        Pattern::Template(tokens)
    }

    /// True when `route` matches this pattern as a whole.
    pub fn matches(&self, route: &str) -> bool {
        match self {
            Pattern::Exact(p) => p == route,
            Pattern::Prefix(p) => route.starts_with(p.as_str()),
            Pattern::Template(tokens) => match_tokens(tokens, route),
        }
    }
}

/// Backtracking match of template tokens against the whole route (patterns are short: a handful of tokens).
fn match_tokens(tokens: &[Token], route: &str) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return route.is_empty();
    };
    match first {
        Token::Literal(lit) => route
            .strip_prefix(lit.as_str())
            .is_some_and(|r| match_tokens(rest, r)),
        Token::Segment | Token::Path => {
            let limit = if *first == Token::Segment {
                route.find('/').unwrap_or(route.len())
            } else {
                route.len()
            };
            (1..=limit)
                .filter(|&n| route.is_char_boundary(n))
                .any(|n| match_tokens(rest, &route[n..]))
        }
    }
}

/// A route group: exact paths in a set, the other patterns in a list.
#[derive(Debug, Default, Clone)]
pub struct RouteGroup {
    exact: HashSet<String>,
    patterns: Vec<Pattern>,
}

impl RouteGroup {
    pub fn add(&mut self, pattern: &str) {
        match Pattern::parse(pattern) {
            Pattern::Exact(p) => {
                self.exact.insert(p);
            }
            other => self.patterns.push(other),
        }
    }

    pub fn matches(&self, route: &str) -> bool {
        self.exact.contains(route) || self.patterns.iter().any(|p| p.matches(route))
    }
}

/// All route groups of `rbac.route_groups`, by name.
#[derive(Debug, Default, Clone)]
pub struct RouteGroups {
    groups: HashMap<String, RouteGroup>,
}

/// Group names the gate relies on (seeded from LiteLLM's lists, `sql/003_route_groups.sql`).
pub mod group {
    pub const LLM_API: &str = "llm_api_routes";
    pub const INFO: &str = "info_routes";
    pub const MASTER_KEY_ONLY: &str = "master_key_only_routes";
    pub const GLOBAL_SPEND: &str = "global_spend_tracking_routes";
    pub const SPEND: &str = "spend_tracking_routes";
    pub const ADMIN_VIEWER: &str = "admin_viewer_routes";
    pub const INTERNAL_USER: &str = "internal_user_routes";
    pub const INTERNAL_USER_VIEW_ONLY: &str = "internal_user_view_only_routes";
    pub const ORG_ADMIN_ALLOWED: &str = "org_admin_allowed_routes";
    pub const SELF_MANAGED: &str = "self_managed_routes";
    pub const BUDGET_EXEMPT: &str = "budget_exempt_routes";
    pub const BUDGET_CHECKED: &str = "budget_checked_routes";
}

impl RouteGroups {
    pub fn add(&mut self, group: &str, pattern: &str) {
        self.groups
            .entry(group.to_string())
            .or_default()
            .add(pattern);
    }

    /// True when `route` is in the named group (an unknown group contains nothing).
    pub fn in_group(&self, group: &str, route: &str) -> bool {
        self.groups.get(group).is_some_and(|g| g.matches(route))
    }

    /// True when any entry of a route list allows `route`: a group name, an exact path or one of its
    /// sub-paths, a trailing-`*` prefix, or a `{param}` template.
    pub fn list_allows(&self, entries: &[String], route: &str) -> bool {
        entries.iter().any(|entry| {
            if let Some(g) = self.groups.get(entry.as_str()) {
                return g.matches(route);
            }
            match Pattern::parse(entry) {
                Pattern::Exact(p) => {
                    route == p
                        || (route.len() > p.len()
                            && route.starts_with(&p)
                            && route.as_bytes()[p.len()] == b'/')
                }
                other => other.matches(route),
            }
        })
    }

    /// LiteLLM `is_llm_api_route`: inference routes, open to every authenticated role.
    pub fn is_llm_route(&self, route: &str) -> bool {
        self.in_group(group::LLM_API, route)
    }

    /// Budgets gate LLM routes except model discovery, plus the health routes that call models (docs/semantics.md §9.2).
    pub fn is_budget_checked(&self, route: &str) -> bool {
        (self.is_llm_route(route) && !self.in_group(group::BUDGET_EXEMPT, route))
            || self.in_group(group::BUDGET_CHECKED, route)
    }
}

/// What the route gate needs to know about the caller.
#[derive(Debug, Default, Clone)]
pub struct RouteSubject<'a> {
    /// The principal's proxy-wide role (`rbac.users.user_role`, or the role derived from a JWT); None when a
    /// key has no user row (LiteLLM runs the gate with role NULL then).
    pub role: Option<Role>,
    /// Admin of at least one organization (`organization_members.user_role = 'org_admin'`).
    pub is_org_admin: bool,
    /// The virtual key's `allowed_routes` (empty = no restriction).
    pub key_allowed_routes: &'a [String],
    /// The virtual key's `permissions.get_spend_routes`.
    pub key_may_read_global_spend: bool,
    /// Extra route lists that must each also allow the route (JWT `role_permissions` and admin routes).
    pub required_lists: Vec<&'a [String]>,
}

/// The route gate: true when the subject may call `route` (docs/semantics.md §7.3, §7.4).
pub fn route_allowed(groups: &RouteGroups, subject: &RouteSubject<'_>, route: &str) -> bool {
    route_verdict(groups, subject, route).is_ok()
}

/// The route gate with the rule that decided: `Ok(rule that allowed)` or `Err(rule that refused)`; static
/// texts, so the hot path allocates nothing (`rbac.explain` shows them).
pub fn route_verdict(
    groups: &RouteGroups,
    subject: &RouteSubject<'_>,
    route: &str,
) -> Result<&'static str, &'static str> {
    // A key's allowed_routes restrict every role, proxy admins included (docs/semantics.md §7.3).
    if !subject.key_allowed_routes.is_empty()
        && !groups.list_allows(subject.key_allowed_routes, route)
    {
        return Err("the virtual key's allowed_routes do not list it");
    }
    if subject
        .required_lists
        .iter()
        .any(|list| !list.is_empty() && !groups.list_allows(list, route))
    {
        return Err("a required route list does not list it (JWT role_permissions.routes, the issuer's \
             admin_allowed_routes, or llm_api_routes only for a key in its regeneration grace period)");
    }
    // Master-key-only routes: pg_rbac has no master key, so no token may call them (docs/semantics.md §7.4).
    if groups.in_group(group::MASTER_KEY_ONLY, route) {
        return Err("master_key_only_routes: no token may call it");
    }
    if subject.role == Some(Role::ProxyAdmin) {
        return Ok("role proxy_admin may call every route");
    }
    // Only proxy admins create organizations, whatever else a role may do (docs/semantics.md §7.4).
    if route == "/organization/new" {
        return Err("only proxy admins create organizations");
    }
    role_grants_route(groups, subject, route).ok_or("no rule of the principal's role lists it")
}

/// LiteLLM `non_proxy_admin_allowed_routes_check`, without the HTTP-method and body parts that a
/// route-only check cannot see (management functions enforce those). The rule that allows, if any.
fn role_grants_route(
    groups: &RouteGroups,
    subject: &RouteSubject<'_>,
    route: &str,
) -> Option<&'static str> {
    if groups.is_llm_route(route) {
        return Some("llm_api_routes: open to every authenticated role");
    }
    if groups.in_group(group::INFO, route) {
        return Some("info_routes: open to every authenticated role");
    }
    if subject.key_may_read_global_spend && groups.in_group(group::GLOBAL_SPEND, route) {
        return Some("global_spend_tracking_routes, with the key's permissions.get_spend_routes");
    }
    let in_group = |g: &'static str| groups.in_group(g, route).then_some(g);
    let by_role = match subject.role {
        // read-only administration: viewer routes, spend reads and info (docs/semantics.md §7.4); never writes
        Some(Role::ProxyAdminViewer) => in_group(group::ADMIN_VIEWER)
            .or_else(|| in_group(group::GLOBAL_SPEND))
            .or_else(|| in_group(group::SPEND)),
        Some(Role::InternalUser) => in_group(group::INTERNAL_USER),
        Some(Role::InternalUserViewer) => in_group(group::INTERNAL_USER_VIEW_ONLY),
        Some(Role::OrgAdmin) => in_group(group::ORG_ADMIN_ALLOWED),
        // proxy admins passed above; team and customer roles, and no role, get no role routes
        Some(Role::ProxyAdmin | Role::Team | Role::Customer) | None => None,
    };
    if let Some(g) = by_role {
        return Some(match g {
            group::ADMIN_VIEWER => "the role's route group admin_viewer_routes",
            group::GLOBAL_SPEND => "the role's route group global_spend_tracking_routes",
            group::SPEND => "the role's route group spend_tracking_routes",
            group::INTERNAL_USER => "the role's route group internal_user_routes",
            group::INTERNAL_USER_VIEW_ONLY => {
                "the role's route group internal_user_view_only_routes"
            }
            _ => "the role's route group org_admin_allowed_routes",
        });
    }
    if subject.is_org_admin && groups.in_group(group::ORG_ADMIN_ALLOWED, route) {
        return Some("org_admin_allowed_routes: the user administers an organization");
    }
    if subject.role != Some(Role::ProxyAdminViewer) && groups.in_group(group::SELF_MANAGED, route) {
        return Some("self_managed_routes");
    }
    if route.starts_with("/v1/mcp/") || route.starts_with("/mcp-rest/") {
        return Some("MCP routes (/v1/mcp/, /mcp-rest/)");
    }
    (!subject.key_allowed_routes.is_empty()
        && groups.list_allows(subject.key_allowed_routes, route))
    .then_some("the virtual key's allowed_routes list it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segments_and_paths() {
        let p = Pattern::parse("/threads/{thread_id}");
        assert!(p.matches("/threads/abc"));
        assert!(!p.matches("/threads/abc/x"));
        assert!(!p.matches("/threads/"));
        let g = Pattern::parse("/v1beta/models/{model_name:path}:generateContent");
        assert!(g.matches("/v1beta/models/gemini-2.0-flash:generateContent"));
        assert!(g.matches("/v1beta/models/a/b:generateContent"));
        assert!(!g.matches("/v1beta/models/gemini:countTokens"));
        assert!(Pattern::parse("/bedrock/*").matches("/bedrock/x/y"));
        assert!(!Pattern::parse("/bedrock/*").matches("/bedrockz"));
    }

    #[test]
    fn list_entries_are_path_prefixes_not_string_prefixes() {
        let groups = RouteGroups::default();
        let list = vec!["/custom".to_string()];
        assert!(groups.list_allows(&list, "/custom"));
        assert!(groups.list_allows(&list, "/custom/v1/run"));
        assert!(!groups.list_allows(&list, "/customx"));
        assert!(!groups.list_allows(&[], "/custom"));
    }
}
