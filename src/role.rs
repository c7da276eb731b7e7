//! Proxy-wide roles (docs/semantics.md §3.1). Pure: no SQL.
//!
//! The SQL domain `rbac.user_role` (`sql/001_schema.sql`) holds the same names in the same order; a test checks it.

/// A principal's proxy-wide role. The declaration order is the privilege order, most privileged first
/// (docs/semantics.md §11.5 ranks role mappings by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    ProxyAdmin,
    ProxyAdminViewer,
    OrgAdmin,
    InternalUser,
    InternalUserViewer,
    Team,
    Customer,
}

impl Role {
    /// Every role, most privileged first.
    pub const BY_PRIVILEGE: [Role; 7] = [
        Role::ProxyAdmin,
        Role::ProxyAdminViewer,
        Role::OrgAdmin,
        Role::InternalUser,
        Role::InternalUserViewer,
        Role::Team,
        Role::Customer,
    ];

    /// The role's name, as stored in `rbac.user_role` columns and reported in `rbac.decision.role`.
    pub const fn name(self) -> &'static str {
        match self {
            Role::ProxyAdmin => "proxy_admin",
            Role::ProxyAdminViewer => "proxy_admin_viewer",
            Role::OrgAdmin => "org_admin",
            Role::InternalUser => "internal_user",
            Role::InternalUserViewer => "internal_user_viewer",
            Role::Team => "team",
            Role::Customer => "customer",
        }
    }

    /// The role of that name; None for any other text.
    pub fn parse(name: &str) -> Option<Role> {
        Role::BY_PRIVILEGE.into_iter().find(|r| r.name() == name)
    }

    /// 0 for the most privileged role, increasing.
    /// This role, or `ceiling` when this one is more privileged (a cap on what a source may grant).
    #[must_use]
    pub const fn at_most(self, ceiling: Role) -> Role {
        if self.privilege_rank() < ceiling.privilege_rank() {
            ceiling
        } else {
            self
        }
    }

    pub const fn privilege_rank(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_privilege_order() {
        for (rank, role) in Role::BY_PRIVILEGE.into_iter().enumerate() {
            assert_eq!(role.privilege_rank(), rank);
            assert_eq!(Role::parse(role.name()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("Proxy_Admin"), None);
    }

    /// `rbac.user_role` allows exactly these roles, listed in privilege order.
    #[test]
    fn sql_domain_matches() {
        let schema = include_str!("../sql/001_schema.sql");
        let start = schema
            .find("CREATE DOMAIN rbac.user_role")
            .expect("the domain is defined");
        let definition = &schema[start..start + schema[start..].find(';').expect("it ends")];
        let check = &definition[definition.find("VALUE IN").expect("a value list")..];
        let names: Vec<&str> = check.split('\'').skip(1).step_by(2).collect();
        let expected: Vec<&str> = Role::BY_PRIVILEGE.iter().map(|r| r.name()).collect();
        assert_eq!(names, expected);
    }
}
