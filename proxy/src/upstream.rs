//! Where a model's requests go, from its rbac.models row — and the rule that keeps the database from choosing
//! which of the proxy host's secrets is sent: `api_key_env` must name a variable with the configured prefix.

use crate::db::ModelRow;

#[derive(Debug, Clone)]
pub struct Upstream {
    /// Full URL of the provider endpoint (api_base + the route's path).
    pub url: String,
    /// The model name sent to the provider (upstream_model, else the requested name).
    pub model: String,
    /// The provider key (value of the environment variable named by api_key_env), if any.
    pub key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UpstreamPolicy {
    pub key_env_prefix: String,
    pub allowed_api_base: Vec<String>,
}

/// Why a model cannot be forwarded (answered 503 `upstream_not_configured` after the caller was authorized).
#[derive(Debug)]
pub struct ConfigError(pub String);

impl UpstreamPolicy {
    /// `suffix` is the route's path after the version prefix: `/chat/completions`, `/messages`, ...
    pub fn resolve(
        &self,
        m: &ModelRow,
        requested: &str,
        suffix: &str,
    ) -> Result<Upstream, ConfigError> {
        let base = m
            .api_base
            .as_deref()
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| {
                ConfigError(format!(
                    "model '{}' has no api_base in rbac.models",
                    m.model_name
                ))
            })?;
        let lower = base.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(ConfigError(format!(
                "api_base of model '{}' is not an http(s) URL",
                m.model_name
            )));
        }
        if !self.allowed_api_base.is_empty()
            && !self.allowed_api_base.iter().any(|p| is_under(base, p))
        {
            return Err(ConfigError(format!(
                "api_base of model '{}' is not under any --allowed-api-base prefix of this proxy",
                m.model_name
            )));
        }
        let key = match m
            .api_key_env
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(name) => {
                if self.key_env_prefix.is_empty()
                    || !name.starts_with(&self.key_env_prefix)
                    || name.len() == self.key_env_prefix.len()
                {
                    return Err(ConfigError(format!(
                        "api_key_env of model '{}' names a variable outside this proxy's provider key prefix '{}'",
                        m.model_name, self.key_env_prefix
                    )));
                }
                match std::env::var(name) {
                    Ok(v) if !v.is_empty() => Some(v),
                    _ => {
                        return Err(ConfigError(format!(
                            "the provider key variable {name} of model '{}' is not set on the proxy host",
                            m.model_name
                        )))
                    }
                }
            }
        };
        let model = match m.upstream_model.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(u) => u.to_string(),
            None => requested.to_string(),
        };
        Ok(Upstream {
            url: format!("{}{}", base.trim_end_matches('/'), suffix),
            model,
            key,
        })
    }
}

/// True when URL `base` lies under URL `prefix`: the same scheme, host and port, and a path equal to the
/// prefix's or below it at a `/` boundary. A plain string prefix would let `https://api.openai.com.evil.test/`
/// pass for `https://api.openai.com`, and a provider key travel there.
fn is_under(base: &str, prefix: &str) -> bool {
    let (Ok(base), Ok(prefix)) = (reqwest::Url::parse(base), reqwest::Url::parse(prefix)) else {
        return false;
    };
    let same_origin = base.scheme() == prefix.scheme()
        && base.host_str().map(str::to_ascii_lowercase)
            == prefix.host_str().map(str::to_ascii_lowercase)
        && base.port_or_known_default() == prefix.port_or_known_default()
        && base.username().is_empty()
        && base.password().is_none();
    let root = prefix.path().trim_end_matches('/');
    let path = base.path();
    same_origin && (root.is_empty() || path == root || path.starts_with(&format!("{root}/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(env: Option<&str>) -> ModelRow {
        ModelRow {
            model_name: "m".into(),
            api_base: Some("http://127.0.0.1:9/v1/".into()),
            upstream_model: None,
            api_key_env: env.map(str::to_string),
            input_cost: None,
            output_cost: None,
        }
    }

    #[test]
    fn key_env_prefix_rule() {
        let p = UpstreamPolicy {
            key_env_prefix: "PG_RBAC_PROVIDER_KEY_".into(),
            allowed_api_base: vec![],
        };
        std::env::set_var("PG_RBAC_PROVIDER_KEY_TEST_UPSTREAM", "secret");
        let u = p
            .resolve(
                &row(Some("PG_RBAC_PROVIDER_KEY_TEST_UPSTREAM")),
                "m",
                "/chat/completions",
            )
            .unwrap();
        assert_eq!(u.url, "http://127.0.0.1:9/v1/chat/completions");
        assert_eq!(u.key.as_deref(), Some("secret"));
        assert!(p.resolve(&row(Some("DATABASE_URL")), "m", "/x").is_err());
        assert!(p
            .resolve(&row(Some("PG_RBAC_PROVIDER_KEY_")), "m", "/x")
            .is_err());
        assert!(p
            .resolve(&row(Some("PG_RBAC_PROVIDER_KEY_UNSET_XYZ")), "m", "/x")
            .is_err());
        assert!(p.resolve(&row(None), "m", "/x").unwrap().key.is_none());
        let strict = UpstreamPolicy {
            allowed_api_base: vec!["https://api.openai.com/".into()],
            ..p
        };
        assert!(strict.resolve(&row(None), "m", "/x").is_err());
    }

    #[test]
    fn allowed_api_base_compares_origins_not_strings() {
        assert!(is_under(
            "https://api.openai.com/v1",
            "https://api.openai.com"
        ));
        assert!(is_under(
            "https://API.openai.com:443/v1/",
            "https://api.openai.com/"
        ));
        assert!(is_under(
            "https://gw.example/openai/v1",
            "https://gw.example/openai"
        ));
        assert!(!is_under(
            "https://api.openai.com.evil.test/v1",
            "https://api.openai.com"
        ));
        assert!(!is_under(
            "https://api.openai.com:8443/v1",
            "https://api.openai.com"
        ));
        assert!(!is_under(
            "http://api.openai.com/v1",
            "https://api.openai.com"
        ));
        assert!(!is_under(
            "https://gw.example/openai-evil/v1",
            "https://gw.example/openai"
        ));
        assert!(!is_under("not a url", "https://api.openai.com"));
    }
}
