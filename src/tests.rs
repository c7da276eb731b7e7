//! In-database tests (`cargo pgrx test`): each gate's edge cases.
use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn check(token: &str, route: &str, model: Option<&str>) -> (bool, String) {
        let model_sql = model.map(|m| format!("'{m}'")).unwrap_or_else(|| "NULL".into());
        let row = Spi::get_two::<bool, String>(&format!(
            "SELECT allowed, reason FROM rbac.rbac_check('{token}', '{route}', {model_sql})"
        ))
        .expect("rbac_check runs");
        (row.0.unwrap(), row.1.unwrap())
    }

    #[pg_test]
    fn litellm_hash_is_compatible() {
        Spi::run("INSERT INTO rbac.keys(key_hash) VALUES (rbac.hash_key('sk-1234'))").unwrap();
        assert_eq!(check("sk-1234", "/chat/completions", Some("gpt-4o")), (true, "ok".into()));
        assert_eq!(check("sk-12345", "/chat/completions", Some("gpt-4o")), (false, "invalid_token".into()));
    }
}
