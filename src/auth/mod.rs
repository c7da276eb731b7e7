//! Token → principal: virtual keys (`keys`) and JWTs (`jwt`).
pub mod jwt;
pub mod jwt_principal;
pub mod jwt_sql;
pub mod keys;

/// The kind of credential a bearer token is (LiteLLM `user_api_key_auth`, docs/semantics.md §5.1).
#[derive(Debug, PartialEq, Eq)]
pub enum TokenKind<'a> {
    /// No token at all (NULL, empty or only a `Bearer ` prefix).
    Missing,
    /// A virtual key: `sk-…`.
    VirtualKey(&'a str),
    /// A compact JWS: three base64url parts.
    Jwt(&'a str),
    /// Anything else.
    Unrecognised,
}

/// Classifies a bearer token, tolerating surrounding whitespace and a `Bearer ` prefix as proxies forward it.
pub fn classify(token: Option<&str>) -> TokenKind<'_> {
    let Some(raw) = token else {
        return TokenKind::Missing;
    };
    let mut token = raw.trim();
    if token.len() >= 6 && token.is_char_boundary(6) && token[..6].eq_ignore_ascii_case("bearer") {
        let rest = &token[6..];
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            token = rest.trim_start();
        }
    }
    if token.is_empty() {
        TokenKind::Missing
    } else if token.starts_with("sk-") {
        TokenKind::VirtualKey(token)
    } else if jwt::looks_like_jwt(token) {
        TokenKind::Jwt(token)
    } else {
        TokenKind::Unrecognised
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(None), TokenKind::Missing);
        assert_eq!(classify(Some("  ")), TokenKind::Missing);
        assert_eq!(classify(Some("Bearer ")), TokenKind::Missing);
        assert_eq!(
            classify(Some("Bearer sk-1234")),
            TokenKind::VirtualKey("sk-1234")
        );
        assert_eq!(classify(Some("a.b.c")), TokenKind::Jwt("a.b.c"));
        assert_eq!(classify(Some("a.b")), TokenKind::Unrecognised);
        assert_eq!(classify(Some("not-a-key")), TokenKind::Unrecognised);
    }
}
