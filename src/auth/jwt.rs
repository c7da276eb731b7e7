//! JWT / OIDC verification (placeholder until the full module lands).
use std::collections::HashMap;
use std::rc::Rc;

pub struct Issuer {
    pub issuer: String,
    pub audiences: Vec<String>,
    pub leeway_seconds: i64,
    pub user_id_claim: Option<String>,
    pub user_email_claim: Option<String>,
    pub team_id_claim: Option<String>,
    pub team_ids_claim: Option<String>,
    pub org_id_claim: Option<String>,
    pub end_user_id_claim: Option<String>,
    pub roles_claim: Option<String>,
    pub scope_claim: Option<String>,
    pub admin_scope: Option<String>,
    pub enforce_rbac: bool,
    pub admin_allowed_routes: Vec<String>,
    pub role_mappings: Vec<(String, String)>,
}
impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Issuer({})", self.issuer)
    }
}
impl Issuer {
    pub fn from_row(row: &serde_json::Value) -> Result<Issuer, String> {
        let issuer = row.get("issuer").and_then(|v| v.as_str()).ok_or("no issuer")?.to_string();
        Ok(Issuer {
            issuer,
            audiences: vec![],
            leeway_seconds: 0,
            user_id_claim: None,
            user_email_claim: None,
            team_id_claim: None,
            team_ids_claim: None,
            org_id_claim: None,
            end_user_id_claim: None,
            roles_claim: None,
            scope_claim: None,
            admin_scope: None,
            enforce_rbac: false,
            admin_allowed_routes: vec![],
            role_mappings: vec![],
        })
    }
}
pub enum JwtError {
    Malformed(String),
    UntrustedIssuer,
    BadSignature(String),
    AudienceMismatch,
    Expired,
    NotYetValid,
}
impl JwtError {
    pub fn reason_code(&self) -> &'static str {
        match self {
            JwtError::Malformed(_) | JwtError::BadSignature(_) => "invalid_token",
            JwtError::UntrustedIssuer => "untrusted_issuer",
            JwtError::AudienceMismatch => "audience_mismatch",
            JwtError::Expired => "token_expired",
            JwtError::NotYetValid => "token_not_yet_valid",
        }
    }
}
pub struct JwtPrincipal {
    pub issuer: String,
    pub subject: Option<String>,
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    pub team_id: Option<String>,
    pub team_ids: Vec<String>,
    pub organization_id: Option<String>,
    pub end_user_id: Option<String>,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
    pub admin_scope: bool,
    pub mapped_role: Option<String>,
    pub enforce_rbac: bool,
    pub admin_allowed_routes: Vec<String>,
    pub expires_at: i64,
    pub not_before: Option<i64>,
}
pub fn verify(_token: &str, _issuers: &HashMap<String, Rc<Issuer>>, _now: i64) -> Result<Rc<JwtPrincipal>, JwtError> {
    Err(JwtError::Malformed("not implemented".into()))
}
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty())
}
pub fn forget_verified_tokens() {}
