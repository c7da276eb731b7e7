//! Virtual keys: LiteLLM-compatible hashing (docs/semantics.md §2.3) and generation.
use base64::Engine;
use pgrx::prelude::*;
use sha2::{Digest, Sha256};

/// `lower hex sha256(utf8(plaintext))`, the only form in which a key is stored (`sk-1234` →
/// `88dc28d0…6b4b`, as LiteLLM's `hash_token`).
pub fn hash_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// A key argument of a management function: plaintext `sk-…` is hashed, anything else is taken as a hash
/// (LiteLLM `hash_token_if_needed`).
pub fn key_hash_of(key: &str) -> String {
    if key.starts_with("sk-") {
        hash_key(key)
    } else {
        key.to_ascii_lowercase()
    }
}

/// A new plaintext key: `sk-` + url-safe base64 of 24 random bytes (32 characters; LiteLLM uses 16 bytes).
pub fn generate_plaintext() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| {
        crate::spi_util::raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("no randomness available: {e}"),
        )
    });
    format!(
        "sk-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// LiteLLM's display name of a key: `sk-...` and its last four characters.
pub fn display_name(plaintext: &str) -> String {
    let tail: String = plaintext
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("sk-...{tail}")
}

/// Hashes a virtual key as pg_rbac stores it: lower-case hex SHA-256 of the UTF-8 plaintext (64 characters).
/// LiteLLM-compatible (`rbac.hash_key('sk-1234')` = `88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b`).
/// Returns NULL for NULL.
#[pg_extern(immutable, strict, parallel_safe, name = "hash_key")]
pub fn hash_key_sql(plaintext: &str) -> String {
    hash_key(plaintext)
}

/// A new random virtual key (`sk-` + 32 url-safe characters from 24 bytes of OS randomness). Management
/// functions hash it for storage and return the plaintext exactly once.
#[pg_extern(volatile, name = "generate_key_plaintext")]
pub fn generate_key_plaintext_sql() -> String {
    generate_plaintext()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litellm_compatible_hash() {
        assert_eq!(
            hash_key("sk-1234"),
            "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
        );
        assert_eq!(key_hash_of("sk-1234"), hash_key("sk-1234"));
        assert_eq!(key_hash_of("ABCDEF"), "abcdef");
        assert_eq!(display_name("sk-abcdefgh"), "sk-...efgh");
    }
}
