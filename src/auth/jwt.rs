//! JWT / OIDC bearer-token verification for `rbac.rbac_check` (docs/semantics.md §4, §11.2, §11.5, §11.6; docs/semantics.md §11).
//!
//! Pure Rust: this module does not touch PostgreSQL, so it compiles and tests without pgrx. The caller loads
//! `rbac.jwt_issuers` (one `to_jsonb(row)` per issuer), builds [`Issuer`]s once per catalogue epoch with
//! [`Issuer::from_row`] / [`issuers_from_rows`], and calls [`verify`] per request.
//!
//! Differences from LiteLLM (`JWTHandler.auth_jwt`), all deliberate:
//! * no network: keys come only from the JWKS stored in the issuer row (LiteLLM fetches `jwks_url`/discovery);
//! * only listed issuers are trusted (LiteLLM falls back to a global key set for unknown issuers);
//! * the audience is always verified (docs/semantics.md §11.2), leeway is the issuer's `leeway_seconds` (LiteLLM: 0);
//! * HS256/384/512 are accepted for `oct` keys (LiteLLM accepts no HS*), ES512 is not (jsonwebtoken lacks P-521).
//!
//! All signature work is done by `jsonwebtoken` (aws-lc backend, `aws_lc_rs`: 3-4x faster RSA and ECDSA than
//! its pure-Rust backend, docs/benchmarks.md); this module only selects keys and checks
//! claims. Every function here is total: no input makes it panic.
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::{Rc, Weak};
use std::str::FromStr;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::decision::Reason;
use crate::role::Role;

/// LiteLLM's default `admin_allowed_routes` (docs/semantics.md §11.7), used when the row's column is NULL.
pub const DEFAULT_ADMIN_ALLOWED_ROUTES: [&str; 4] = [
    "management_routes",
    "spend_tracking_routes",
    "global_spend_tracking_routes",
    "info_routes",
];

/// Claim read for scopes when the issuer's `scope_claim` is NULL (OAuth 2.0 `scope`, RFC 8693 §4.2).
pub const DEFAULT_SCOPE_CLAIM: &str = "scope";

/// Longest token accepted, in bytes. Longer ones are `Malformed` before any decoding (bounds the work per call).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// Most verified tokens kept per backend by the verification cache by default (see [`verify`]); the setting
/// `rbac.jwt_cache_size` changes it per session (0 disables the cache).
pub const VERIFIED_CACHE_CAPACITY: usize = 4096;

static CACHE_CAPACITY: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(VERIFIED_CACHE_CAPACITY);

/// Sets the verification cache bound (entries); 0 turns caching off. Shrinking takes effect on the next store.
pub fn set_cache_capacity(entries: usize) {
    CACHE_CAPACITY.store(entries, std::sync::atomic::Ordering::Relaxed);
}

fn cache_capacity() -> usize {
    CACHE_CAPACITY.load(std::sync::atomic::Ordering::Relaxed)
}

/// Tokens longer than this (bytes) are verified every time and never cached, which bounds the cache's memory.
const MAX_CACHED_TOKEN_BYTES: usize = 16 * 1024;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used").
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (bounds verification cost; aws-lc verifies up to 8192 bits as well).
const MAX_RSA_BITS: usize = 8192;

/// Base64url as RFC 7515 §2 requires for JWS parts: URL-safe alphabet, no padding, canonical trailing bits.
const TOKEN_B64: GeneralPurpose = URL_SAFE_NO_PAD;
/// Base64url for JWK members (RFC 7517/7518); tolerant of `=` padding, which some key servers emit.
const JWK_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

// ------------------------------------------------------------------------------------------------------------
// Issuers and keys
// ------------------------------------------------------------------------------------------------------------

/// One verification key of an issuer's JWKS, parsed once.
struct VerificationKey {
    /// The JWK `kid` (RFC 7517 §4.5), if any.
    kid: Option<String>,
    /// The algorithms this key may verify: the JWK's `alg` alone when present, else its kty/crv family.
    algorithms: Vec<Algorithm>,
    /// The JWK `kty` (and curve), for explanations: `RSA`, `EC P-256`, `OKP Ed25519`, `oct`.
    kind: &'static str,
    key: DecodingKey,
}

/// A trusted issuer: one row of `rbac.jwt_issuers`, with its JWKS parsed into decoding keys once.
///
/// Built by [`Issuer::from_row`]; immutable afterwards. The caller keeps issuers in an
/// `HashMap<String, Rc<Issuer>>` keyed by [`Issuer::issuer`] and replaces the whole map (new `Rc`s) when the
/// table changes, which also invalidates every cached verification made with the old keys (see [`verify`]).
pub struct Issuer {
    /// The exact `iss` value tokens must carry (RFC 7519 §4.1.1; compared byte for byte, no normalisation).
    pub issuer: String,
    /// Accepted `aud` values (RFC 7519 §4.1.3). A token is accepted when its `aud` (string or list) shares at
    /// least one value with this list; an empty list accepts nothing (docs/semantics.md §11.2: audience always verified).
    pub audiences: Vec<String>,
    /// Clock-skew allowance in seconds applied to `exp` and `nbf` (RFC 7519 §4.1.4-5). Never negative.
    pub leeway_seconds: i64,
    /// Dot path ([`claim_at`]) of the user id claim. NULL: the user email is used as user id (LiteLLM
    /// `get_user_id` falls back to the email when `user_id_jwt_field` is unset).
    pub user_id_claim: Option<String>,
    /// Dot path of the user email claim (LiteLLM `user_email_jwt_field`).
    pub user_email_claim: Option<String>,
    /// Dot path of the team id claim; a list yields its first element (LiteLLM `team_id_jwt_field`).
    pub team_id_claim: Option<String>,
    /// Dot path of the team id list claim; a single string is a one-element list (LiteLLM `team_ids_jwt_field`).
    pub team_ids_claim: Option<String>,
    /// Dot path of the organization id claim (LiteLLM `org_id_jwt_field`).
    pub org_id_claim: Option<String>,
    /// Dot path of the end-user (customer) id claim (LiteLLM `end_user_id_jwt_field`).
    pub end_user_id_claim: Option<String>,
    /// Dot paths of the roles claims, each a list or a single string (LiteLLM `roles_jwt_field`): the row's
    /// `roles_claim` split at unescaped commas, so realm and client roles can be read together
    /// (`realm_access.roles, resource_access.gateway.roles`; `\,` is a comma inside a path). Roles are united.
    pub roles_claims: Vec<String>,
    /// Dot path of the scopes claim, a space-separated string or a list; NULL means [`DEFAULT_SCOPE_CLAIM`].
    pub scope_claim: Option<String>,
    /// The scope that makes a token proxy admin, for this issuer only (docs/semantics.md §11.5). NULL: no scope does.
    pub admin_scope: Option<String>,
    /// Whether tokens of this issuer must derive a role (docs/semantics.md §4 `role_not_mapped`; LiteLLM `enforce_rbac`).
    pub enforce_rbac: bool,
    /// Routes or route groups a token with the admin scope may call (LiteLLM `admin_allowed_routes`); NULL in
    /// the row means [`DEFAULT_ADMIN_ALLOWED_ROUTES`].
    pub admin_allowed_routes: Vec<String>,
    /// `(external role, internal_role)` pairs from the row's `role_mappings` (`[{"role": …, "internal_role":
    /// …}]`), in row order. Entries whose `internal_role` is not a [`Role`] are dropped.
    pub role_mappings: Vec<(String, Role)>,
    /// Which of the issuer's signed tokens are access tokens (`accepted_token_types`).
    pub accepted_token_types: TokenTypes,
    /// Tokens must carry at least one scope in `scope_claim` (`require_scope`).
    pub require_scope: bool,
    /// Admission rules on claims (`required_claims`): every dot path must hold one of its allowed JSON values
    /// (for a list claim, one of its elements must).
    pub required_claims: Vec<(String, Vec<Value>)>,
    /// Internal roles admitted (`allowed_roles`, LiteLLM `user_allowed_roles`); `None` admits every role.
    pub allowed_roles: Option<Vec<Role>>,
    /// E-mail domains admitted (`allowed_email_domains`, LiteLLM `user_allowed_email_domain`), lower case;
    /// `None` admits every e-mail (and tokens without one).
    pub allowed_email_domains: Option<Vec<String>>,
    /// For an issuer template (`issuer` holding [`TENANT_PLACEHOLDER`] once): the text before and after it.
    /// Such a row trusts `iss` values that put an allowed tenant in the placeholder's place (Entra ID multi-tenant
    /// applications); it never matches its own literal `issuer`.
    pub tenant_template: Option<(String, String)>,
    /// The tenants an issuer template admits (`allowed_tenants`), lower case; `*` admits every tenant. Unused
    /// for an ordinary row.
    pub allowed_tenants: Vec<String>,
    /// The tenants of a template whose tokens may carry an administrative role (`admin_tenants`, lower case).
    /// In a multi-tenant application every customer tenant's own administrators assign its app roles and set
    /// its users' e-mails, so a token of any other tenant gets no role above `internal_user` from role
    /// mappings, the admin scope or its user row.
    pub admin_tenants: Vec<String>,
    /// `team_prefix`: only team-claim values starting with it name teams, with the prefix removed
    /// (`/acme/` turns Keycloak's full-path group `/acme/finance` into team `finance`).
    pub team_prefix: Option<String>,
    /// `group_mappings`: team-claim value → team id, tried before `team_prefix`.
    pub group_mappings: HashMap<String, String>,
    keys: Vec<VerificationKey>,
}

/// The placeholder of an issuer template (`https://login.microsoftonline.com/{tenantid}/v2.0`).
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The `jwt_issuers.accepted_token_types` of an issuer: which signed tokens count as access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypes {
    /// Access tokens only: an OpenID Connect ID token (it carries a `nonce`) is refused. The default.
    Access,
    /// RFC 9068 JWT access tokens only: the header's `typ` must be `at+jwt` (or `application/at+jwt`).
    AtJwt,
    /// Every token the issuer signed (ID tokens included).
    Any,
}

impl TokenTypes {
    fn parse(value: Option<&str>) -> TokenTypes {
        match value {
            Some("at+jwt") => TokenTypes::AtJwt,
            Some("any") => TokenTypes::Any,
            _ => TokenTypes::Access,
        }
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are deliberately not printed (HMAC secrets).
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// Builds an issuer from `to_jsonb(row)` of `rbac.jwt_issuers` (column names as keys, SQL NULL as JSON
    /// `null` or an absent key).
    ///
    /// `jwks` is an RFC 7517 JWK Set (`{"keys": [...]}`; a bare array of JWKs or a JSON string holding either is
    /// also read). Each JWK is kept only when usable for signature verification:
    /// * `use` absent or `"sig"`, and `key_ops` absent or containing `"verify"` (RFC 7517 §4.2-4.3);
    /// * `kid` absent or a string;
    /// * `kty` `RSA` (`n`, `e`; modulus 2048-8192 bits, RFC 7518 §3.3), `EC` with `crv` `P-256` or `P-384`
    ///   (32- or 48-byte `x`, `y`), `OKP` with `crv` `Ed25519` (32-byte `x`, RFC 8037), or `oct` (`k`);
    /// * `alg`, when present, one of RS256/384/512, PS256/384/512, ES256/384, EdDSA, HS256/384/512 that fits
    ///   the key type; it is then the key's only algorithm. Without `alg` the key allows its family: RSA →
    ///   RS*/PS*, P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA, oct → the HS* whose minimum key size it meets
    ///   (RFC 7518 §3.2: HS256 ≥ 32 bytes, HS384 ≥ 48, HS512 ≥ 64; an `alg` the key is too short for is dropped).
    ///
    /// Unusable keys (unknown kty or curve, bad base64, wrong lengths, encryption keys) are skipped, never fatal.
    /// Other columns: `audiences` text[] (non-strings and empty strings ignored), `leeway_seconds` (clamped to
    /// 0..=2^31-1), the `*_claim` columns and `admin_scope` (empty string = NULL), `enforce_rbac` (NULL = false),
    /// `admin_allowed_routes` (NULL = LiteLLM default), `role_mappings` jsonb, `roles_claim` (comma-separated
    /// paths, [`split_claim_paths`]), `allowed_tenants` (lower-cased), `team_prefix`, `group_mappings` (entries
    /// that are not non-empty strings dropped). An `issuer` holding [`TENANT_PLACEHOLDER`] is a template.
    ///
    /// # Errors
    /// Only when the row itself is unusable: not a JSON object, no non-empty `issuer` string, or an `issuer`
    /// with more than one `{tenantid}`.
    pub fn from_row(row: &Value) -> Result<Issuer, String> {
        let obj = row
            .as_object()
            .ok_or_else(|| "jwt_issuers row is not a JSON object".to_string())?;
        let issuer = match obj.get("issuer") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err("jwt_issuers row has no issuer".to_string()),
        };
        let audiences = match obj.get("audiences") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        };
        let leeway_seconds = match obj.get("leeway_seconds") {
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .unwrap_or(0)
                .clamp(0, i64::from(i32::MAX)),
            _ => 0,
        };
        let text = |name: &str| match obj.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let admin_allowed_routes = match obj.get("admin_allowed_routes") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => DEFAULT_ADMIN_ALLOWED_ROUTES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let role_mappings = parse_role_mappings(obj.get("role_mappings"));
        let keys = parse_jwks(obj.get("jwks"));
        let string_list = |name: &str| -> Option<Vec<String>> {
            obj.get(name).and_then(Value::as_array).map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
        };
        let tenant_template = match issuer.split_once(TENANT_PLACEHOLDER) {
            Some((before, after)) if !after.contains(TENANT_PLACEHOLDER) => {
                Some((before.to_string(), after.to_string()))
            }
            Some(_) => return Err("jwt_issuers row has more than one {tenantid}".to_string()),
            None => None,
        };
        let group_mappings = json_column(obj.get("group_mappings"))
            .and_then(|v| v.as_object().cloned())
            .map(|map| {
                map.into_iter()
                    .filter_map(|(group, team)| match team {
                        Value::String(team) if !group.is_empty() && !team.is_empty() => {
                            Some((group, team))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let required_claims = json_column(obj.get("required_claims"))
            .and_then(|v| v.as_object().cloned())
            .map(|rules| {
                rules
                    .into_iter()
                    .map(|(path, allowed)| (path, allowed.as_array().cloned().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Issuer {
            issuer,
            audiences,
            leeway_seconds,
            user_id_claim: text("user_id_claim"),
            user_email_claim: text("user_email_claim"),
            team_id_claim: text("team_id_claim"),
            team_ids_claim: text("team_ids_claim"),
            org_id_claim: text("org_id_claim"),
            end_user_id_claim: text("end_user_id_claim"),
            roles_claims: text("roles_claim")
                .map(|paths| split_claim_paths(&paths))
                .unwrap_or_default(),
            scope_claim: text("scope_claim"),
            admin_scope: text("admin_scope"),
            enforce_rbac: obj
                .get("enforce_rbac")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            admin_allowed_routes,
            role_mappings,
            accepted_token_types: TokenTypes::parse(
                obj.get("accepted_token_types").and_then(Value::as_str),
            ),
            require_scope: obj
                .get("require_scope")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            required_claims,
            allowed_roles: string_list("allowed_roles")
                .map(|roles| roles.iter().filter_map(|r| Role::parse(r)).collect()),
            allowed_email_domains: string_list("allowed_email_domains")
                .map(|domains| domains.iter().map(|d| d.to_ascii_lowercase()).collect()),
            tenant_template,
            allowed_tenants: string_list("allowed_tenants")
                .unwrap_or_default()
                .iter()
                .map(|t| t.to_ascii_lowercase())
                .collect(),
            admin_tenants: string_list("admin_tenants")
                .unwrap_or_default()
                .iter()
                .map(|t| t.to_ascii_lowercase())
                .collect(),
            team_prefix: text("team_prefix"),
            group_mappings,
            keys,
        })
    }

    /// Number of usable verification keys parsed from the JWKS (skipped entries not counted).
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

/// Builds the issuer map [`verify`] takes from `to_jsonb(row)` values of `rbac.jwt_issuers`, keyed by
/// `issuer`. Unusable rows (see [`Issuer::from_row`]) are skipped.
#[must_use]
pub fn issuers_from_rows<I: IntoIterator<Item = Value>>(rows: I) -> HashMap<String, Rc<Issuer>> {
    rows.into_iter()
        .filter_map(|row| Issuer::from_row(&row).ok())
        .map(|issuer| (issuer.issuer.clone(), Rc::new(issuer)))
        .collect()
}

/// A jsonb column arrives as JSON; a JSON document stored as a string is accepted too.
fn json_column(value: Option<&Value>) -> Option<std::borrow::Cow<'_, Value>> {
    match value? {
        Value::String(s) => serde_json::from_str::<Value>(s)
            .ok()
            .map(std::borrow::Cow::Owned),
        v => Some(std::borrow::Cow::Borrowed(v)),
    }
}

fn parse_role_mappings(value: Option<&Value>) -> Vec<(String, Role)> {
    let Some(value) = json_column(value) else {
        return Vec::new();
    };
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|m| {
            let external = m.get("role")?.as_str()?;
            let internal = Role::parse(m.get("internal_role")?.as_str()?)?;
            (!external.is_empty()).then(|| (external.to_string(), internal))
        })
        .collect()
}

fn parse_jwks(value: Option<&Value>) -> Vec<VerificationKey> {
    let Some(value) = json_column(value) else {
        return Vec::new();
    };
    let keys = match value.as_ref() {
        Value::Object(o) => match o.get("keys") {
            Some(Value::Array(keys)) => keys.as_slice(),
            _ => return Vec::new(),
        },
        Value::Array(keys) => keys.as_slice(),
        _ => return Vec::new(),
    };
    keys.iter().filter_map(parse_jwk).collect()
}

/// The signature algorithms supported here (jsonwebtoken with its aws-lc backend).
fn supported_algorithm(name: &str) -> Option<Algorithm> {
    Algorithm::from_str(name).ok()
}

fn hmac_min_key_bytes(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

fn jwk_bytes(jwk: &Map<String, Value>, member: &str) -> Option<Vec<u8>> {
    let s = jwk.get(member)?.as_str()?;
    JWK_B64.decode(s).ok()
}

/// Parses one JWK into a verification key, or `None` when it cannot be used to verify signatures.
fn parse_jwk(value: &Value) -> Option<VerificationKey> {
    let jwk = value.as_object()?;
    if let Some(usage) = jwk.get("use") {
        if usage.as_str() != Some("sig") {
            return None;
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    let kid = match jwk.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return None,
    };
    let declared = match jwk.get("alg") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(supported_algorithm(s)?),
        Some(_) => return None,
    };
    let (family, kind, key): (Vec<Algorithm>, &'static str, DecodingKey) =
        match jwk.get("kty")?.as_str()? {
            "RSA" => {
                let n = strip_leading_zeros(jwk_bytes(jwk, "n")?);
                let e = strip_leading_zeros(jwk_bytes(jwk, "e")?);
                let bits = bit_length(&n);
                if e.is_empty() || !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return None;
                }
                let algs = vec![
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ];
                (algs, "RSA", DecodingKey::from_rsa_raw_components(&n, &e))
            }
            "EC" => {
                let (alg, len, kind) = match jwk.get("crv")?.as_str()? {
                    "P-256" => (Algorithm::ES256, 32, "EC P-256"),
                    "P-384" => (Algorithm::ES384, 48, "EC P-384"),
                    _ => return None, // P-521 (ES512) and secp256k1 are not supported by jsonwebtoken
                };
                let x = jwk_bytes(jwk, "x")?;
                let y = jwk_bytes(jwk, "y")?;
                if x.len() != len || y.len() != len {
                    return None;
                }
                // SEC1 uncompressed point, the form jsonwebtoken's EC verifier reads.
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (vec![alg], kind, DecodingKey::from_ec_der(&point))
            }
            "OKP" => {
                if jwk.get("crv")?.as_str()? != "Ed25519" {
                    return None; // Ed448 is not supported
                }
                let x = jwk_bytes(jwk, "x")?;
                if x.len() != 32 {
                    return None;
                }
                (
                    vec![Algorithm::EdDSA],
                    "OKP Ed25519",
                    DecodingKey::from_ed_der(&x),
                )
            }
            "oct" => {
                let k = jwk_bytes(jwk, "k")?;
                let algs: Vec<Algorithm> = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
                    .into_iter()
                    .filter(|a| k.len() >= hmac_min_key_bytes(*a))
                    .collect();
                (algs, "oct", DecodingKey::from_secret(&k).ok()?)
            }
            _ => return None,
        };
    let algorithms = match declared {
        Some(alg) if family.contains(&alg) => vec![alg],
        Some(_) => return None,
        None => family,
    };
    if algorithms.is_empty() {
        return None;
    }
    Some(VerificationKey {
        kid,
        algorithms,
        kind,
        key,
    })
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(first) => (bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

// ------------------------------------------------------------------------------------------------------------
// Errors and principal
// ------------------------------------------------------------------------------------------------------------

/// Why a token was refused. Variants are listed in the order they are checked (docs/semantics.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not a usable compact JWS (RFC 7515 §7.1): not three base64url parts, header or payload not a JSON
    /// object, `alg` missing or `none` (RFC 7518 §3.6, never accepted), `kid` not a string, a `crit` or `b64`
    /// header (RFC 7515 §4.1.11, RFC 7797: unsupported), an ID-JAG `typ`, more than [`MAX_TOKEN_BYTES`];
    /// at the signature step, header members or registered claims jsonwebtoken cannot read (e.g. `x5c` not a
    /// list, `sub`/`exp` an object or array, a duplicate member); after the signature verified, `exp` missing or
    /// `exp`/`nbf` not a number. The text says which.
    Malformed(String),
    /// `iss` missing, not a string, or not the `issuer` of a row of `rbac.jwt_issuers`.
    UntrustedIssuer,
    /// The signature does not verify with the issuer's keys: unknown `kid`, no key whose algorithm(s) include
    /// the header's `alg` (so RS→HS algorithm confusion fails here), unsupported `alg` (e.g. ES512), or a
    /// bad signature / tampered header or payload. The text says which.
    BadSignature(String),
    /// `aud` missing, or neither the string nor any string of the list is one of the issuer's audiences.
    AudienceMismatch,
    /// `now >= exp + leeway` (RFC 7519 §4.1.4).
    Expired,
    /// `now + leeway < nbf` (RFC 7519 §4.1.5).
    NotYetValid,
    /// A valid token of the issuer that is not an access token it accepts (`accepted_token_types`,
    /// `require_scope`): an OpenID Connect ID token, a token without RFC 9068's `typ`, or without a scope. The
    /// text says which.
    NotAccessToken(String),
    /// `iss` fits an issuer template (`{tenantid}`) but names a tenant outside its `allowed_tenants`, or (after
    /// the signature verified) the `tid` claim does not name the tenant of `iss`. Reason `untrusted_issuer`: the
    /// token's actual issuer is not trusted. The text says which.
    TenantNotAllowed(String),
}

impl JwtError {
    /// The docs/semantics.md §4 reason for this error: `invalid_token` (Malformed, BadSignature, NotAccessToken),
    /// `untrusted_issuer` (UntrustedIssuer, TenantNotAllowed),
    /// `audience_mismatch`, `token_expired`, `token_not_yet_valid`. All of them are HTTP 401.
    #[must_use]
    pub fn reason(&self) -> Reason {
        match self {
            JwtError::Malformed(_) | JwtError::BadSignature(_) | JwtError::NotAccessToken(_) => {
                Reason::InvalidToken
            }
            JwtError::UntrustedIssuer | JwtError::TenantNotAllowed(_) => Reason::UntrustedIssuer,
            JwtError::AudienceMismatch => Reason::AudienceMismatch,
            JwtError::Expired => Reason::TokenExpired,
            JwtError::NotYetValid => Reason::TokenNotYetValid,
        }
    }

    /// The `reason` code of [`JwtError::reason`].
    #[must_use]
    pub fn reason_code(&self) -> &'static str {
        self.reason().code()
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::Malformed(m) => write!(f, "malformed JWT: {m}"),
            JwtError::UntrustedIssuer => write!(f, "the JWT issuer is not trusted"),
            JwtError::BadSignature(m) => write!(f, "JWT signature not verified: {m}"),
            JwtError::AudienceMismatch => {
                write!(f, "the JWT audience is not one of the issuer's audiences")
            }
            JwtError::Expired => write!(f, "the JWT has expired"),
            JwtError::NotYetValid => write!(f, "the JWT is not valid yet"),
            JwtError::NotAccessToken(m) => write!(f, "not an access token: {m}"),
            JwtError::TenantNotAllowed(m) => write!(f, "the JWT issuer is not trusted: {m}"),
        }
    }
}

impl std::error::Error for JwtError {}

/// What a verified token says about its bearer (claims resolved through the issuer's claim paths).
///
/// String claims that are JSON numbers are stringified; empty strings and other JSON types count as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtPrincipal {
    /// The issuer row the token was verified against: the key of the issuer map (for an issuer template, the
    /// template; the tenant is in `tenant_id`).
    pub issuer: String,
    /// The tenant of `iss` when the token was admitted through an issuer template (`{tenantid}`).
    pub tenant_id: Option<String>,
    /// False for a template's token from a tenant outside `admin_tenants`: no role above `internal_user`, from
    /// any source (mappings, admin scope, user row).
    pub administrative_roles: bool,
    /// The `sub` claim (RFC 7519 §4.1.2).
    pub subject: Option<String>,
    /// From `user_id_claim`; when that column is NULL, the user email (LiteLLM behaviour).
    pub user_id: Option<String>,
    /// From `user_email_claim`.
    pub user_email: Option<String>,
    /// From `team_id_claim`: a string, or the first element of a list (LiteLLM `get_team_id`), as a team id
    /// ([`Issuer::team_of`]: `group_mappings` and `team_prefix` applied; a value that names no team is absent).
    pub team_id: Option<String>,
    /// From `team_ids_claim`: a list of strings (or one string), in claim order, as team ids
    /// ([`Issuer::team_of`]), duplicates removed.
    pub team_ids: Vec<String>,
    /// The IdP left a team claim out of the token and says so (Entra ID groups overage: `_claim_names` names
    /// it, or `hasgroups` is true): the token's teams cannot be known.
    pub teams_overage: bool,
    /// The same for a roles claim: the token's roles cannot be known.
    pub roles_overage: bool,
    /// From `org_id_claim`.
    pub organization_id: Option<String>,
    /// From `end_user_id_claim` (wins over the request's end user, docs/semantics.md §4).
    pub end_user_id: Option<String>,
    /// From `scope_claim` (default `scope`): a space-separated string (RFC 8693 §4.2) or a list.
    pub scopes: Vec<String>,
    /// From the `roles_claim` paths: each a list, or one string as a single role; united, duplicates removed.
    pub roles: Vec<String>,
    /// The issuer's `admin_scope` is set and among `scopes` (docs/semantics.md §11.5: per issuer; NULL → false).
    pub admin_scope: bool,
    /// The most privileged `internal_role` ([`Role::BY_PRIVILEGE`]) of the issuer's role mappings whose
    /// external role is in `roles`, whatever the mapping order (docs/semantics.md §11.5). `None` when none applies.
    pub mapped_role: Option<Role>,
    /// The issuer's `enforce_rbac`.
    pub enforce_rbac: bool,
    /// Why the issuer's admission rules (`required_claims`, `allowed_email_domains`) refuse this token, if they
    /// do (docs/semantics.md §4 `claims_not_allowed`); never lists claim values beyond a short excerpt.
    pub admission_refusal: Option<String>,
    /// The issuer's `allowed_roles` (checked once the role is derived, which may need the user row).
    pub allowed_roles: Option<Vec<Role>>,
    /// The issuer's `admin_allowed_routes`.
    pub admin_allowed_routes: Vec<String>,
    /// `exp`, Unix seconds (a fractional NumericDate is rounded down).
    pub expires_at: i64,
    /// `nbf`, Unix seconds (a fractional NumericDate is rounded up), if present.
    pub not_before: Option<i64>,
}

// ------------------------------------------------------------------------------------------------------------
// Verification
// ------------------------------------------------------------------------------------------------------------

/// A compact JWS whose structure has been checked, signature not yet verified.
struct ParsedToken {
    alg: String,
    kid: Option<String>,
    /// The header's `typ`, if a string.
    typ: Option<String>,
    payload: Value,
}

fn malformed(msg: &str) -> JwtError {
    JwtError::Malformed(msg.to_string())
}

/// Shortens attacker-supplied text before it goes into an error message.
fn excerpt(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut short: String = s.chars().take(max_chars).collect();
        short.push('…');
        short
    }
}

fn decode_json_object(part: &str, what: &str) -> Result<Value, JwtError> {
    let bytes = TOKEN_B64
        .decode(part)
        .map_err(|_| JwtError::Malformed(format!("{what} is not base64url")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        // PostgreSQL text cannot hold NUL: a claim with one could never be compared faithfully, so refuse it
        Ok(Value::Object(_)) if has_nul(&bytes) => {
            Err(JwtError::Malformed(format!("{what} holds a NUL character")))
        }
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(JwtError::Malformed(format!("{what} is not a JSON object"))),
        Err(_) => Err(JwtError::Malformed(format!("{what} is not JSON"))),
    }
}

/// True when the JSON text encodes a NUL (only possible as the escape `\u0000`).
fn has_nul(json: &[u8]) -> bool {
    json.windows(6)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && w[2..].iter().all(|&b| b == b'0'))
}

/// Structural checks of RFC 7515 §7.1 / §5.2 steps 1-6, before any key is touched.
fn parse_compact(token: &str) -> Result<ParsedToken, JwtError> {
    if token.is_empty() {
        return Err(malformed("empty token"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed("token too large"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a JWT has three dot-separated parts"));
    };
    if header.is_empty() || payload.is_empty() {
        return Err(malformed("empty header or payload"));
    }
    let header = decode_json_object(header, "header")?;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => {
            return Err(malformed("alg none is never accepted"))
        }
        Some(Value::String(alg)) if !alg.is_empty() => alg.clone(),
        _ => return Err(malformed("header has no alg")),
    };
    if signature.is_empty() {
        return Err(malformed("empty signature"));
    }
    if TOKEN_B64.decode(signature).is_err() {
        return Err(malformed("signature is not base64url"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(malformed("kid is not a string")),
    };
    if header.get("crit").is_some() || header.get("b64").is_some() {
        // RFC 7515 §4.1.11: a recipient that does not understand a critical extension must reject the JWS.
        return Err(malformed("crit/b64 header parameters are not supported"));
    }
    if let Some(Value::String(typ)) = header.get("typ") {
        // LiteLLM rejects identity assertion grants (ID-JAG) presented as bearer tokens.
        if typ.to_ascii_lowercase().contains("id-jag") {
            return Err(malformed("ID-JAG tokens are not access tokens"));
        }
    }
    let typ = header
        .get("typ")
        .and_then(Value::as_str)
        .map(str::to_string);
    let payload = decode_json_object(payload, "payload")?;
    Ok(ParsedToken {
        alg,
        kid,
        typ,
        payload,
    })
}

/// Verifies the signature of `token` (already parsed as `parsed`) with `issuer`'s keys; returns the key that
/// verified it.
fn check_signature<'i>(
    parsed: &ParsedToken,
    token: &str,
    issuer: &'i Issuer,
) -> Result<&'i VerificationKey, JwtError> {
    let Some(alg) = supported_algorithm(&parsed.alg) else {
        return Err(JwtError::BadSignature(format!(
            "unsupported algorithm {}",
            excerpt(&parsed.alg, 32)
        )));
    };
    let by_kid: Vec<&VerificationKey> = match &parsed.kid {
        Some(kid) => {
            let keys: Vec<&VerificationKey> = issuer
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                .collect();
            if keys.is_empty() {
                return Err(JwtError::BadSignature(format!(
                    "unknown kid {}",
                    excerpt(kid, 32)
                )));
            }
            keys
        }
        None => issuer.keys.iter().collect(),
    };
    let candidates: Vec<&VerificationKey> = by_kid
        .into_iter()
        .filter(|k| k.algorithms.contains(&alg))
        .collect();
    if candidates.is_empty() {
        return Err(JwtError::BadSignature(format!(
            "no key of the issuer allows {}",
            parsed.alg
        )));
    }
    if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
        // Only possible with a misconfigured build (both or neither of jsonwebtoken's crypto features);
        // jsonwebtoken::decode would panic.
        return Err(JwtError::BadSignature(
            "no signature provider in this build".to_string(),
        ));
    }
    let mut validation = Validation::new(alg);
    // Only the signature is checked here; claims are checked below in docs/semantics.md §4 order with the issuer's leeway.
    validation.required_spec_claims = HashSet::new();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    for key in candidates {
        match jsonwebtoken::decode::<Value>(token, &key.key, &validation) {
            Ok(_) => return Ok(key),
            // jsonwebtoken reads the header and the registered claims into typed fields (`kid`, `x5c`, `sub`,
            // `exp`, …); JSON it cannot read fails alike with every key, so it is a malformed token.
            Err(e) => {
                if let jsonwebtoken::errors::ErrorKind::Json(json) = e.kind() {
                    return Err(JwtError::Malformed(format!(
                        "unreadable header or claims: {}",
                        excerpt(&json.to_string(), 80)
                    )));
                }
            }
        }
    }
    Err(JwtError::BadSignature(
        "signature does not verify".to_string(),
    ))
}

fn check_audience(claims: &Value, issuer: &Issuer) -> Result<(), JwtError> {
    let accepted = |aud: &str| issuer.audiences.iter().any(|a| a == aud);
    let ok = match claims.get("aud") {
        Some(Value::String(aud)) => accepted(aud),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(accepted),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(JwtError::AudienceMismatch)
    }
}

/// Reads an RFC 7519 NumericDate. `Ok(None)` when absent; `Err` when present but not a number.
fn numeric_date(
    value: Option<&Value>,
    name: &str,
    round_up: bool,
) -> Result<Option<i64>, JwtError> {
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if n.as_u64().is_some() {
                Ok(Some(i64::MAX))
            } else {
                match n.as_f64() {
                    // `as` saturates for out-of-range floats.
                    Some(f) if f.is_finite() => {
                        Ok(Some(if round_up { f.ceil() } else { f.floor() } as i64))
                    }
                    _ => Err(JwtError::Malformed(format!("{name} is not a number"))),
                }
            }
        }
        Some(_) => Err(JwtError::Malformed(format!("{name} is not a number"))),
    }
}

fn check_times(exp: i64, nbf: Option<i64>, leeway: i64, now: i64) -> Result<(), JwtError> {
    if now >= exp.saturating_add(leeway) {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = nbf {
        if now.saturating_add(leeway) < nbf {
            return Err(JwtError::NotYetValid);
        }
    }
    Ok(())
}

/// Verifies a compact JWS against the trusted issuers (no network: keys come from the stored JWKS) and
/// returns the principal.
///
/// `issuers` maps `iss` values to issuers (see [`issuers_from_rows`]); `now` is Unix seconds. Order of checks,
/// each returning the first error (docs/semantics.md §4):
/// 1. [`JwtError::Malformed`]: three base64url parts, JSON-object header and payload, `alg` present and not
///    `none`, `kid` a string if present, no `crit`/`b64`, at most [`MAX_TOKEN_BYTES`];
/// 2. [`JwtError::UntrustedIssuer`]: `iss` is a string and a key of `issuers` (not an issuer template), or fits an
///    issuer template (`{tenantid}`); [`JwtError::TenantNotAllowed`] when the templates it fits exclude its tenant;
/// 3. [`JwtError::BadSignature`]: header `kid` present → only that issuer's keys with that `kid` (none → "unknown
///    kid"); absent → every key; of those, only keys whose algorithm(s) include the header's `alg` are tried
///    (the algorithm comes from the key, never from the token alone), each with `jsonwebtoken::decode`
///    restricted to that one algorithm; one must verify (JSON that jsonwebtoken cannot read → `Malformed`);
/// 4. through a template only: `tid` names the tenant of `iss` (else [`JwtError::TenantNotAllowed`]);
/// 5. [`JwtError::AudienceMismatch`]: `aud` (string or list) shares a value with `issuer.audiences`;
/// 6. `exp` required and a number (else `Malformed`), `nbf` a number if present (else `Malformed`);
///    `now >= exp + leeway` → [`JwtError::Expired`]; then `now + leeway < nbf` → [`JwtError::NotYetValid`];
/// 7. [`JwtError::NotAccessToken`]: `accepted_token_types`, `require_scope`.
///
/// The principal's claims are read through the issuer's paths ([`claim_at`]); team-claim values through
/// [`Issuer::team_of`]; a claim the IdP left out (groups overage) is flagged, not guessed.
///
/// Verified principals are cached per backend (`thread_local!`, no lock: a PostgreSQL backend is one process),
/// keyed by the SHA-256 of the whole token, at most [`VERIFIED_CACHE_CAPACITY`] entries (when full, the least
/// recently used half is dropped); tokens over 16 KiB are not cached. A hit still re-checks `exp`/`nbf`
/// against `now`, and is served only while `issuers[iss]` is the very `Rc<Issuer>` the token was verified
/// with (the entry holds a `Weak`, so it keeps no key alive): replacing the issuer map invalidates every entry
/// even without [`forget_verified_tokens`]. Failures are not cached.
///
/// # Errors
/// The first failed check, as above. Never panics.
pub fn verify(
    token: &str,
    issuers: &HashMap<String, Rc<Issuer>>,
    now: i64,
) -> Result<Rc<JwtPrincipal>, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed("token too large"));
    }
    let cacheable =
        cache_capacity() > 0 && !token.is_empty() && token.len() <= MAX_CACHED_TOKEN_BYTES;
    let cache_key = if cacheable {
        Some(cache_key(token))
    } else {
        None
    };
    if let Some(key) = &cache_key {
        if let Some((principal, leeway)) = cache_lookup(key, issuers) {
            return match check_times(principal.expires_at, principal.not_before, leeway, now) {
                Ok(()) => Ok(principal),
                Err(e) => {
                    if e == JwtError::Expired {
                        cache_remove(key);
                    }
                    Err(e)
                }
            };
        }
    }
    let parsed = parse_compact(token)?;
    let (issuer, tenant) = match parsed.payload.get("iss") {
        Some(Value::String(iss)) => find_issuer(issuers, iss)?,
        _ => return Err(JwtError::UntrustedIssuer),
    };
    check_signature(&parsed, token, issuer)?;
    check_tenant_claim(&parsed.payload, tenant.as_deref())?;
    check_audience(&parsed.payload, issuer)?;
    let exp = numeric_date(parsed.payload.get("exp"), "exp", false)?
        .ok_or_else(|| malformed("no exp claim"))?;
    let nbf = numeric_date(parsed.payload.get("nbf"), "nbf", true)?;
    check_times(exp, nbf, issuer.leeway_seconds, now)?;
    check_token_type(&parsed, issuer)?;
    let principal = Rc::new(build_principal(
        issuer,
        &parsed.payload,
        exp,
        nbf,
        tenant.as_deref(),
    ));
    if let Some(key) = cache_key {
        cache_store(key, &principal, issuer);
    }
    Ok(principal)
}

/// True when `tenant` may fill an issuer template's placeholder: a tenant id or domain name
/// (`[A-Za-z0-9._-]`), never a path, a query or another placeholder.
fn is_tenant_id(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 128
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The issuer row for `iss`: the row whose `issuer` is exactly `iss` (never a template's literal text), else the
/// issuer template `iss` fits (`{tenantid}` replaced by a tenant id), with that tenant. Several templates that
/// fit: the first by `issuer` that admits the tenant, so the choice never depends on map order.
///
/// # Errors
/// [`JwtError::UntrustedIssuer`] when no row fits; [`JwtError::TenantNotAllowed`] when only templates whose
/// `allowed_tenants` exclude the tenant fit.
fn find_issuer<'m>(
    issuers: &'m HashMap<String, Rc<Issuer>>,
    iss: &str,
) -> Result<(&'m Rc<Issuer>, Option<String>), JwtError> {
    if let Some(issuer) = issuers.get(iss).filter(|i| i.tenant_template.is_none()) {
        return Ok((issuer, None));
    }
    let mut fitting: Vec<(&'m Rc<Issuer>, &str)> = issuers
        .values()
        .filter_map(|issuer| {
            let (before, after) = issuer.tenant_template.as_ref()?;
            let tenant = iss
                .strip_prefix(before.as_str())?
                .strip_suffix(after.as_str())?;
            is_tenant_id(tenant).then_some((issuer, tenant))
        })
        .collect();
    if fitting.is_empty() {
        return Err(JwtError::UntrustedIssuer);
    }
    fitting.sort_by(|a, b| a.0.issuer.cmp(&b.0.issuer));
    let admitted = fitting.iter().find(|(issuer, tenant)| {
        let tenant = tenant.to_ascii_lowercase();
        issuer
            .allowed_tenants
            .iter()
            .any(|t| t == "*" || *t == tenant)
    });
    match admitted {
        Some((issuer, tenant)) => Ok((issuer, Some((*tenant).to_string()))),
        None => Err(JwtError::TenantNotAllowed(format!(
            "tenant {} is not among the allowed_tenants of issuer {}",
            excerpt(fitting[0].1, 64),
            excerpt(&fitting[0].0.issuer, 96)
        ))),
    }
}

/// For a token admitted through an issuer template: its `tid` claim must name the tenant of its `iss`
/// (Microsoft identity platform: validate the issuer against the token's tenant).
fn check_tenant_claim(claims: &Value, tenant: Option<&str>) -> Result<(), JwtError> {
    let Some(tenant) = tenant else {
        return Ok(());
    };
    match claims.get("tid").and_then(Value::as_str) {
        Some(tid) if tid.eq_ignore_ascii_case(tenant) => Ok(()),
        Some(_) => Err(JwtError::TenantNotAllowed(
            "the tid claim names another tenant than iss".into(),
        )),
        None => Err(JwtError::TenantNotAllowed(
            "a token of an issuer template must carry the tenant in tid".into(),
        )),
    }
}

/// Refuses a verified token that is not an access token the issuer accepts: an ID token presented as a bearer
/// token would otherwise act with the roles and groups the IdP put in it for the client application.
fn check_token_type(parsed: &ParsedToken, issuer: &Issuer) -> Result<(), JwtError> {
    match issuer.accepted_token_types {
        TokenTypes::Any => {}
        TokenTypes::Access => {
            if parsed.payload.get("nonce").is_some() {
                return Err(JwtError::NotAccessToken(
                    "an OpenID Connect ID token (it carries a nonce) is not an access token".into(),
                ));
            }
        }
        TokenTypes::AtJwt => {
            let typ = parsed.typ.as_deref().unwrap_or("").to_ascii_lowercase();
            if typ != "at+jwt" && typ != "application/at+jwt" {
                return Err(JwtError::NotAccessToken(
                    "the issuer accepts RFC 9068 access tokens only (header typ at+jwt)".into(),
                ));
            }
        }
    }
    if issuer.require_scope {
        let scope_path = issuer.scope_claim.as_deref().unwrap_or(DEFAULT_SCOPE_CLAIM);
        let scopes = claim_at(&parsed.payload, scope_path)
            .map(scope_list)
            .unwrap_or_default();
        if scopes.is_empty() {
            return Err(JwtError::NotAccessToken(format!(
                "the issuer requires a scope in {} (ID tokens carry none)",
                excerpt(scope_path, 64)
            )));
        }
    }
    Ok(())
}

/// Verifies only the signature of a compact JWS with one issuer's keys and returns the payload (a JSON
/// object). No `iss`, `aud`, `exp` or `nbf` check, no cache. Used by tests on RFC 7515 Appendix A.
///
/// # Errors
/// [`JwtError::Malformed`] for structure (same rules as [`verify`] step 1, which also means a payload that is
/// not a JSON object), [`JwtError::BadSignature`] as in [`verify`] step 3.
pub fn verify_signature(token: &str, issuer: &Issuer) -> Result<Value, JwtError> {
    let parsed = parse_compact(token)?;
    check_signature(&parsed, token, issuer)?;
    Ok(parsed.payload)
}

/// True when the token looks like a JWT (three dot-separated non-empty base64url parts, RFC 7515 §7.1), for
/// token classification. Says nothing about validity; `alg: none` tokens (empty third part) are not JWT-like.
#[must_use]
pub fn looks_like_jwt(token: &str) -> bool {
    let is_b64url = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut parts = token.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(a), Some(b), Some(c), None) if is_b64url(a) && is_b64url(b) && is_b64url(c)
    )
}

// ------------------------------------------------------------------------------------------------------------
// Claims
// ------------------------------------------------------------------------------------------------------------

/// Reads a claim by dot path (LiteLLM `get_nested_value`): `realm_access.roles`,
/// `resource_access.my-client.roles`; `\.` escapes a dot inside a key (`https://idp\.example/roles`).
///
/// * A leading `metadata.` segment is skipped when the claims have no `metadata` member (LiteLLM strips it).
/// * When the nested path does not resolve and the path has dots, the whole (unescaped) path is tried as one
///   top-level key, so namespaced claims such as `https://example.com/roles` work unescaped.
///
/// Only JSON objects are traversed. Returns `None` for an empty path, an empty segment or a missing member.
#[must_use]
pub fn claim_at<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    claim_at_how(claims, path).map(|(value, _)| value)
}

/// How [`claim_at`] found a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimFound {
    /// Through the path's segments (a path without dots: the top-level member).
    Nested,
    /// A dotted path that does not resolve as nested keys, found as one top-level key (`https://x.test/roles`).
    WholeKey,
}

fn claim_at_how<'a>(claims: &'a Value, path: &str) -> Option<(&'a Value, ClaimFound)> {
    if path.is_empty() {
        return None;
    }
    let segments = split_path(path);
    let mut segs: &[String] = &segments;
    if segs.len() > 1 && segs[0] == "metadata" && claims.get("metadata").is_none() {
        segs = &segs[1..];
    }
    if segs.iter().all(|s| !s.is_empty()) {
        let mut current = claims;
        let mut found = true;
        for seg in segs {
            match current.as_object().and_then(|o| o.get(seg.as_str())) {
                Some(next) => current = next,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if found {
            return Some((current, ClaimFound::Nested));
        }
    }
    if segments.len() > 1 {
        return claims
            .as_object()?
            .get(&segments.join("."))
            .map(|v| (v, ClaimFound::WholeKey));
    }
    None
}

/// Splits a `roles_claim` setting into its dot paths: at commas not preceded by a backslash (`\,` is a comma
/// inside a path; other escapes such as `\.` are kept for [`claim_at`]), each path trimmed, empty ones dropped.
#[must_use]
pub fn split_claim_paths(setting: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = setting.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => paths.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    paths.push(current);
    paths
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// True when the claim at `path` is absent and the IdP says it left it out (OpenID Connect Core §5.6.2
/// distributed claims: `_claim_names` names its top-level member; Entra ID's implicit-flow `hasgroups: true`
/// for `groups`). Entra ID does this for a user in more than 200 groups (JWT) instead of listing them.
#[must_use]
pub fn claim_left_out(claims: &Value, path: &str) -> bool {
    if claim_at(claims, path).is_some() {
        return false;
    }
    let top = split_path(path).into_iter().next().unwrap_or_default();
    let top = if top == "metadata" && claims.get("metadata").is_none() {
        split_path(path).into_iter().nth(1).unwrap_or_default()
    } else {
        top
    };
    let named = claims
        .get("_claim_names")
        .and_then(Value::as_object)
        .is_some_and(|names| names.contains_key(&top) || names.contains_key(path));
    named || (top == "groups" && claims.get("hasgroups") == Some(&Value::Bool(true)))
}

impl Issuer {
    /// The team a team-claim value names: without `group_mappings` and `team_prefix` the value itself; with
    /// them, its `group_mappings` entry, else the value without `team_prefix` when it starts with it (and more
    /// follows), else none (a group that is not a team).
    #[must_use]
    pub fn team_of(&self, group: &str) -> Option<String> {
        if self.group_mappings.is_empty() && self.team_prefix.is_none() {
            return Some(group.to_string());
        }
        if let Some(team) = self.group_mappings.get(group) {
            return Some(team.clone());
        }
        let prefix = self.team_prefix.as_deref()?;
        group
            .strip_prefix(prefix)
            .filter(|rest| !rest.is_empty())
            .map(str::to_string)
    }
}

fn split_path(path: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                current.push('.');
                chars.next();
            }
            '.' => segments.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    segments.push(current);
    segments
}

/// A claim value as an id: non-empty string, or a number stringified.
fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string or list claim as a list of ids (order kept, duplicates and non-scalars dropped).
fn string_list(value: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match value {
        Value::Array(items) => {
            for item in items.iter().filter_map(scalar_string) {
                if !out.contains(&item) {
                    out.push(item);
                }
            }
        }
        other => out.extend(scalar_string(other)),
    }
    out
}

/// Scopes: a space-separated string (RFC 8693 §4.2 / RFC 6749 §3.3) or a list of strings.
fn scope_list(value: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        for scope in s.split_whitespace() {
            if !out.iter().any(|x| x == scope) {
                out.push(scope.to_string());
            }
        }
    };
    match value {
        Value::String(s) => add(s),
        Value::Array(items) => items.iter().filter_map(Value::as_str).for_each(&mut add),
        _ => {}
    }
    out
}

/// True when the token says its e-mail is verified (`email_verified` true, or the string "true").
fn email_is_verified(claims: &Value) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        Some(Value::String(verified)) => verified.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// True when the token says its e-mail is not verified (`email_verified` false, or the string "false").
fn email_is_unverified(claims: &Value) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(verified)) => !verified,
        Some(Value::String(verified)) => verified.eq_ignore_ascii_case("false"),
        _ => false,
    }
}

/// The first admission rule of the issuer that the token's claims fail, as a message; `None` when admitted.
fn admission_refusal(
    issuer: &Issuer,
    claims: &Value,
    verified_email: Option<&str>,
    email_unverified: bool,
) -> Option<String> {
    for (path, allowed) in &issuer.required_claims {
        let value = claim_at(claims, path);
        let admitted = match value {
            Some(Value::Array(items)) => items.iter().any(|item| allowed.contains(item)),
            Some(value) => allowed.contains(value),
            None => false,
        };
        if !admitted {
            return Some(format!(
                "claim {} {} (the issuer admits only {} value(s) there)",
                excerpt(path, 64),
                if value.is_some() {
                    "has a value that is not admitted"
                } else if claim_left_out(claims, path) {
                    "was left out of the token by the IdP (groups overage)"
                } else {
                    "is missing"
                },
                allowed.len()
            ));
        }
    }
    if let Some(domains) = &issuer.allowed_email_domains {
        let domain = verified_email
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase());
        if !domain.as_ref().is_some_and(|d| domains.contains(d)) {
            return Some(if email_unverified {
                "the token's e-mail is not verified, and the issuer admits only some e-mail domains"
                    .into()
            } else {
                "the token's e-mail domain is not among the issuer's allowed_email_domains".into()
            });
        }
    }
    None
}

/// The most privileged internal role the mappings give for `roles` (docs/semantics.md §11.5), independent of order.
fn most_privileged_mapping(mappings: &[(String, Role)], roles: &[String]) -> Option<Role> {
    mappings
        .iter()
        .filter(|(external, _)| roles.iter().any(|r| r == external))
        .map(|(_, internal)| *internal)
        .min_by_key(|internal| internal.privilege_rank())
}

fn build_principal(
    issuer: &Issuer,
    claims: &Value,
    exp: i64,
    nbf: Option<i64>,
    tenant: Option<&str>,
) -> JwtPrincipal {
    // A token admitted through a template from a tenant outside admin_tenants: its roles and e-mail are set by
    // that tenant's own administrators (see Issuer::admin_tenants).
    let foreign_tenant =
        tenant.is_some_and(|t| !issuer.admin_tenants.contains(&t.to_ascii_lowercase()));
    let at = |path: &Option<String>| path.as_deref().and_then(|p| claim_at(claims, p));
    // An e-mail the IdP says is not verified is anybody's claim: it never names a user (else a token with
    // email_verified false and an admin's address would be that admin) and is not the principal's e-mail.
    let claimed_email = at(&issuer.user_email_claim).and_then(scalar_string);
    // Through a template, an e-mail counts as verified only when the token says so (Entra sends no email_verified,
    // and each tenant's administrators set their users' addresses).
    let email_unverified =
        email_is_unverified(claims) || (tenant.is_some() && !email_is_verified(claims));
    let user_email = claimed_email.clone().filter(|_| !email_unverified);
    let user_id = match &issuer.user_id_claim {
        Some(path) => claim_at(claims, path).and_then(scalar_string).filter(|id| {
            !(email_unverified
                && (Some(path) == issuer.user_email_claim.as_ref()
                    || Some(id) == claimed_email.as_ref()))
        }),
        None => user_email.clone(),
    };
    let admission_refusal =
        admission_refusal(issuer, claims, user_email.as_deref(), email_unverified);
    let team_id = at(&issuer.team_id_claim).and_then(|v| match v {
        Value::Array(items) => items
            .iter()
            .filter_map(scalar_string)
            .find_map(|group| issuer.team_of(&group)),
        other => scalar_string(other).and_then(|group| issuer.team_of(&group)),
    });
    let mut team_ids: Vec<String> = Vec::new();
    for team in at(&issuer.team_ids_claim)
        .map(string_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|group| issuer.team_of(group))
    {
        if !team_ids.contains(&team) {
            team_ids.push(team);
        }
    }
    let teams_overage = [&issuer.team_id_claim, &issuer.team_ids_claim]
        .into_iter()
        .flatten()
        .any(|path| claim_left_out(claims, path));
    let roles_overage = issuer
        .roles_claims
        .iter()
        .any(|path| claim_left_out(claims, path));
    let scope_path = issuer.scope_claim.as_deref().unwrap_or(DEFAULT_SCOPE_CLAIM);
    let scopes = claim_at(claims, scope_path)
        .map(scope_list)
        .unwrap_or_default();
    let mut roles: Vec<String> = Vec::new();
    for path in &issuer.roles_claims {
        for role in claim_at(claims, path).map(string_list).unwrap_or_default() {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
    }
    let admin_scope = !foreign_tenant
        && issuer
            .admin_scope
            .as_deref()
            .is_some_and(|admin| scopes.iter().any(|s| s == admin));
    let mapped_role = most_privileged_mapping(&issuer.role_mappings, &roles).map(|role| {
        if foreign_tenant {
            role.at_most(Role::InternalUser)
        } else {
            role
        }
    });
    JwtPrincipal {
        issuer: issuer.issuer.clone(),
        tenant_id: tenant.map(str::to_string),
        administrative_roles: !foreign_tenant,
        subject: claims.get("sub").and_then(scalar_string),
        user_id,
        user_email,
        team_id,
        team_ids,
        teams_overage,
        roles_overage,
        organization_id: at(&issuer.org_id_claim).and_then(scalar_string),
        end_user_id: at(&issuer.end_user_id_claim).and_then(scalar_string),
        scopes,
        roles,
        admission_refusal,
        allowed_roles: issuer.allowed_roles.clone(),
        admin_scope,
        mapped_role,
        enforce_rbac: issuer.enforce_rbac,
        admin_allowed_routes: issuer.admin_allowed_routes.clone(),
        expires_at: exp,
        not_before: nbf,
    }
}

// ------------------------------------------------------------------------------------------------------------
// Explanations (rbac.jwt_inspect) and write-time checks of issuer rows
// ------------------------------------------------------------------------------------------------------------

fn step_failed(step: &str, error: &JwtError) -> Value {
    serde_json::json!({"step": step, "ok": false, "reason": error.reason_code(), "message": error.to_string()})
}

fn step_passed(step: &str) -> Value {
    serde_json::json!({"step": step, "ok": true})
}

/// What [`verify`] does with `token`, step by step, as a JSON object (for `rbac.jwt_inspect`): `header` (`alg`,
/// `kid`, `typ`), `issuer` (the row chosen and how: `exact` or `tenant template`, the tenant, its usable key
/// count), `key` (`kid`, type and algorithms of the key that verified the signature), `steps` (each check in
/// [`verify`]'s order with `ok`, and for the failed one its reason and message), `verified`, `refusal`; and, once
/// the signature verified (also when a later check fails, e.g. an expired token), `claims` (each configured claim
/// path: the value found and how), `resolved` (user id, e-mail, scopes, roles, mapped role, groups and the team
/// each names, team candidates, organization, customer, tenant, overage), `admission` (the claim and e-mail
/// rules: the refusal, if any) and `warnings` (paths that match nothing, unverified e-mails, groups that are
/// not teams…).
///
/// Never includes key material (no `k`, `n` or other JWK member) or the token's signature. Uses no cache.
#[must_use]
pub fn inspect(token: &str, issuers: &HashMap<String, Rc<Issuer>>, now: i64) -> Value {
    let mut steps: Vec<Value> = Vec::new();
    let mut out = Map::new();
    let result = inspect_steps(token, issuers, now, &mut steps, &mut out);
    out.insert("steps".into(), Value::Array(steps));
    out.insert("verified".into(), Value::Bool(result.is_ok()));
    out.insert(
        "refusal".into(),
        match &result {
            Ok(()) => Value::Null,
            Err(e) => serde_json::json!({"reason": e.reason_code(), "message": e.to_string()}),
        },
    );
    Value::Object(out)
}

fn inspect_steps(
    token: &str,
    issuers: &HashMap<String, Rc<Issuer>>,
    now: i64,
    steps: &mut Vec<Value>,
    out: &mut Map<String, Value>,
) -> Result<(), JwtError> {
    macro_rules! check {
        ($name:expr, $result:expr) => {
            match $result {
                Ok(value) => {
                    steps.push(step_passed($name));
                    value
                }
                Err(e) => {
                    steps.push(step_failed($name, &e));
                    return Err(e);
                }
            }
        };
    }
    let parsed = check!("structure", parse_compact(token));
    out.insert(
        "header".into(),
        serde_json::json!({"alg": parsed.alg, "kid": parsed.kid, "typ": parsed.typ}),
    );
    let iss = parsed.payload.get("iss").and_then(Value::as_str);
    out.insert(
        "issuer".into(),
        serde_json::json!({"iss": iss.map(|i| excerpt(i, 256))}),
    );
    let (issuer, tenant) = check!(
        "issuer",
        iss.map_or(Err(JwtError::UntrustedIssuer), |iss| find_issuer(
            issuers, iss
        ))
    );
    out.insert(
        "issuer".into(),
        serde_json::json!({
            "iss": iss, "row": issuer.issuer,
            "matched": if tenant.is_some() { "tenant template" } else { "exact" },
            "tenant": tenant, "usable_keys": issuer.keys.len(),
        }),
    );
    let key = check!("signature", check_signature(&parsed, token, issuer));
    let algorithms: Vec<String> = key.algorithms.iter().map(|a| format!("{a:?}")).collect();
    out.insert(
        "key".into(),
        serde_json::json!({"kid": key.kid, "type": key.kind, "algorithms": algorithms}),
    );
    // The claims are the issuer's from here on: say how the row reads them, even if a later check fails.
    let claims = &parsed.payload;
    let exp = numeric_date(claims.get("exp"), "exp", false)
        .ok()
        .flatten()
        .unwrap_or(0);
    let nbf = numeric_date(claims.get("nbf"), "nbf", true).ok().flatten();
    let principal = build_principal(issuer, claims, exp, nbf, tenant.as_deref());
    let mut warnings: Vec<String> = Vec::new();
    out.insert(
        "claims".into(),
        explain_claims(issuer, claims, &mut warnings),
    );
    out.insert(
        "resolved".into(),
        explain_principal(issuer, &principal, claims, &mut warnings),
    );
    out.insert(
        "admission".into(),
        serde_json::json!({
            "required_claims": issuer.required_claims.iter().map(|(p, v)| serde_json::json!({"path": p, "allowed": v})).collect::<Vec<_>>(),
            "allowed_roles": issuer.allowed_roles.as_ref().map(|r| r.iter().map(|r| r.name()).collect::<Vec<_>>()),
            "allowed_email_domains": issuer.allowed_email_domains,
            "refusal": principal.admission_refusal,
        }),
    );
    out.insert(
        "times".into(),
        serde_json::json!({"exp": claims.get("exp"), "nbf": claims.get("nbf"), "now": now, "leeway_seconds": issuer.leeway_seconds}),
    );
    out.insert(
        "audience".into(),
        serde_json::json!({"aud": claims.get("aud"), "accepted": issuer.audiences}),
    );
    out.insert("warnings".into(), serde_json::json!(warnings));
    check!("tenant", check_tenant_claim(claims, tenant.as_deref()));
    check!("audience", check_audience(claims, issuer));
    check!(
        "time",
        numeric_date(claims.get("exp"), "exp", false)
            .and_then(|exp| exp.ok_or_else(|| malformed("no exp claim")))
            .and_then(|exp| {
                let nbf = numeric_date(claims.get("nbf"), "nbf", true)?;
                check_times(exp, nbf, issuer.leeway_seconds, now)
            })
    );
    check!("token type", check_token_type(&parsed, issuer));
    Ok(())
}

/// Every claim path the issuer row reads, with the value found in `claims` and how it was found.
fn explain_claims(issuer: &Issuer, claims: &Value, warnings: &mut Vec<String>) -> Value {
    let mut settings: Vec<(&str, &str)> = Vec::new();
    let single = [
        ("user_id_claim", &issuer.user_id_claim),
        ("user_email_claim", &issuer.user_email_claim),
        ("team_id_claim", &issuer.team_id_claim),
        ("team_ids_claim", &issuer.team_ids_claim),
        ("org_id_claim", &issuer.org_id_claim),
        ("end_user_id_claim", &issuer.end_user_id_claim),
    ];
    for (setting, path) in single {
        if let Some(path) = path {
            settings.push((setting, path));
        }
    }
    for path in &issuer.roles_claims {
        settings.push(("roles_claim", path));
    }
    settings.push((
        "scope_claim",
        issuer.scope_claim.as_deref().unwrap_or(DEFAULT_SCOPE_CLAIM),
    ));
    for (path, _) in &issuer.required_claims {
        settings.push(("required_claims", path));
    }
    let explained: Vec<Value> = settings
        .into_iter()
        .map(|(setting, path)| {
            let (value, found) = match claim_at_how(claims, path) {
                Some((value, ClaimFound::Nested)) => (value.clone(), "yes"),
                Some((value, ClaimFound::WholeKey)) => {
                    warnings.push(format!(
                        "{setting} '{}' was found as one top-level key named by the whole path, not as nested members",
                        excerpt(path, 96)
                    ));
                    (value.clone(), "as one top-level key")
                }
                None if claim_left_out(claims, path) => {
                    warnings.push(format!(
                        "{setting} '{}': the IdP left this claim out of the token (groups overage)",
                        excerpt(path, 96)
                    ));
                    (Value::Null, "left out by the IdP (overage)")
                }
                None => {
                    warnings.push(format!(
                        "{setting} '{}' matches nothing in this token",
                        excerpt(path, 96)
                    ));
                    (Value::Null, "no")
                }
            };
            serde_json::json!({"setting": setting, "path": path, "found": found, "value": value})
        })
        .collect();
    Value::Array(explained)
}

/// The principal a token resolves to, with each team-claim value and the team it names.
fn explain_principal(
    issuer: &Issuer,
    principal: &JwtPrincipal,
    claims: &Value,
    warnings: &mut Vec<String>,
) -> Value {
    let at = |path: &Option<String>| path.as_deref().and_then(|p| claim_at(claims, p));
    let mut groups: Vec<String> = Vec::new();
    for value in [at(&issuer.team_id_claim), at(&issuer.team_ids_claim)]
        .into_iter()
        .flatten()
    {
        for group in string_list(value) {
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
    }
    let not_teams = groups
        .iter()
        .filter(|g| issuer.team_of(g).is_none())
        .count();
    if not_teams > 0 {
        warnings.push(format!(
            "{not_teams} of the token's {} team-claim values name no team (team_prefix / group_mappings)",
            groups.len()
        ));
    }
    if email_is_unverified(claims) {
        warnings.push(
            "email_verified is false: the e-mail names no user and counts for no e-mail domain"
                .into(),
        );
    }
    if issuer.accepted_token_types == TokenTypes::Any && claims.get("nonce").is_some() {
        warnings.push(
            "the token carries a nonce (an OpenID Connect ID token), and the issuer accepts any token".into(),
        );
    }
    let mut candidates: Vec<&str> = principal
        .team_ids
        .iter()
        .map(String::as_str)
        .chain(principal.team_id.as_deref())
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    serde_json::json!({
        "user_id": principal.user_id,
        "user_email": principal.user_email,
        "email_verified": claims.get("email_verified"),
        "subject": principal.subject,
        "scopes": principal.scopes,
        "admin_scope": principal.admin_scope,
        "roles": principal.roles,
        "mapped_role": principal.mapped_role.map(Role::name),
        "groups": groups.iter().map(|g| serde_json::json!({"value": g, "team": issuer.team_of(g)})).collect::<Vec<_>>(),
        "team_candidates": if principal.admin_scope { Vec::new() } else { candidates },
        "organization_id": principal.organization_id,
        "end_user_id": principal.end_user_id,
        "tenant_id": principal.tenant_id,
        "teams_overage": principal.teams_overage,
        "roles_overage": principal.roles_overage,
    })
}

/// Members of a JWK that only a private (or secret-holding, for `oct` they are the point) key has.
const PRIVATE_JWK_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// Why a claim path can match nothing, whatever the token: an empty segment (a leading, trailing or doubled
/// unescaped dot) or surrounding whitespace.
fn claim_path_problem(path: &str) -> Option<&'static str> {
    if path.trim() != path {
        return Some("has leading or trailing spaces");
    }
    if split_path(path).iter().any(String::is_empty) {
        return Some("has an empty segment (a leading, trailing or doubled dot; escape a dot inside a key as \\.)");
    }
    None
}

/// The first reason the `rbac.jwt_issuers` row `row` (`to_jsonb(NEW)`) cannot work as written, for the
/// write-time trigger (23514); `None` when it can. Checks what [`Issuer::from_row`] would otherwise silently
/// skip or never match:
/// * `jwks`: a JWK holding private-key members (`d`, `p`, …: publish only public keys; `k` of an `oct` key is
///   the shared secret and allowed); a non-empty key set none of whose keys can verify (encryption keys, RSA
///   below 2048 bits, unsupported curves or algorithms, HMAC secrets shorter than HS256's 32 bytes…);
/// * claim paths (`*_claim`, each `roles_claim` path, `required_claims` keys): no empty segment, no surrounding
///   spaces; `roles_claim` must name at least one path;
/// * issuer templates: at most one `{tenantid}`, as a whole path segment of an `https://` issuer; a template
///   needs `allowed_tenants` (tenant ids, or `*` for every tenant), which only a template may have;
/// * `group_mappings`: a JSON object mapping groups to non-empty team ids.
#[must_use]
pub fn issuer_row_problem(row: &Value) -> Option<String> {
    let obj = row.as_object()?;
    let jwks = json_column(obj.get("jwks"));
    let keys = jwks
        .as_deref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array);
    if let Some(keys) = keys {
        for key in keys.iter().filter_map(Value::as_object) {
            if let Some(member) = PRIVATE_JWK_MEMBERS.iter().find(|m| key.contains_key(**m)) {
                return Some(format!(
                    "jwt_issuers.jwks: a key holds the private member \"{member}\"; store only the public key set the IdP publishes"
                ));
            }
        }
        if !keys.is_empty() && parse_jwks(obj.get("jwks")).is_empty() {
            return Some(format!(
                "jwt_issuers.jwks: none of its {} key(s) can verify signatures (encryption keys, RSA below 2048 bits, \
                 unsupported curves or algorithms, HMAC secrets too short for their algorithm)",
                keys.len()
            ));
        }
    }
    let text = |name: &str| {
        obj.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    for column in [
        "user_id_claim",
        "user_email_claim",
        "team_id_claim",
        "team_ids_claim",
        "org_id_claim",
        "end_user_id_claim",
        "scope_claim",
    ] {
        if let Some(problem) = text(column).and_then(claim_path_problem) {
            return Some(format!("jwt_issuers.{column} {problem}"));
        }
    }
    if let Some(setting) = text("roles_claim") {
        let paths = split_claim_paths(setting);
        if paths.is_empty() {
            return Some("jwt_issuers.roles_claim names no claim path".into());
        }
        if let Some(problem) = paths.iter().find_map(|p| claim_path_problem(p)) {
            return Some(format!("jwt_issuers.roles_claim: a path {problem}"));
        }
    }
    if let Some(rules) = json_column(obj.get("required_claims")) {
        if let Some(problem) = rules
            .as_object()
            .and_then(|r| r.keys().find_map(|p| claim_path_problem(p)))
        {
            return Some(format!(
                "jwt_issuers.required_claims: a claim path {problem}"
            ));
        }
    }
    let issuer = obj.get("issuer").and_then(Value::as_str).unwrap_or("");
    let allowed: Vec<&str> = obj
        .get("allowed_tenants")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|t| t.as_str().unwrap_or("")).collect())
        .unwrap_or_default();
    let admin_tenants: Vec<&str> = obj
        .get("admin_tenants")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|t| t.as_str().unwrap_or("")).collect())
        .unwrap_or_default();
    match issuer.matches(TENANT_PLACEHOLDER).count() {
        0 if !admin_tenants.is_empty() => {
            return Some("jwt_issuers.admin_tenants applies only to an issuer template".into());
        }
        0 => {
            if !allowed.is_empty() {
                return Some(
                    "jwt_issuers.allowed_tenants applies only to an issuer template such as \
                     https://login.microsoftonline.com/{tenantid}/v2.0"
                        .into(),
                );
            }
        }
        1 => {
            let (before, after) = issuer.split_once(TENANT_PLACEHOLDER).unwrap_or_default();
            let host_then_path = before
                .strip_prefix("https://")
                .is_some_and(|rest| rest.contains('/') && !rest.starts_with('/'));
            if !host_then_path
                || !before.ends_with('/')
                || !(after.is_empty() || after.starts_with('/'))
            {
                return Some(
                    "jwt_issuers.issuer: {tenantid} must be a whole path segment of an https:// issuer \
                     (https://login.microsoftonline.com/{tenantid}/v2.0)"
                        .into(),
                );
            }
            if allowed.is_empty() {
                return Some(
                    "jwt_issuers.allowed_tenants must list the tenants an issuer template admits ('*' for every \
                     tenant)"
                        .into(),
                );
            }
            if let Some(bad) = allowed.iter().find(|t| **t != "*" && !is_tenant_id(t)) {
                return Some(format!(
                    "jwt_issuers.allowed_tenants: \"{}\" is not a tenant id",
                    excerpt(bad, 64)
                ));
            }
            if let Some(bad) = admin_tenants.iter().find(|t| !is_tenant_id(t)) {
                return Some(format!(
                    "jwt_issuers.admin_tenants: \"{}\" is not a tenant id (name the home tenant; never '*')",
                    excerpt(bad, 64)
                ));
            }
            if !allowed.contains(&"*") {
                if let Some(bad) = admin_tenants
                    .iter()
                    .find(|t| !allowed.iter().any(|a| a.eq_ignore_ascii_case(t)))
                {
                    return Some(format!(
                        "jwt_issuers.admin_tenants: \"{}\" is not among allowed_tenants",
                        excerpt(bad, 64)
                    ));
                }
            }
        }
        _ => return Some("jwt_issuers.issuer holds {tenantid} more than once".into()),
    }
    if let Some(mappings) = json_column(obj.get("group_mappings")) {
        let well_formed = mappings.as_object().is_some_and(|m| {
            m.iter().all(|(group, team)| {
                !group.is_empty() && team.as_str().is_some_and(|t| !t.is_empty())
            })
        });
        if !well_formed {
            return Some(
                "jwt_issuers.group_mappings must map groups to team ids: {\"/acme/finance\": \"finance\"}".into(),
            );
        }
    }
    None
}

// ------------------------------------------------------------------------------------------------------------
// Verification cache
// ------------------------------------------------------------------------------------------------------------

type CacheKey = [u8; 32];

struct CacheEntry {
    principal: Rc<JwtPrincipal>,
    /// The issuer the token was verified with; a hit requires `issuers[iss]` to be this very allocation.
    issuer: Weak<Issuer>,
    last_used: u64,
}

#[derive(Default)]
struct VerifiedCache {
    entries: HashMap<CacheKey, CacheEntry>,
    clock: u64,
}

thread_local! {
    static VERIFIED: RefCell<VerifiedCache> = RefCell::new(VerifiedCache::default());
}

fn cache_key(token: &str) -> CacheKey {
    let mut key = [0u8; 32];
    key.copy_from_slice(&Sha256::digest(token.as_bytes()));
    key
}

/// Runs `f` on the cache; `None` if the cache is unavailable (thread teardown or re-entrant use).
fn with_cache<R>(f: impl FnOnce(&mut VerifiedCache) -> R) -> Option<R> {
    VERIFIED
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut cache| f(&mut cache)))
        .ok()
        .flatten()
}

fn cache_lookup(
    key: &CacheKey,
    issuers: &HashMap<String, Rc<Issuer>>,
) -> Option<(Rc<JwtPrincipal>, i64)> {
    with_cache(|cache| {
        cache.clock += 1;
        let clock = cache.clock;
        let entry = cache.entries.get_mut(key)?;
        let current = issuers.get(&entry.principal.issuer);
        let same_issuer = entry.issuer.strong_count() > 0
            && current.is_some_and(|rc| std::ptr::eq(Rc::as_ptr(rc), entry.issuer.as_ptr()));
        if !same_issuer {
            cache.entries.remove(key);
            return None;
        }
        entry.last_used = clock;
        let leeway = current.map_or(0, |i| i.leeway_seconds);
        Some((entry.principal.clone(), leeway))
    })
    .flatten()
}

fn cache_remove(key: &CacheKey) {
    with_cache(|cache| cache.entries.remove(key));
}

fn cache_store(key: CacheKey, principal: &Rc<JwtPrincipal>, issuer: &Rc<Issuer>) {
    with_cache(|cache| {
        if cache.entries.len() >= cache_capacity() && !cache.entries.contains_key(&key) {
            // Drop the least recently used half: amortised O(1) per insert, and never more than the bound.
            let mut stamps: Vec<u64> = cache.entries.values().map(|e| e.last_used).collect();
            let middle = stamps.len() / 2;
            let (_, cutoff, _) = stamps.select_nth_unstable(middle);
            let cutoff = *cutoff;
            cache.entries.retain(|_, e| e.last_used > cutoff);
        }
        cache.clock += 1;
        let entry = CacheEntry {
            principal: principal.clone(),
            issuer: Rc::downgrade(issuer),
            last_used: cache.clock,
        };
        cache.entries.insert(key, entry);
    });
}

/// Drops every cached verification of this backend. Call it when `rbac.jwt_issuers` changes: a removed key
/// or issuer must stop verifying at once. (Entries also become unusable by themselves once the issuer map
/// holding the `Rc<Issuer>` they were verified with is replaced; see [`verify`].) Issuers and their decoding
/// keys live only in the caller's issuer map, so nothing else here can keep a stale key.
pub fn forget_verified_tokens() {
    with_cache(|cache| {
        cache.entries = HashMap::new();
    });
}

/// Number of verified tokens currently cached in this backend (for tests and diagnostics).
#[must_use]
pub fn verified_token_count() -> usize {
    with_cache(|cache| cache.entries.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The clock of the fixture tests (2027-01-15): after every fixture's iat, before its exp.
    const NOW: i64 = 1_800_000_000;

    /// Tokens of pg_test/fixtures/jwt_fixtures.sql (generated with PyJWT by the steering tools).
    const FIXTURE_TOKENS: &[(&str, &str)] = &[
        ("kc_admin", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6ImFkbWluLTEiLCJlbWFpbCI6ImFkbWluLTFAYWNtZS50ZXN0Iiwic2NvcGUiOiJvcGVuaWQgbGl0ZWxsbV9wcm94eV9hZG1pbiJ9.GB-pVAnMSff3yID2WRkzHmjgfLZvDB2x8H3ZNpk39QiyA4BT_6ljUiNcBYvpb7hlx2y1pdctfpsgS9KgxM3eax7pMy7qRuqBw7HiWSTYhxll7yBGw28d5OUWIShLUD0nxM9n4KcsOmwNAuQd49Xtwa2B2wBJDIcU3cFjL1lxg2pyLcElWAQfIJ7I92mmFEBngGws8hSkepVYjg38YVC7zYTD2PQ9g_u_jBYVDgI6jIzyIFu_pR2uwlv9eg5ME-0ByvQYtTWnyO1OzU4rOa54CpiXMq5aubmxRvQHrLsjHWT6crZv2As1nfskR80XGrAgQzcz0sKXDKx3kUVv6Jc0-A"),
        ("kc_user_two_teams", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMSIsImVtYWlsIjoidXNlci0xQGFjbWUudGVzdCIsImdyb3VwcyI6WyJ0ZWFtLWFscGhhIiwidGVhbS1iZXRhIl19.F3OhbGpA9VAp7B3gUHDCiEUmLG1O74MhZgSDybXwn1kFU5Prst_K9DsV9vtxM_lvXz1qRWvSj9lAKdnBiFS9pegihoIF-XsblYayd4gWKS_1tZlSJUglfA0m83wpVm2ANSL6E3hraZfyQWiQvmWFr37rsbKgHzV0vToWdyX9H6O4UtdTFQlD_nyBTN3qdCGib4XbzVhfhVzWL2rLmvJ5MCPDzDYbRsYwHT9sYvh6iKNMFtXr9j7goWgy_8hjgAjNNlLgWNX60F5TWU0fh-KUUfVv4mT8GjdKE36ZKyEW-mk-2kmCNS6sWnXyvyOBlLbnvyRJpdAL4Q2yugf0EgEkTw"),
        ("kc_user_no_team", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMiIsImVtYWlsIjoidXNlci0yQGFjbWUudGVzdCJ9.qU6zMbwticGF_jwSyHxvKnlKJwREMPB_gbFQ2ZmO-AnbnMtrQBFFVhuqGVMBuy00wXoAJxAMgI3GsvSixg5qSflnXelfXlb2CnSAimR42ZZR3bVbqPAJPc4g49rzsliViV-6Fs4A6C2deO6MzrpJvz-Wuf-k5Ku53rTOHZJkBhM1pkWh1cj75gxssueyBvDM9ufIIVreaSorTjahTa2RR3skGH3zYpP9JBqVHrnzreHy8Kvysq_zj8mxbzocIPngAD8QjWZkwHeQbO-SVyFkiWZl0vFdY9vAVPLYtSJQbwtRGtz8MqgB6JN4qk_aKoa4XnbXMGksCHSAGnAOoSdLkQ"),
        ("kc_roles_viewer_admin", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMyIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJ2aWV3ZXIiLCJhZG1pbiJdfX0.o7ExNHVtHUazD3_pxe5UXe3NrYxdN0eBLm4X3WLSCK7YdowcsqVIxWm7aCrR7FdfozLPKs6voaeFBImngRXnOcGFhQD0zSzd_jnbL3vVs1rIasFuSE0_Lw8geGYpl8aN0aurjnCnifJn9HnD-umlqOMGLDqvpX4Q_UzXXGIc52Sv289cqneCN4mEWuMzSpMV_fn06tmC-PMWd90BSsqoT0yp7xyda1Tbk4UJcb_9YGna9JAleXmeKeG4ST10Dd3v7xeNpfVIDLmQSG94OizKhnqaFram_KnlhLXFmhVQlQni_XoVgJPo6hXk0jctroikyXHlMxUHBlPKYRq90ISW8Q"),
        ("kc_roles_viewer", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItNCIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJ2aWV3ZXIiXX19.r-xg9OgaN0QnJKKdNJl63f5knEOBoUFBXub-Zst2Bkp6IztM11bcpWKDFRTIE9iX2-x0OqhNoL8OyHawh2xPICrvkLIPN-xMV-DctP0_gtKUS_H2-slcqghnsw0Yx6or4R8rbVPq6Dj76IGLQB_7wyEUv57Ky9bAkHzrHchhaq6v2G2QTSNCOM3VatjUTf_MXCH5LYc4P3-iYL7NTtHdvduVgUWc_0TOugsphUjbnQnLIoRdi40hjXqG0JwaF-7YkUVShA8TrzQUaSJO29FW0ZAs6m6ImUAOEOldRLmgxAp6iQBgFwmh1PctAbyx5YUFcaoOF2NOQpIvN8zEF2waBQ"),
        ("kc_roles_unmapped", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItNSIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJndWVzdCJdfX0.EI3IRtWhgxu58fIFV_o3OtddXR47qQmn6vJglwfg89jZjphzCNPbK1HZNxyJEIptTvwRss0tGCp6uBvcUiNK89zA3-mjOXlw225wNvP_pb86KnXnmQ8TjsYFGmKd_N1kll9hFaAK4E3XxaMxn90NF5eYJevgy9mByQkRB-cg6A_vJiAozBpEOzhqZNNFQg3IsbCiOG-QlG1zv87MbT6vN2NWR6QScSI-eUVesL9I_0VB-qKh46awN-D4f5_h4BQ1ffD3j26ZZ_nN0AymnI0eGHB37kF7CmkGjQbYQvHumKbwAP_IftX1kivfVNqNx2sV376lLTBc8VUZbsvfZEk64Q"),
        ("kc_rotated_key", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0yIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMiJ9.eStDeYg-NgVkzjzgkPKH5MIzxcstgZ6zcHEJ8XN5DjDtWjH8_PAbz-m7d2t6OYxsfzwpN09uYhS77MDKQgOas7DQRj7CeCPvkskiXM4cibzqmQPfB7xT90UdqieC9XjMqL_AibowJ_vaHZMvEmhvquGKVfPLlRiXFyhj2x7422Rij306sP0kkuAAVFCM7famKjPqvOMfU8ckiBm6FbQrEsme1ZjbmRvUIGdoixyHeoJcWZ9Qw-9DdZJrEOErbyLlEYSWxlIwfVAugSGVKI3lgOplopb-p6CDyaF6Ca0ksxMNNgCtGHiNAlJ36sJbJkHlTo1_v5SEDCyM9-pjOlALKg"),
        ("kc_es256", "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMiJ9.cum3t18xuSJjfvz7tBtIbZzn1_hviyYkmjMHHNKfsmNtuJehGiPxxPca2c4nOTz0ujnqCZAIDDqOxlyI13yMUw"),
        ("kc_eddsa", "eyJhbGciOiJFZERTQSIsImtpZCI6ImVkLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMiJ9.JCTS7SRetKpiJVQVj5agytJCkVh5BN3HgXi3bAeIY29lT0kxOgc3rhuGv_ZuYlXLcWmjhe68gt5f2UiQHIxiCw"),
        ("kc_expired", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjE1Nzc4MzY4MDAsInN1YiI6InVzZXItMiJ9.IWQfPl_pr2MsjpsuGXdaclUxho7R5qA6BIqZuL62VR3hUI0RcCsitdF5zY3Plpt1CWBwo_2TZRtI9r0qsXQ1BHPy9SGPS-s1JJNCqKizLVmJq4wZ9lH6MsTiqwBlB5csnOE_0fAGIfiNfWTGB1yEq9B87rGOIsdTyA5R8aSv15zHnK0gifrx99mhtrF9la0xi4W_xP9ucRAYeq9wkK8V8jWzg30RUZ-gG7QWVV_mnoIO2plBhjpFZm0b-Yst6TBU2trPwvI2ZRJHqu47TWfaFYBbf-xWIjygkOlDl1k5ivNE0IEjlXq849DMba-1000vljolY0QHOk4pOGw25bbzLg"),
        ("kc_not_yet_valid", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMiIsIm5iZiI6NDEwMjQ0NDc5MH0.K-sqTxU97guiyuatxH7UKp99zqUpl4F2nMl3J9QnSshY8pE-YL-TyzT8Nv3xdWGIUSQj0Fa142BeZ1-nyk34zHv1i1WgT96b-vpv2br_w7xIYb2S0Vw3Hpxj-TFapqQCY6BsSFT_wYOAkJwh2ht8kDBaHdCcba0k-thwuhN4v4e77JmQlNQFnR_A4vVcNxEHpXp1pfdqEobP9jsIUQjwASQtnfqgCJHnvHCXz5W4LVINtxZoC0tykBPPJL-Y9t3k3iXqR4njZGo7X1BaldgrPNxzkPSn7Zs7la5E1x31Dwf15l8pWxHDgAvKlbDYCwb8jC25E0JZhs7rAWU5SZxW8Q"),
        ("kc_wrong_audience", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJzb21lLW90aGVyLWFwcCIsImlhdCI6MTc2NDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJzdWIiOiJ1c2VyLTIifQ.VC3F3hmC3BfDXohjX-ksVi6aLZM72vZL5PLPhtOWiz-ohdBuYFPODqLqkjtbiEenA9wj-p8AReQiq3JdTmKDL7HDndnSfc1-NH7YF9NAdP-dLCPR12qCZQQo9mxkLivesyyAbqqrmu-iFShytxIF9DWRsHmZJKpPY-2kJXavn7uhmNERAxaTjwAWRoOUZ7aS2BFORYdrU7IppfZ6gJBaR6FM8HKGwMQdtAHjipPZZcLwANbVnyWwvvqLpSe_u9U9jG1ewJDzu14u1sMf0a4EQ4_Z_3JcnvN4L9zoNYvCGmzG6JTFt7IrMkfUh7MJYAhU5x_h_SnKFP-Gi6_YPG9a3Q"),
        ("kc_audience_list", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOlsiYWNjb3VudCIsImxpdGVsbG0tcHJveHkiXSwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMiJ9.GhqQp5VmkZPI08DozHY799BCBbfG7QILhTQ7jSu5FOSc61G1lo4B4yOgkWKwAfdiZsg2QoJAR_PeRV9wUPNYQ7uIfk4fjL7IH8iWTS3NfIM1MaIEm6NzVWRnrXtLcpDRXbipieia4BP3qEngkG3aI2A4lgxZ5EN_gEPx5yHfFUhlEutCGf0fwXnI65w3oYM20A452IdgeoWzeolisaZ0Ynk2EMdqtzrj2mnOqAPgopu1sOtIZEtnpilhl7-Xyx7u2kH7zIEXrysedvdSh8bmdUGw1qbyyZsOBz0inhmI8S8KIizni02T4ZOOTxBLDxy-Vu4AALQ4UN0X-SBBol_lyQ"),
        ("kc_unknown_kid", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS05IiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMiJ9.QzrVHD25oQyOuwop2DeQ9rMlWBHRrFaMl3qlLbd75bs6kbuOskb-AahXXkMfIYYziQyebfGe7btbauabhDAeI0bYNU4XwcO-Dr77O85Xwl75bGyuAKcsp9YpqDU5zJKkDh_o5WgQ6M4ZDH-KcK-D1it-Rdx8Edl7TnnsN-h18mJwyuotorIawQDvxQulPbR8JlndzUwmlsyzrvGQg5XLUesnQlBF25lcqfvILrVmo6xXNTnX-gZBmD3a-rZqgB-noPxzEArniZK7bay4StV9rwxSMoWYPt8NfGS6fMKPhFJwdxeJpMsUByeeQxCsXGN-5c_j4PXS9764YnaHNmq-GQ"),
        ("kc_no_kid", "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVzZXItMiJ9.L9AH2La4XZo0atjnz_v7wN0WTHeYrMey27aSJdpmcuUvHibt-uwyzwauzz0_qp6yw2C22v2wtadEoLTwwsMYq9R6bkFLsWWuZz2W9kfCNlJNYe6GyGpCkefXb2nSvbgEEIYSEtCP5_hPfAM8UTcgtTVIXJh8XVXH7crAktMzPkczelSwd3aqMr2PVfMP2PmrixaNzG0ZTKWg6b3AeD1QCbbKS5YM_eMOf7MEmc2-1lejurSwEfNYcAuao1LxLedK3wrv7GJG5apk8zJ4Y3MTbqjw1vZ_9tuk8_Xt5K468ZK3cuqu7KH2BZ_Fx4qZkL2rlge5n6qn2Rt2TVWVRETwKA"),
        ("untrusted_issuer_admin", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZS50ZXN0IiwiYXVkIjoibGl0ZWxsbS1wcm94eSIsImlhdCI6MTc2NDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJzdWIiOiJhZG1pbi0xIiwic2NvcGUiOiJsaXRlbGxtX3Byb3h5X2FkbWluIn0.Kp2VYNHFCx2EAHSXAYCn1O1dP5KPqVO3E1w8w6OtTNan2B96UJaabYkbP6v7Qkkkty0ZRPDWs6BkkUy7EWQD5_x7ct9RnDTYMUjYYP8tnNHmb7H5KRtJO91bCHT7il7jX_ccOiEMpW-DMnSmnqE-3c4RlbM12XtyPXak2dnWPieRy2VoXeI3LuvqqARzBNxiA2tX5GvhDfCgqFV-yzdc56S2DR2UMK4iMEqhvnWStHY65B1RkVmdZELthttjnMmCKhnmmICrCAFGTSjzB_6f3tyHzNYjdljXbI2OnrLBm_SnEoupMoiu7CdPRlaExHwzAKgZkdbL7jZ34z6X9rejaw"),
        ("kc_signed_by_stranger", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLnRlc3QvcmVhbG1zL2FjbWUiLCJhdWQiOiJsaXRlbGxtLXByb3h5IiwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDAsInN1YiI6ImFkbWluLTEiLCJzY29wZSI6ImxpdGVsbG1fcHJveHlfYWRtaW4ifQ.FA7i5mSUCd7_CmOA12AHq92Xnp8JxcweT2giFdpbG2CbULttu2mVOwuje5eWPD1kttclWdtYwI1jVB_L5i6HUanZxobUWHbw__upBCc2fEiheFfEBQjXRp07JklbvdchWphS_JxMsQCGKEyQDxSFhG9Fu-eF8MBH_4snH5lr1EFwkANeB0UigTqoh4_2gp7dYe10OY5soq8ncY02WinGJkzRvtbqKZB0PyZWpa5HEBCk7EEOhn-8ZRTREmHNv-aj23tmtgnVz9AhX3JUfKwbXL9Dxm0219C6gxiIPseXX9sOFoFfwX1rJoP68uQLwAeFmyPY7UeMOiz7P2hb_Cj16g"),
        ("kc_tampered", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiAiaHR0cHM6Ly9pZHAuZXhhbXBsZS50ZXN0L3JlYWxtcy9hY21lIiwgImF1ZCI6ICJsaXRlbGxtLXByb3h5IiwgImlhdCI6IDE3NjQwMDAwMDAsICJleHAiOiA0MTAyNDQ0ODAwLCAic3ViIjogInVzZXItMiIsICJzY29wZSI6ICJsaXRlbGxtX3Byb3h5X2FkbWluIn0.qU6zMbwticGF_jwSyHxvKnlKJwREMPB_gbFQ2ZmO-AnbnMtrQBFFVhuqGVMBuy00wXoAJxAMgI3GsvSixg5qSflnXelfXlb2CnSAimR42ZZR3bVbqPAJPc4g49rzsliViV-6Fs4A6C2deO6MzrpJvz-Wuf-k5Ku53rTOHZJkBhM1pkWh1cj75gxssueyBvDM9ufIIVreaSorTjahTa2RR3skGH3zYpP9JBqVHrnzreHy8Kvysq_zj8mxbzocIPngAD8QjWZkwHeQbO-SVyFkiWZl0vFdY9vAVPLYtSJQbwtRGtz8MqgB6JN4qk_aKoa4XnbXMGksCHSAGnAOoSdLkQ"),
        ("kc_alg_none", "eyJhbGciOiAibm9uZSIsICJ0eXAiOiAiSldUIn0.eyJpc3MiOiAiaHR0cHM6Ly9pZHAuZXhhbXBsZS50ZXN0L3JlYWxtcy9hY21lIiwgImF1ZCI6ICJsaXRlbGxtLXByb3h5IiwgImlhdCI6IDE3NjQwMDAwMDAsICJleHAiOiA0MTAyNDQ0ODAwLCAic3ViIjogImFkbWluLTEiLCAic2NvcGUiOiAibGl0ZWxsbV9wcm94eV9hZG1pbiJ9."),
        ("kc_alg_confusion", "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCIsICJraWQiOiAicnNhLTEifQ.eyJpc3MiOiAiaHR0cHM6Ly9pZHAuZXhhbXBsZS50ZXN0L3JlYWxtcy9hY21lIiwgImF1ZCI6ICJsaXRlbGxtLXByb3h5IiwgImlhdCI6IDE3NjQwMDAwMDAsICJleHAiOiA0MTAyNDQ0ODAwLCAic3ViIjogImFkbWluLTEiLCAic2NvcGUiOiAibGl0ZWxsbV9wcm94eV9hZG1pbiJ9.gsrnyxCiXkd2dHznf9-LZTCaxHO2__NR184IE89jJK0"),
        ("hs_admin_scope", "eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2hzLmV4YW1wbGUudGVzdCIsImF1ZCI6ImxpdGVsbG0tcHJveHkiLCJpYXQiOjE3NjQwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwic3ViIjoidXNlci05Iiwic2NvcGUiOiJsaXRlbGxtX3Byb3h5X2FkbWluIn0.3FD999av8jDtonQOx-XH3LwPrZ2c7YbZSHP8e7zJG6Y"),
        ("hs_user", "eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2hzLmV4YW1wbGUudGVzdCIsImF1ZCI6ImxpdGVsbG0tcHJveHkiLCJpYXQiOjE3NjQwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwic3ViIjoidXNlci0yIn0.GudPAr7YFnk2toHvCBiAydgVzN38w_BH-OeZnE5iV68"),
        ("entra_admin_role", "eyJhbGciOiJSUzI1NiIsImtpZCI6ImVudHJhLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUudGVzdC90ZW5hbnQtMS92Mi4wIiwiYXVkIjoibGl0ZWxsbS1wcm94eSIsImlhdCI6MTc2NDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJvaWQiOiJvaWQtNyIsInByZWZlcnJlZF91c2VybmFtZSI6InVzZXItN0BhY21lLnRlc3QiLCJyb2xlcyI6WyJMaXRlTExNLkFkbWluIl0sInNjcCI6ImxpdGVsbG1fcHJveHlfYWRtaW4ifQ.Umu7mZsEA0H3pY1pzqfNvH8JIMIHDvtaO_vU492WN0akJFW5oFIWXtjCw1iUswkATaLPSgEMJz_WspufpXQ404wywy6onfhttgi3dSW5i9WFjuJb2543E45JCIuoW4gV9eLTVOuoLajxHezs2_c3XsVbBeaqRogFiXdkFzCMD_PVuONzh6X_Epmc08nbLO2a5SwaJkXQd5me8a7af7YYn11KOKeDo9V77_EAPlWu0r7ncV-EY9ovhkbSNUj9VuY1zRpDxDxm3QSbFOtGowmnFg4YtDIpkqyG-faGjNmMp4lb6MxDwr4R4eRulmxGsrl3nkDmNu8hP6AK0Gfh187DjA"),
        ("entra_user_role", "eyJhbGciOiJSUzI1NiIsImtpZCI6ImVudHJhLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUudGVzdC90ZW5hbnQtMS92Mi4wIiwiYXVkIjoibGl0ZWxsbS1wcm94eSIsImlhdCI6MTc2NDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJvaWQiOiJvaWQtOCIsInJvbGVzIjpbIkxpdGVMTE0uVXNlciJdfQ.Wpbue6BXE8lWQaOfrdl-vQiwWaslTWRyeW27SVFCz5qgmTB_dj1s3wfSfyhHBVIdzLqJArDNXj3qgE-SLYpGvlTXWsQPBUf6Kj-Hh3ZpV_S6CxPr19vpHdAWFPiqtOKd45jyTgK6ZWj5OhtkUxIkjJKb0C-6SdcSaHl2c7CEJtAQO6ysrzyD-mp-phH9xH6UVqCWCrvujYc9-7OS1BcIiAus7hAVl8QmcayXqyVbOZNz8gfFoRiaz6Amxajr0hCXEZpbQB0HibD6-SvH-n7bPXVPlkibRrkyhdeoVxOZqAfoZavXAQFuIgLOD3_-19UFJ_RB919KQAlQTQ3l60IZTg"),
    ];
    /// JWKS of issuer https://idp.example.test/realms/acme in jwt_fixtures.sql.
    const ACME_JWKS: &str = r#"{"keys": [{"kty": "RSA", "key_ops": ["verify"], "n": "tCXAGdtzVzusVmY3Cp5TzWUdoQNUAPgzKmncXSrMZyEXDdBec269Ss954A-Q-1pYSI1TujwqksNVQUadHl1Ln0epIL2Bc1hN61tHyG_hEAouugTQScGL2VrUQY3iq2F-VZSxe7Qw3yHYz7vcVqp1qDcMnM8ODN7aRg7zOVva5KkLCYGcrcQSYwZDNTyzOXGoRf9Co38Z6xqGAHAh9qX_GidapNuinAg2yYdCbBxzo2ZzgylSzrJ7YZOPEc6iOX-rJpYLbiljSB9irMTD5Rv9_0jpYqjIz6Buz3S8XrROU_PotEZEH_nmf-7NQeMtWjcOMrN7l-M1_BBdqZKsjB_FJw", "e": "AQAB", "kid": "rsa-1", "alg": "RS256", "use": "sig"}, {"kty": "RSA", "key_ops": ["verify"], "n": "tzgFby1nNM2Hy9Tsezc0fhGyPzoL4OhSS3GSk_XK5SAq0GRSdqhI9rXkszSqKT8AwJNbOgHQX3f1fT9CyuwK8tq93Xztwk6vGUlyhcLiaS6ErCQd9tWsrqUvR0GlHKm5dLpf0A5DXUjoMJHu8BofMF55eDGMtDsxgz_jbdbarITgaLx4qTSOtDdlLA_cLXdILaVtGYhFnGQ2zZsx7Uiy0BnRiL3RFGgPyJpc0RAWs-TKFwc4189SnrYKR082p7h-PanKigzTADJgigTgNgmwkMR6WRJlYqNAYtgThEeXqFRMqr8fJ-lXvyiMcIkroLur8jCoAEM-rNVjWNAZsKhq9w", "e": "AQAB", "kid": "rsa-2", "alg": "RS256", "use": "sig"}, {"kty": "EC", "crv": "P-256", "x": "XoWmN5hO3KEVknIrmJYYa_1eUIHyu82D8nHdtvvtORI", "y": "C4jLGlZGqVs_qoXv3l7GwRm6B3SBZAM2HwG4vCKJu0U", "kid": "ec-1", "alg": "ES256", "use": "sig"}, {"x": "h7lyxQ_zcSTJke2LOMrEVyceeixqk8eRmdRDqAsRV6Q", "kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "alg": "EdDSA", "use": "sig"}]}"#;
    /// JWKS of issuer https://hs.example.test in jwt_fixtures.sql.
    const HS_JWKS: &str = r#"{"keys": [{"kty": "oct", "k": "Y2FzZS1zaGFyZWQtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWYtbm90LWZvci1wcm9kdWN0aW9u", "kid": "hs-1", "alg": "HS256", "use": "sig"}]}"#;
    /// JWKS of issuer https://login.example.test/tenant-1/v2.0 in jwt_fixtures.sql.
    const ENTRA_JWKS: &str = r#"{"keys": [{"kty": "RSA", "key_ops": ["verify"], "n": "tzgFby1nNM2Hy9Tsezc0fhGyPzoL4OhSS3GSk_XK5SAq0GRSdqhI9rXkszSqKT8AwJNbOgHQX3f1fT9CyuwK8tq93Xztwk6vGUlyhcLiaS6ErCQd9tWsrqUvR0GlHKm5dLpf0A5DXUjoMJHu8BofMF55eDGMtDsxgz_jbdbarITgaLx4qTSOtDdlLA_cLXdILaVtGYhFnGQ2zZsx7Uiy0BnRiL3RFGgPyJpc0RAWs-TKFwc4189SnrYKR082p7h-PanKigzTADJgigTgNgmwkMR6WRJlYqNAYtgThEeXqFRMqr8fJ-lXvyiMcIkroLur8jCoAEM-rNVjWNAZsKhq9w", "e": "AQAB", "kid": "entra-1", "alg": "RS256", "use": "sig"}]}"#;

    const ACME: &str = "https://idp.example.test/realms/acme";
    const HS: &str = "https://hs.example.test";
    const ENTRA: &str = "https://login.example.test/tenant-1/v2.0";

    fn fixture(name: &str) -> &'static str {
        FIXTURE_TOKENS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("no fixture {name}"))
    }

    /// `to_jsonb(row)` of a jwt_issuers row: the given columns over the table defaults (sql/001_schema.sql).
    fn row(issuer: &str, jwks: Value, overrides: Value) -> Value {
        let mut row = json!({
            "issuer": issuer, "jwks": jwks, "audiences": ["litellm-proxy"], "leeway_seconds": 0,
            "user_id_claim": "sub", "user_email_claim": "email", "team_id_claim": null, "team_ids_claim": null,
            "org_id_claim": null, "end_user_id_claim": null, "roles_claim": null, "scope_claim": "scope",
            "role_mappings": [], "admin_scope": null, "enforce_rbac": false,
            "admin_allowed_routes": ["management_routes", "spend_tracking_routes", "global_spend_tracking_routes", "info_routes"],
            "created_at": "2026-01-01T00:00:00+00:00"
        });
        for (k, v) in overrides.as_object().unwrap() {
            row[k] = v.clone();
        }
        row
    }

    fn acme_row(jwks: Value) -> Value {
        row(
            ACME,
            jwks,
            json!({"team_ids_claim": "groups", "roles_claim": "realm_access.roles", "admin_scope": "litellm_proxy_admin",
                   "role_mappings": [{"role": "viewer", "internal_role": "internal_user"}, {"role": "admin", "internal_role": "proxy_admin"}]}),
        )
    }

    fn fixture_issuers_with(acme_jwks: Value) -> HashMap<String, Rc<Issuer>> {
        let rows = vec![
            acme_row(acme_jwks),
            row(HS, serde_json::from_str(HS_JWKS).unwrap(), json!({})),
            row(
                ENTRA,
                serde_json::from_str(ENTRA_JWKS).unwrap(),
                json!({"user_id_claim": "oid", "user_email_claim": "preferred_username", "roles_claim": "roles",
                       "role_mappings": [{"role": "LiteLLM.Admin", "internal_role": "proxy_admin"}, {"role": "LiteLLM.User", "internal_role": "internal_user"}]}),
            ),
        ];
        let issuers = issuers_from_rows(rows);
        assert_eq!(issuers.len(), 3);
        issuers
    }

    fn fixture_issuers() -> HashMap<String, Rc<Issuer>> {
        fixture_issuers_with(serde_json::from_str(ACME_JWKS).unwrap())
    }

    fn acme_jwks_without(kid: &str) -> Value {
        let mut jwks: Value = serde_json::from_str(ACME_JWKS).unwrap();
        jwks["keys"]
            .as_array_mut()
            .unwrap()
            .retain(|k| k["kid"] != kid);
        jwks
    }

    fn err_kind(e: &JwtError) -> &'static str {
        match e {
            JwtError::Malformed(_) => "Malformed",
            JwtError::UntrustedIssuer => "UntrustedIssuer",
            JwtError::BadSignature(_) => "BadSignature",
            JwtError::AudienceMismatch => "AudienceMismatch",
            JwtError::Expired => "Expired",
            JwtError::NotYetValid => "NotYetValid",
            JwtError::NotAccessToken(_) => "NotAccessToken",
            JwtError::TenantNotAllowed(_) => "TenantNotAllowed",
        }
    }

    #[test]
    fn unverified_emails_and_admission_rules() {
        assert!(email_is_unverified(&json!({"email_verified": false})));
        assert!(email_is_unverified(&json!({"email_verified": "FALSE"})));
        assert!(!email_is_unverified(&json!({"email_verified": true})));
        assert!(!email_is_unverified(&json!({"email": "a@b.test"})));
        let issuer = Issuer::from_row(&json!({
            "issuer": "https://g.test", "audiences": ["gw"], "jwks": {"keys": []},
            "required_claims": {"hd": ["acme.test"], "groups": ["gw-users"]},
            "allowed_email_domains": ["ACME.test"]
        }))
        .expect("a valid row");
        let claims = json!({"hd": "acme.test", "groups": ["x", "gw-users"]});
        assert_eq!(
            admission_refusal(&issuer, &claims, Some("u@acme.test"), false),
            None
        );
        let foreign = json!({"hd": "evil.test", "groups": ["gw-users"]});
        assert!(
            admission_refusal(&issuer, &foreign, Some("u@acme.test"), false)
                .is_some_and(|m| m.contains("claim hd"))
        );
        assert!(admission_refusal(&issuer, &claims, Some("u@other.test"), false).is_some());
        assert!(admission_refusal(&issuer, &claims, None, true)
            .is_some_and(|m| m.contains("not verified")));
    }

    fn outcome(r: &Result<Rc<JwtPrincipal>, JwtError>) -> &'static str {
        match r {
            Ok(_) => "Ok",
            Err(e) => err_kind(e),
        }
    }

    // --- fixtures of pg_test/fixtures/jwt_fixtures.sql ------------------------------------------------

    #[test]
    fn fixture_issuers_parse_every_key() {
        let issuers = fixture_issuers();
        assert_eq!(issuers[ACME].key_count(), 4);
        assert_eq!(issuers[HS].key_count(), 1);
        assert_eq!(issuers[ENTRA].key_count(), 1);
        assert_eq!(issuers[ACME].role_mappings.len(), 2);
        assert_eq!(
            issuers[ACME].admin_scope.as_deref(),
            Some("litellm_proxy_admin")
        );
        assert_eq!(issuers[ENTRA].admin_scope, None);
        assert_eq!(issuers[HS].admin_allowed_routes.len(), 4);
    }

    #[test]
    fn fixture_tokens_that_verify() {
        forget_verified_tokens();
        let issuers = fixture_issuers();
        let ok = |name: &str| {
            verify(fixture(name), &issuers, NOW).unwrap_or_else(|e| panic!("{name}: {e:?}"))
        };

        let admin = ok("kc_admin");
        assert_eq!(admin.issuer, ACME);
        assert_eq!(admin.user_id.as_deref(), Some("admin-1"));
        assert_eq!(admin.user_email.as_deref(), Some("admin-1@acme.test"));
        assert_eq!(admin.scopes, vec!["openid", "litellm_proxy_admin"]);
        assert!(admin.admin_scope);
        assert_eq!(admin.mapped_role, None);
        assert_eq!(admin.expires_at, 4_102_444_800);
        assert_eq!(admin.not_before, None);
        assert_eq!(admin.admin_allowed_routes.len(), 4);

        let two = ok("kc_user_two_teams");
        assert_eq!(two.user_id.as_deref(), Some("user-1"));
        assert_eq!(two.team_ids, vec!["team-alpha", "team-beta"]);
        assert_eq!(two.team_id, None);
        assert!(!two.admin_scope);

        let no_team = ok("kc_user_no_team");
        assert_eq!(no_team.user_id.as_deref(), Some("user-2"));
        assert_eq!(no_team.subject.as_deref(), Some("user-2"));
        assert!(no_team.team_ids.is_empty());
        assert_eq!(no_team.mapped_role, None);

        let viewer_admin = ok("kc_roles_viewer_admin");
        assert_eq!(viewer_admin.roles, vec!["viewer", "admin"]);
        assert_eq!(
            viewer_admin.mapped_role.map(Role::name),
            Some("proxy_admin")
        );
        assert!(!viewer_admin.admin_scope);
        assert_eq!(
            ok("kc_roles_viewer").mapped_role.map(Role::name),
            Some("internal_user")
        );
        let unmapped = ok("kc_roles_unmapped");
        assert_eq!(unmapped.roles, vec!["guest"]);
        assert_eq!(unmapped.mapped_role, None);

        for name in [
            "kc_rotated_key",
            "kc_es256",
            "kc_eddsa",
            "kc_no_kid",
            "kc_audience_list",
            "hs_user",
        ] {
            assert_eq!(ok(name).user_id.as_deref(), Some("user-2"), "{name}");
        }

        // The HS issuer has no admin scope: its `litellm_proxy_admin` scope grants nothing (docs/semantics.md §11.2).
        let hs_admin = ok("hs_admin_scope");
        assert_eq!(hs_admin.user_id.as_deref(), Some("user-9"));
        assert_eq!(hs_admin.scopes, vec!["litellm_proxy_admin"]);
        assert!(!hs_admin.admin_scope);

        let entra_admin = ok("entra_admin_role");
        assert_eq!(entra_admin.issuer, ENTRA);
        assert_eq!(entra_admin.user_id.as_deref(), Some("oid-7"));
        assert_eq!(entra_admin.user_email.as_deref(), Some("user-7@acme.test"));
        assert_eq!(entra_admin.mapped_role.map(Role::name), Some("proxy_admin"));
        assert!(
            !entra_admin.admin_scope,
            "Entra's scp is not its scope claim and its admin_scope is NULL"
        );
        let entra_user = ok("entra_user_role");
        assert_eq!(entra_user.user_id.as_deref(), Some("oid-8"));
        assert_eq!(entra_user.user_email, None);
        assert_eq!(
            entra_user.mapped_role.map(Role::name),
            Some("internal_user")
        );
    }

    #[test]
    fn fixture_tokens_that_fail() {
        let issuers = fixture_issuers();
        let expected = [
            ("kc_expired", "Expired"),
            ("kc_not_yet_valid", "NotYetValid"),
            ("kc_wrong_audience", "AudienceMismatch"),
            ("untrusted_issuer_admin", "UntrustedIssuer"),
            ("kc_unknown_kid", "BadSignature"),
            ("kc_signed_by_stranger", "BadSignature"),
            ("kc_tampered", "BadSignature"),
            ("kc_alg_none", "Malformed"),
            ("kc_alg_confusion", "BadSignature"),
        ];
        for (name, kind) in expected {
            forget_verified_tokens();
            let result = verify(fixture(name), &issuers, NOW);
            assert_eq!(
                outcome(&result),
                kind,
                "{name}: {:?}",
                result.as_ref().err()
            );
        }
        assert_eq!(
            verify(fixture("kc_expired"), &issuers, NOW)
                .unwrap_err()
                .reason_code(),
            "token_expired"
        );
        assert_eq!(
            verify(fixture("kc_alg_confusion"), &issuers, NOW)
                .unwrap_err()
                .reason_code(),
            "invalid_token"
        );
        // 05_jwt.sql: left(token, 60) is a truncated token.
        let truncated: String = fixture("kc_user_no_team").chars().take(60).collect();
        assert!(matches!(
            verify(&truncated, &issuers, NOW),
            Err(JwtError::Malformed(_))
        ));
        // Every fixture is accounted for.
        assert_eq!(FIXTURE_TOKENS.len(), 24);
    }

    #[test]
    fn removed_key_stops_verifying_at_once() {
        forget_verified_tokens();
        let before = fixture_issuers();
        let rotated = fixture("kc_rotated_key");
        assert!(verify(rotated, &before, NOW).is_ok());
        assert!(
            verify(rotated, &before, NOW).is_ok(),
            "served from the cache"
        );
        let after = fixture_issuers_with(acme_jwks_without("rsa-2"));
        assert_eq!(after[ACME].key_count(), 3);
        // Even without forget_verified_tokens(), the new issuer map invalidates the cached verification...
        let e = verify(rotated, &after, NOW).unwrap_err();
        assert!(
            matches!(e, JwtError::BadSignature(ref m) if m.contains("unknown kid")),
            "{e:?}"
        );
        // ...and with it (what the lead calls on every jwt_issuers change) too.
        assert!(verify(rotated, &before, NOW).is_ok());
        forget_verified_tokens();
        assert!(matches!(
            verify(rotated, &after, NOW),
            Err(JwtError::BadSignature(_))
        ));
        // The other keys still verify.
        assert!(verify(fixture("kc_user_no_team"), &after, NOW).is_ok());
        // A removed issuer is untrusted at once, cached or not.
        assert!(verify(fixture("hs_user"), &before, NOW).is_ok());
        let mut without_hs = before.clone();
        without_hs.remove(HS);
        assert_eq!(
            verify(fixture("hs_user"), &without_hs, NOW).unwrap_err(),
            JwtError::UntrustedIssuer
        );
    }

    #[test]
    fn role_mapping_order_does_not_matter() {
        // docs/semantics.md §11.5: the most privileged mapped role wins whatever the mapping order.
        let mut reversed = acme_row(serde_json::from_str(ACME_JWKS).unwrap());
        reversed["role_mappings"] = json!([
            {"role": "admin", "internal_role": "proxy_admin"},
            {"role": "viewer", "internal_role": "internal_user"},
            {"role": "viewer", "internal_role": "not_a_role"},
            {"role": "guest"}
        ]);
        let issuer = Issuer::from_row(&reversed).unwrap();
        assert_eq!(
            issuer.role_mappings.len(),
            2,
            "invalid internal roles and incomplete entries are dropped"
        );
        let issuers = issuers_from_rows(vec![reversed]);
        forget_verified_tokens();
        let p = verify(fixture("kc_roles_viewer_admin"), &issuers, NOW).unwrap();
        assert_eq!(p.mapped_role.map(Role::name), Some("proxy_admin"));
        let ranked = vec![
            ("customer".to_string(), Role::Customer),
            ("team".to_string(), Role::Team),
            ("viewer".to_string(), Role::ProxyAdminViewer),
            ("org".to_string(), Role::OrgAdmin),
        ];
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            most_privileged_mapping(&ranked, &roles(&["customer", "org", "team"])).map(Role::name),
            Some("org_admin")
        );
        assert_eq!(
            most_privileged_mapping(&ranked, &roles(&["team", "viewer"])).map(Role::name),
            Some("proxy_admin_viewer")
        );
        assert_eq!(
            most_privileged_mapping(&ranked, &roles(&["customer"])).map(Role::name),
            Some("customer")
        );
        assert_eq!(most_privileged_mapping(&ranked, &roles(&["nobody"])), None);
    }

    // --- cache ---------------------------------------------------------------------------------------

    #[test]
    fn cache_hits_still_check_time() {
        forget_verified_tokens();
        let issuers = fixture_issuers();
        let token = fixture("kc_user_no_team");
        let first = verify(token, &issuers, NOW).unwrap();
        assert!(verified_token_count() >= 1);
        let second = verify(token, &issuers, NOW).unwrap();
        assert!(Rc::ptr_eq(&first, &second), "second call is a cache hit");
        assert_eq!(verify(token, &issuers, 4_102_444_799).map(|_| ()), Ok(()));
        assert_eq!(
            verify(token, &issuers, 4_102_444_800).unwrap_err(),
            JwtError::Expired
        );
        assert_eq!(
            verify(token, &issuers, 4_102_444_800).unwrap_err(),
            JwtError::Expired,
            "also after eviction"
        );
        forget_verified_tokens();
        assert_eq!(verified_token_count(), 0);
    }

    #[test]
    fn cache_is_bounded() {
        forget_verified_tokens();
        let secret = b"cache-test-secret-0123456789abcdef-0123456789";
        let row = row(
            "https://cache.example.test",
            json!({"keys": [{"kty": "oct", "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret), "alg": "HS256"}]}),
            json!({}),
        );
        let issuers = issuers_from_rows(vec![row]);
        let key = jsonwebtoken::EncodingKey::from_secret(secret).unwrap();
        let header = jsonwebtoken::Header::new(Algorithm::HS256);
        let mut first = String::new();
        for i in 0..(VERIFIED_CACHE_CAPACITY + 500) {
            let claims = json!({"iss": "https://cache.example.test", "aud": "litellm-proxy", "exp": 4_102_444_800i64, "sub": format!("u{i}")});
            let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
            if i == 0 {
                first = token.clone();
            }
            let p = verify(&token, &issuers, NOW).unwrap();
            assert_eq!(p.user_id, Some(format!("u{i}")));
            assert!(verified_token_count() <= VERIFIED_CACHE_CAPACITY);
            if i % 7 == 0 {
                // Keep the first token recently used: LRU keeps it.
                assert!(verify(&first, &issuers, NOW).is_ok());
            }
        }
        assert!(verified_token_count() > VERIFIED_CACHE_CAPACITY / 2);
        forget_verified_tokens();
    }

    // --- RFC 7515 Appendix A -----------------------------------------------------------------------

    /// The payload of A.1-A.3 and A.5: `{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}`.
    const RFC_PAYLOAD: &str =
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    const RFC_A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_A1_JWK: &str = r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
    const RFC_A2_TOKEN: &str = concat!(
        "eyJhbGciOiJSUzI1NiJ9.",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
        "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
        "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
        "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
        "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
        "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
        "p0igcN_IoypGlUPQGe77Rw"
    );
    const RFC_A2_JWK: &str = concat!(
        r#"{"kty":"RSA","e":"AQAB","n":""#,
        "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWv",
        "G6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9",
        "kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
        r#""}"#
    );
    const RFC_A3_TOKEN: &str = concat!(
        "eyJhbGciOiJFUzI1NiJ9.",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    );
    const RFC_A3_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    /// A.4: ES512 over the payload "Payload" (not JSON).
    const RFC_A4_TOKEN: &str = concat!(
        "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.",
        "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq",
        "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp",
        "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"
    );
    const RFC_A4_JWK: &str = r#"{"kty":"EC","crv":"P-521","x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk","y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}"#;
    /// Ten seconds before the `exp` (1300819380) of the RFC 7515 examples.
    const RFC_NOW: i64 = 1_300_819_370;

    fn rfc_issuer(jwk: &str) -> Issuer {
        let jwk: Value = serde_json::from_str(jwk).unwrap();
        Issuer::from_row(&row("joe", json!({"keys": [jwk]}), json!({}))).unwrap()
    }

    fn assert_rfc_payload(payload: &Value) {
        assert_eq!(payload["iss"], "joe");
        assert_eq!(payload["exp"], 1_300_819_380);
        assert_eq!(payload["http://example.com/is_root"], true);
        assert_eq!(
            claim_at(payload, "http://example.com/is_root"),
            Some(&Value::Bool(true))
        );
    }

    #[test]
    fn rfc7515_a1_hs256() {
        let issuer = rfc_issuer(RFC_A1_JWK);
        assert_eq!(issuer.key_count(), 1);
        assert_rfc_payload(&verify_signature(RFC_A1_TOKEN, &issuer).unwrap());
        // Through verify(): iss and signature pass; the RFC token has no aud, so the audience check refuses it.
        let issuers = HashMap::from([("joe".to_string(), Rc::new(issuer))]);
        assert_eq!(
            verify(RFC_A1_TOKEN, &issuers, RFC_NOW).unwrap_err(),
            JwtError::AudienceMismatch
        );
    }

    #[test]
    fn rfc7515_a2_rs256() {
        let issuer = rfc_issuer(RFC_A2_JWK);
        assert_eq!(issuer.key_count(), 1);
        assert_rfc_payload(&verify_signature(RFC_A2_TOKEN, &issuer).unwrap());
        let issuers = HashMap::from([("joe".to_string(), Rc::new(issuer))]);
        assert_eq!(
            verify(RFC_A2_TOKEN, &issuers, RFC_NOW).unwrap_err(),
            JwtError::AudienceMismatch
        );
        // Keyed with A.1's HMAC key instead, the same call stops at the signature: so AudienceMismatch above means
        // iss and signature passed.
        let hs = HashMap::from([("joe".to_string(), Rc::new(rfc_issuer(RFC_A1_JWK)))]);
        assert!(matches!(
            verify(RFC_A2_TOKEN, &hs, RFC_NOW),
            Err(JwtError::BadSignature(_))
        ));
        // ...and the wrong key family is refused: A.2's RSA key does not verify A.1 (HS256) and vice versa.
        assert!(matches!(
            verify_signature(RFC_A1_TOKEN, &rfc_issuer(RFC_A2_JWK)),
            Err(JwtError::BadSignature(_))
        ));
        assert!(matches!(
            verify_signature(RFC_A2_TOKEN, &rfc_issuer(RFC_A1_JWK)),
            Err(JwtError::BadSignature(_))
        ));
    }

    #[test]
    fn rfc7515_a3_es256() {
        let issuer = rfc_issuer(RFC_A3_JWK);
        assert_eq!(issuer.key_count(), 1);
        assert_rfc_payload(&verify_signature(RFC_A3_TOKEN, &issuer).unwrap());
        let issuers = HashMap::from([("joe".to_string(), Rc::new(issuer))]);
        assert_eq!(
            verify(RFC_A3_TOKEN, &issuers, RFC_NOW).unwrap_err(),
            JwtError::AudienceMismatch
        );
        // A flipped signature byte fails.
        let mut bad = RFC_A3_TOKEN.to_string();
        let at = bad.len() - 10;
        let flipped = if &bad[at..at + 1] == "A" { "B" } else { "A" };
        bad.replace_range(at..at + 1, flipped);
        assert!(matches!(
            verify_signature(&bad, &rfc_issuer(RFC_A3_JWK)),
            Err(JwtError::BadSignature(_))
        ));
    }

    #[test]
    fn rfc7515_a4_es512_is_unsupported() {
        // jsonwebtoken has no P-521/ES512: the key is skipped at load, and the token is refused (its payload
        // "Payload" is not JSON either, which is caught first).
        let issuer = rfc_issuer(RFC_A4_JWK);
        assert_eq!(issuer.key_count(), 0);
        assert!(matches!(
            verify_signature(RFC_A4_TOKEN, &issuer),
            Err(JwtError::Malformed(_) | JwtError::BadSignature(_))
        ));
        // Same header and signature over a JSON payload: refused as an unsupported algorithm.
        let parts: Vec<&str> = RFC_A4_TOKEN.split('.').collect();
        let json_payload = format!("{}.{}.{}", parts[0], RFC_PAYLOAD, parts[2]);
        let e = verify_signature(&json_payload, &issuer).unwrap_err();
        assert!(
            matches!(e, JwtError::BadSignature(ref m) if m.contains("ES512")),
            "{e:?}"
        );
    }

    #[test]
    fn rfc7515_a5_unsecured_is_refused() {
        let token = format!("eyJhbGciOiJub25lIn0.{RFC_PAYLOAD}.");
        for jwk in [RFC_A1_JWK, RFC_A2_JWK, RFC_A3_JWK] {
            assert!(matches!(
                verify_signature(&token, &rfc_issuer(jwk)),
                Err(JwtError::Malformed(_))
            ));
        }
        let issuers = HashMap::from([("joe".to_string(), Rc::new(rfc_issuer(RFC_A1_JWK)))]);
        let e = verify(&token, &issuers, RFC_NOW).unwrap_err();
        assert!(
            matches!(e, JwtError::Malformed(ref m) if m.contains("none")),
            "{e:?}"
        );
        assert_eq!(e.reason_code(), "invalid_token");
    }

    // --- vectors generated by scripts/gen_jwt_cases.py (PyJWT + cryptography) ------------------------------

    #[test]
    fn generated_vectors_every_algorithm_and_attack() {
        let doc: Value = serde_json::from_str(include_str!("jwt_test_vectors.json")).unwrap();
        let now = doc["now"].as_i64().unwrap();
        let issuers = issuers_from_rows(doc["issuers"].as_array().unwrap().iter().cloned());
        assert_eq!(issuers.len(), 3);
        let mut verified_algs = HashSet::new();
        let mut failures = Vec::new();
        let cases = doc["cases"].as_array().unwrap();
        assert!(cases.len() >= 60);
        for pass in 0..2 {
            // Second pass: the cache must give the same answers.
            for case in cases {
                let name = case["name"].as_str().unwrap();
                let token = case["token"].as_str().unwrap();
                let result = verify(token, &issuers, now);
                let got = outcome(&result);
                if got != case["expect"].as_str().unwrap() {
                    failures.push(format!(
                        "pass {pass} {name}: expected {} got {got} {:?}",
                        case["expect"],
                        result.as_ref().err()
                    ));
                    continue;
                }
                let reason = match &result {
                    Ok(_) => "ok",
                    Err(e) => e.reason_code(),
                };
                assert_eq!(reason, case["reason"].as_str().unwrap(), "{name}");
                if let Ok(p) = &result {
                    verified_algs.insert(case["alg"].as_str().unwrap().to_string());
                    if let Some(user) = case.get("user_id").and_then(Value::as_str) {
                        assert_eq!(p.user_id.as_deref(), Some(user), "{name}");
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        for alg in [
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
            "HS256", "HS384", "HS512",
        ] {
            assert!(verified_algs.contains(alg), "no verified {alg} token");
        }
        let algs_issuer = &issuers["https://algs.example.test"];
        assert_eq!(
            algs_issuer.key_count(),
            12,
            "the enc key, the short HMAC secret and the P-521 key are skipped"
        );
        forget_verified_tokens();
    }

    #[test]
    fn generated_leeway_nbf_is_rechecked_on_cache_hits() {
        forget_verified_tokens();
        let doc: Value = serde_json::from_str(include_str!("jwt_test_vectors.json")).unwrap();
        let now = doc["now"].as_i64().unwrap();
        let issuers = issuers_from_rows(doc["issuers"].as_array().unwrap().iter().cloned());
        let token = doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "leeway_nbf_in_60s")
            .unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let p = verify(&token, &issuers, now).unwrap();
        assert_eq!(p.not_before, Some(now + 60));
        assert_eq!(
            verify(&token, &issuers, now - 1).unwrap_err(),
            JwtError::NotYetValid,
            "cache hit, earlier clock"
        );
        assert!(
            verify(&token, &issuers, now).is_ok(),
            "still cached after a not-yet-valid answer"
        );
        forget_verified_tokens();
    }

    // --- claims → principal ------------------------------------------------------------------------------

    const CLAIMS_ISS: &str = "https://claims.example.test";
    const CLAIMS_SECRET: &[u8] = b"claims-test-secret-0123456789abcdef";

    fn claims_issuers(overrides: Value) -> HashMap<String, Rc<Issuer>> {
        let jwks = json!({"keys": [{"kty": "oct", "kid": "k1", "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(CLAIMS_SECRET)}]});
        issuers_from_rows(vec![row(CLAIMS_ISS, jwks, overrides)])
    }

    fn claims_token(mut claims: Value) -> String {
        let obj = claims.as_object_mut().unwrap();
        obj.entry("iss").or_insert(json!(CLAIMS_ISS));
        obj.entry("aud").or_insert(json!("litellm-proxy"));
        obj.entry("exp").or_insert(json!(4_102_444_800i64));
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some("k1".to_string());
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(CLAIMS_SECRET).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn claims_resolve_through_issuer_paths() {
        forget_verified_tokens();
        let issuers = claims_issuers(json!({
            "user_id_claim": "ids.user", "user_email_claim": "mail", "team_id_claim": "teams",
            "team_ids_claim": "groups", "org_id_claim": "org", "end_user_id_claim": "customer",
            "roles_claim": "resource_access.my-client.roles", "scope_claim": "scp", "admin_scope": "proxy.admin",
            "enforce_rbac": true, "admin_allowed_routes": ["/team/new"],
            "role_mappings": [{"role": "team-role", "internal_role": "team"}, {"role": "org-role", "internal_role": "org_admin"}]
        }));
        let token = claims_token(json!({
            "sub": 42, "ids": {"user": 1234}, "mail": "a@b.test", "teams": ["t-first", "t-second"],
            "groups": ["g1", 7, "g1", {"x": 1}, "g2"], "org": "o-1", "customer": "c-1",
            "resource_access": {"my-client": {"roles": ["team-role", "org-role"]}},
            "scp": ["read", "proxy.admin write"], "nbf": 1_700_000_000.5, "exp": 4_102_444_800.9
        }));
        let p = verify(&token, &issuers, NOW).unwrap();
        assert_eq!(p.issuer, CLAIMS_ISS);
        assert_eq!(p.subject.as_deref(), Some("42"));
        assert_eq!(p.user_id.as_deref(), Some("1234"));
        assert_eq!(p.user_email.as_deref(), Some("a@b.test"));
        assert_eq!(p.team_id.as_deref(), Some("t-first"));
        assert_eq!(p.team_ids, vec!["g1", "7", "g2"]);
        assert_eq!(p.organization_id.as_deref(), Some("o-1"));
        assert_eq!(p.end_user_id.as_deref(), Some("c-1"));
        assert_eq!(p.roles, vec!["team-role", "org-role"]);
        assert_eq!(p.mapped_role.map(Role::name), Some("org_admin"));
        assert_eq!(p.scopes, vec!["read", "proxy.admin", "write"]);
        assert!(p.admin_scope);
        assert!(p.enforce_rbac);
        assert_eq!(p.admin_allowed_routes, vec!["/team/new"]);
        assert_eq!(p.expires_at, 4_102_444_800);
        assert_eq!(p.not_before, Some(1_700_000_001));

        // Single strings where lists are allowed; a user id claim column left NULL uses the email (LiteLLM).
        let issuers = claims_issuers(
            json!({"user_id_claim": null, "team_id_claim": "team", "team_ids_claim": "groups", "roles_claim": "role"}),
        );
        let token = claims_token(
            json!({"sub": "s", "email": "e@x.test", "team": "t-1", "groups": "g-only", "role": "r", "scope": "a  b"}),
        );
        let p = verify(&token, &issuers, NOW).unwrap();
        assert_eq!(p.user_id.as_deref(), Some("e@x.test"));
        assert_eq!(p.team_id.as_deref(), Some("t-1"));
        assert_eq!(p.team_ids, vec!["g-only"]);
        assert_eq!(p.roles, vec!["r"]);
        assert_eq!(p.scopes, vec!["a", "b"]);
        assert!(
            !p.admin_scope,
            "no admin_scope configured: no scope grants admin"
        );
        assert_eq!(p.mapped_role, None);
        assert!(!p.enforce_rbac);

        // Missing, empty and odd claim values are absent.
        let token = claims_token(
            json!({"sub": "", "email": true, "team": [], "groups": {"a": 1}, "role": null}),
        );
        let p = verify(&token, &issuers, NOW).unwrap();
        assert_eq!(
            (
                p.subject.clone(),
                p.user_id.clone(),
                p.user_email.clone(),
                p.team_id.clone()
            ),
            (None, None, None, None)
        );
        assert!(p.team_ids.is_empty() && p.roles.is_empty() && p.scopes.is_empty());
        forget_verified_tokens();
    }

    // --- identity-provider shapes: tenants, groups, several role claims, overage, inspect -------------------

    fn claims_jwks() -> Value {
        json!({"keys": [{"kty": "oct", "kid": "k1", "k": URL_SAFE_NO_PAD.encode(CLAIMS_SECRET)}]})
    }

    #[test]
    fn issuer_templates_admit_listed_tenants_only() {
        forget_verified_tokens();
        let template = "https://login.example.test/{tenantid}/v2.0";
        let issuers = issuers_from_rows(vec![
            row(
                template,
                claims_jwks(),
                json!({"allowed_tenants": ["T-1", "t-2"], "user_id_claim": "oid"}),
            ),
            row(
                "https://login.example.test/t-3/v2.0",
                claims_jwks(),
                json!({}),
            ),
            row(
                "https://sts.example.test/{tenantid}/",
                claims_jwks(),
                json!({"allowed_tenants": ["*"]}),
            ),
        ]);
        let token = |iss: &str, tid: Option<&str>| {
            let mut claims = json!({"iss": iss, "oid": "o-1", "sub": "s-1"});
            if let Some(tid) = tid {
                claims["tid"] = json!(tid);
            }
            claims_token(claims)
        };
        let p = verify(
            &token("https://login.example.test/t-1/v2.0", Some("t-1")),
            &issuers,
            NOW,
        )
        .expect("an allowed tenant (case-insensitive)");
        assert_eq!(p.issuer, template);
        assert_eq!(p.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(p.user_id.as_deref(), Some("o-1"));
        let refused = |t: String| verify(&t, &issuers, NOW).map(|_| ()).unwrap_err();
        let foreign = refused(token("https://login.example.test/t-9/v2.0", Some("t-9")));
        assert!(matches!(&foreign, JwtError::TenantNotAllowed(m) if m.contains("t-9")));
        assert_eq!(foreign.reason_code(), "untrusted_issuer");
        assert!(matches!(
            refused(token("https://login.example.test/t-1/v2.0", Some("t-2"))),
            JwtError::TenantNotAllowed(_)
        ));
        assert!(matches!(
            refused(token("https://login.example.test/t-1/v2.0", None)),
            JwtError::TenantNotAllowed(_)
        ));
        assert_eq!(
            refused(token(
                "https://login.example.test/{tenantid}/v2.0",
                Some("{tenantid}")
            )),
            JwtError::UntrustedIssuer
        );
        assert_eq!(
            refused(token(
                "https://login.example.test/t-1/x/v2.0",
                Some("t-1/x")
            )),
            JwtError::UntrustedIssuer
        );
        // an exact row wins over the template, with its own settings (user id from sub)
        let exact = verify(
            &token("https://login.example.test/t-3/v2.0", None),
            &issuers,
            NOW,
        )
        .expect("exact row");
        assert_eq!(exact.tenant_id, None);
        assert_eq!(exact.user_id.as_deref(), Some("s-1"));
        // '*' admits every tenant, still with a matching tid
        let any = verify(
            &token("https://sts.example.test/any-tenant/", Some("ANY-TENANT")),
            &issuers,
            NOW,
        )
        .expect("any tenant");
        assert_eq!(any.tenant_id.as_deref(), Some("any-tenant"));
    }

    #[test]
    fn group_mappings_team_prefix_and_several_role_paths() {
        forget_verified_tokens();
        let issuers = claims_issuers(json!({
            "team_ids_claim": "groups", "team_id_claim": "team", "team_prefix": "/acme/",
            "group_mappings": {"/ops": "platform"},
            "roles_claim": "realm_access.roles, resource_access.gw.roles",
            "role_mappings": [{"role": "admin", "internal_role": "proxy_admin"}, {"role": "user", "internal_role": "internal_user"}]
        }));
        let p = verify(
            &claims_token(json!({
                "sub": "u-1", "groups": ["/acme/finance", "/other/x", "/ops", "/acme/", "/acme/finance"],
                "team": ["/x", "/acme/research"],
                "realm_access": {"roles": ["user", "offline_access"]},
                "resource_access": {"gw": {"roles": ["admin", "user"]}}
            })),
            &issuers,
            NOW,
        )
        .expect("verifies");
        assert_eq!(p.team_ids, vec!["finance", "platform"]);
        assert_eq!(p.team_id.as_deref(), Some("research"));
        assert_eq!(p.roles, vec!["user", "offline_access", "admin"]);
        assert_eq!(p.mapped_role, Some(Role::ProxyAdmin));
        // without mapping rules every value is a team id, as before
        let plain = claims_issuers(json!({"team_ids_claim": "groups"}));
        let q = verify(
            &claims_token(json!({"sub": "u-2", "groups": ["/acme/finance", "Everyone"]})),
            &plain,
            NOW,
        )
        .unwrap();
        assert_eq!(q.team_ids, vec!["/acme/finance", "Everyone"]);
    }

    #[test]
    fn claim_path_lists() {
        assert_eq!(split_claim_paths("a.b, c"), vec!["a.b", "c"]);
        assert_eq!(split_claim_paths(r"x\,y,z"), vec!["x,y", "z"]);
        assert_eq!(
            split_claim_paths(r"https://x\.test/roles"),
            vec![r"https://x\.test/roles"]
        );
        assert!(split_claim_paths(" , ,").is_empty());
    }

    #[test]
    fn groups_overage_is_seen() {
        forget_verified_tokens();
        let issuers = claims_issuers(json!({"team_ids_claim": "groups", "roles_claim": "roles"}));
        let p = |claims: Value| verify(&claims_token(claims), &issuers, NOW).unwrap();
        let over = p(json!({"sub": "u", "_claim_names": {"groups": "src1"},
                            "_claim_sources": {"src1": {"endpoint": "https://graph.example.test/v1.0/users/u/getMemberObjects"}}}));
        assert!(over.teams_overage && !over.roles_overage);
        assert!(over.team_ids.is_empty());
        assert!(p(json!({"sub": "u2", "hasgroups": true})).teams_overage);
        assert!(
            !p(json!({"sub": "u3", "groups": ["g"], "_claim_names": {"groups": "s"}}))
                .teams_overage
        );
        assert!(!p(json!({"sub": "u4"})).teams_overage);
        let roles_from_groups = claims_issuers(json!({"roles_claim": "groups"}));
        let r = verify(
            &claims_token(json!({"sub": "u5", "_claim_names": {"groups": "src1"}})),
            &roles_from_groups,
            NOW,
        )
        .unwrap();
        assert!(r.roles_overage && !r.teams_overage);
    }

    #[test]
    fn inspect_explains_without_key_material() {
        forget_verified_tokens();
        let issuers = claims_issuers(json!({
            "user_id_claim": "oid", "team_ids_claim": "groups", "team_prefix": "gw-",
            "roles_claim": "roles, missing.path", "required_claims": {"hd": ["acme.test"]}
        }));
        let token = claims_token(json!({
            "oid": "o-1", "groups": ["gw-finance", "Everyone"], "roles": ["r"], "hd": "evil.test",
            "email": "a@acme.test", "email_verified": false, "exp": NOW - 10
        }));
        let report = inspect(&token, &issuers, NOW);
        let text = report.to_string();
        let secret = URL_SAFE_NO_PAD.encode(CLAIMS_SECRET);
        let signature = token.rsplit('.').next().unwrap();
        assert!(!text.contains(&secret), "no key material");
        assert!(!text.contains(signature), "no signature");
        assert_eq!(report["verified"], json!(false));
        assert_eq!(report["refusal"]["reason"], json!("token_expired"));
        assert_eq!(report["issuer"]["matched"], json!("exact"));
        assert_eq!(report["key"]["kid"], json!("k1"));
        assert_eq!(report["key"]["type"], json!("oct"));
        // claims are explained although a later check fails
        assert_eq!(report["resolved"]["user_id"], json!("o-1"));
        assert_eq!(
            report["resolved"]["groups"],
            json!([{"value": "gw-finance", "team": "finance"}, {"value": "Everyone", "team": null}])
        );
        assert_eq!(report["resolved"]["team_candidates"], json!(["finance"]));
        assert!(report["admission"]["refusal"]
            .as_str()
            .is_some_and(|m| m.contains("claim hd")));
        let warnings = report["warnings"].to_string();
        assert!(warnings.contains("missing.path") && warnings.contains("matches nothing"));
        assert!(warnings.contains("email_verified is false"));
        assert!(warnings.contains("1 of the token's 2 team-claim values name no team"));
        let steps: Vec<&str> = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            vec![
                "structure",
                "issuer",
                "signature",
                "tenant",
                "audience",
                "time"
            ]
        );
        // a bad signature: no claims are explained
        let tampered = format!("{}x", &token[..token.len() - 1]);
        let bad = inspect(&tampered, &issuers, NOW);
        assert_eq!(bad["refusal"]["reason"], json!("invalid_token"));
        assert!(bad.get("claims").is_none() && bad.get("resolved").is_none());
        assert_eq!(
            inspect("a.b.c", &issuers, NOW)["steps"][0]["step"],
            json!("structure")
        );
    }

    #[test]
    fn issuer_rows_that_cannot_work() {
        let problem = |overrides: Value| {
            issuer_row_problem(&row(
                "https://iss.example.test",
                json!({"keys": []}),
                overrides,
            ))
        };
        assert_eq!(problem(json!({})), None);
        let enc_only = json!({"keys": [{"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}]});
        assert!(problem(json!({"jwks": enc_only})).is_some_and(|m| m.contains("none of its 1 key")));
        let private =
            json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "secret"}]});
        assert!(problem(json!({"jwks": private})).is_some_and(|m| m.contains("private member")));
        assert!(
            problem(json!({"jwks": serde_json::from_str::<Value>(HS_JWKS).unwrap()})).is_none()
        );
        assert!(problem(json!({"team_ids_claim": "groups."}))
            .is_some_and(|m| m.contains("team_ids_claim")));
        assert!(problem(json!({"user_id_claim": " sub"})).is_some());
        assert!(
            problem(json!({"user_id_claim": ""})).is_none(),
            "empty = NULL"
        );
        assert!(problem(json!({"roles_claim": "realm_access.roles,,x"})).is_none());
        assert!(problem(json!({"roles_claim": ","})).is_some());
        assert!(problem(json!({"roles_claim": "a..b, c"})).is_some());
        assert!(problem(json!({"required_claims": {".hd": [1]}})).is_some());
        assert!(problem(json!({"allowed_tenants": ["t"]}))
            .is_some_and(|m| m.contains("only to an issuer template")));
        assert!(problem(json!({"group_mappings": {"g": ""}})).is_some());
        assert!(problem(json!({"group_mappings": {"g": "t"}})).is_none());
        let template = |issuer: &str, tenants: Value| {
            issuer_row_problem(&row(
                issuer,
                json!({"keys": []}),
                json!({"allowed_tenants": tenants}),
            ))
        };
        let entra = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert_eq!(
            template(entra, json!(["9188040d-6c67-4c5b-b112-36a304b66dad"])),
            None
        );
        assert_eq!(template(entra, json!(["*"])), None);
        assert!(template(entra, json!(null)).is_some_and(|m| m.contains("must list")));
        assert!(template(entra, json!(["a/b"])).is_some());
        assert!(template("https://{tenantid}.example.test/", json!(["*"])).is_some());
        assert!(template("https://x.test/{tenantid}x/", json!(["*"])).is_some());
        assert!(template("https://x.test/{tenantid}/{tenantid}", json!(["*"])).is_some());
        assert!(template("https://sts.windows.net/{tenantid}/", json!(["t"])).is_none());
    }

    #[test]
    fn claim_order_of_checks() {
        // docs/semantics.md §4: malformed, issuer, signature, audience, exp, nbf — the first failure wins.
        forget_verified_tokens();
        let issuers = claims_issuers(json!({"leeway_seconds": 30}));
        let check = |claims: Value| outcome(&verify(&claims_token(claims), &issuers, NOW));
        assert_eq!(
            check(json!({"iss": "https://other.test", "aud": "x", "exp": 1})),
            "UntrustedIssuer"
        );
        assert_eq!(check(json!({"iss": 5})), "UntrustedIssuer");
        assert_eq!(
            check(json!({"aud": "x", "exp": 1, "nbf": 4_000_000_000i64})),
            "AudienceMismatch"
        );
        assert_eq!(check(json!({"aud": ["x", 3]})), "AudienceMismatch");
        assert_eq!(check(json!({"aud": 3})), "AudienceMismatch");
        assert_eq!(check(json!({"aud": null})), "AudienceMismatch");
        assert_eq!(check(json!({"aud": ["x", "litellm-proxy"]})), "Ok");
        assert_eq!(
            check(json!({"exp": NOW - 31, "nbf": 4_000_000_000i64})),
            "Expired"
        );
        assert_eq!(check(json!({"exp": NOW - 30})), "Expired");
        assert_eq!(check(json!({"exp": NOW - 29})), "Ok");
        assert_eq!(check(json!({"nbf": NOW + 30})), "Ok");
        assert_eq!(check(json!({"nbf": NOW + 31})), "NotYetValid");
        assert_eq!(check(json!({"exp": "4102444800"})), "Malformed");
        assert_eq!(check(json!({"exp": null})), "Malformed");
        assert_eq!(check(json!({"exp": [1]})), "Malformed");
        assert_eq!(check(json!({"exp": {"at": 1}})), "Malformed");
        assert_eq!(check(json!({"sub": ["x"]})), "Malformed");
        assert_eq!(check(json!({"nbf": [0]})), "Malformed");
        assert_eq!(check(json!({"nbf": "0"})), "Malformed");
        assert_eq!(check(json!({"exp": 1e300})), "Ok");
        assert_eq!(check(json!({"exp": 18_446_744_073_709_551_615u64})), "Ok");
        assert_eq!(check(json!({"exp": -1e300})), "Expired");
        assert_eq!(check(json!({"exp": i64::MAX, "nbf": i64::MIN})), "Ok");
        let token = {
            let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
            header.kid = Some("k1".to_string());
            let claims = json!({"iss": CLAIMS_ISS, "aud": "litellm-proxy"});
            jsonwebtoken::encode(
                &header,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(CLAIMS_SECRET).unwrap(),
            )
            .unwrap()
        };
        assert!(
            matches!(verify(&token, &issuers, NOW), Err(JwtError::Malformed(ref m)) if m.contains("exp"))
        );
        forget_verified_tokens();
    }

    // --- robustness -------------------------------------------------------------------------------------

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn nul_in_claims_is_malformed() {
        assert!(has_nul(br#"{"sub":"carol\u0000"}"#));
        assert!(!has_nul(br#"{"sub":"carol"}"#));
        assert!(matches!(
            decode_json_object("eyJzdWIiOiJjYXJvbFx1MDAwMCJ9", "payload"),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn malformed_inputs_never_panic() {
        let issuers = fixture_issuers();
        let good = fixture("kc_user_no_team");
        let parts: Vec<&str> = good.split('.').collect();
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        let big_valid_shape = format!("{}.{}.{}", parts[0], "A".repeat(40_000), parts[2]);
        let payload = |p: &str| format!("{}.{}.{}", parts[0], b64(p), parts[2]);
        let header = |h: &str| format!("{}.{}.{}", b64(h), parts[1], parts[2]);
        let inputs: Vec<String> = vec![
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            "a".into(),
            "a.b".into(),
            "a.b.c".into(),
            "a.b.c.d".into(),
            format!("{good}.extra"),
            format!("{}.{}", parts[0], parts[1]),
            format!("{}..{}", parts[0], parts[2]),
            format!(".{}.{}", parts[1], parts[2]),
            format!("{}.{}.", parts[0], parts[1]),
            format!("{}.{}.!!!", parts[0], parts[1]),
            format!("{good}="),
            format!(" {good}"),
            huge,
            big_valid_shape,
            "é.ü.ß".into(),
            "💥.💥.💥".into(),
            payload("not json"),
            payload("[1,2,3]"),
            payload("\"string\""),
            payload("null"),
            payload("{\"iss\": "),
            payload(&"[".repeat(10_000)),
            header("{}"),
            header("[]"),
            header("{\"alg\": 256}"),
            header("{\"alg\": \"\"}"),
            header("{\"alg\": \"NONE\"}"),
            header("{\"alg\": \"RS256\", \"kid\": 7}"),
            header("{\"alg\": \"RS256\", \"kid\": null}"),
            header("{\"alg\": \"RS256\", \"kid\": {}}"),
            header("{\"alg\": \"RS256\", \"kid\": \"rsa-1\", \"crit\": [\"b64\"], \"b64\": false}"),
            header("{\"alg\": \"RS256\", \"typ\": \"oauth-id-jag+jwt\"}"),
            // Header members jsonwebtoken reads as typed fields.
            header("{\"alg\": \"RS256\", \"kid\": \"rsa-1\", \"jwk\": 5}"),
            header("{\"alg\": \"RS256\", \"kid\": \"rsa-1\", \"x5c\": \"nope\"}"),
            header("{\"alg\": \"RS256\", \"kid\": \"rsa-1\", \"alg\": \"RS256\"}"),
        ];
        for input in &inputs {
            let short: String = input.chars().take(40).collect();
            assert!(
                matches!(verify(input, &issuers, NOW), Err(JwtError::Malformed(_))),
                "{short}: {:?}",
                verify(input, &issuers, NOW)
            );
            for issuer in issuers.values() {
                assert!(verify_signature(input, issuer).is_err(), "{short}");
            }
        }
        // Well-formed but wrong in other ways: never a panic, never Ok.
        let odd_headers = [
            "{\"alg\": \"HS1\", \"kid\": \"rsa-1\"}",
            "{\"alg\": \"ES512\"}",
            "{\"alg\": \"RS256\", \"kid\": \"\"}",
            "{\"alg\": \"rs256\", \"kid\": \"rsa-1\"}",
            "{\"alg\": \"EdDSA\", \"kid\": \"ed-1\"}",
            "{\"alg\": \"ES256\", \"kid\": \"ec-1\"}",
            "{\"alg\": \"PS256\", \"kid\": \"rsa-1\"}",
            "{\"alg\": \"RS256\", \"kid\": \"ключ\"}",
        ];
        for h in odd_headers {
            let token = header(h);
            assert!(
                matches!(
                    verify(&token, &issuers, NOW),
                    Err(JwtError::BadSignature(_))
                ),
                "{h}: {:?}",
                verify(&token, &issuers, NOW)
            );
        }
        // Payload from another token: tampering.
        let other: Vec<&str> = fixture("kc_admin").split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], other[1], parts[2]);
        assert!(matches!(
            verify(&spliced, &issuers, NOW),
            Err(JwtError::BadSignature(_))
        ));
        // Signatures of every length against every key type.
        for len in [0usize, 1, 31, 32, 63, 64, 65, 255, 256, 257, 512] {
            let sig = URL_SAFE_NO_PAD.encode(vec![0x5a; len]);
            for (alg, kid) in [("RS256", "rsa-1"), ("ES256", "ec-1"), ("EdDSA", "ed-1")] {
                let h = b64(&format!("{{\"alg\":\"{alg}\",\"kid\":\"{kid}\"}}"));
                let token = format!("{h}.{}.{sig}", parts[1]);
                assert!(verify(&token, &issuers, NOW).is_err());
            }
        }
    }

    #[test]
    fn bad_jwks_entries_are_skipped() {
        let good_rsa: Value = serde_json::from_str::<Value>(ACME_JWKS).unwrap()["keys"][0].clone();
        let mut small_rsa = good_rsa.clone();
        small_rsa["n"] = json!(URL_SAFE_NO_PAD.encode([0xff; 128])); // 1024 bits: below RFC 7518's 2048
        let mut enc = good_rsa.clone();
        enc["use"] = json!("enc");
        let mut no_verify = good_rsa.clone();
        no_verify["key_ops"] = json!(["encrypt"]);
        let mut wrong_alg = good_rsa.clone();
        wrong_alg["alg"] = json!("ES256");
        let mut unknown_alg = good_rsa.clone();
        unknown_alg["alg"] = json!("RSA-OAEP");
        let mut numeric_kid = good_rsa.clone();
        numeric_kid["kid"] = json!(5);
        let mut padded = good_rsa.clone();
        padded["n"] = json!(format!("{}==", good_rsa["n"].as_str().unwrap()));
        padded["kid"] = json!("padded");
        let jwks = json!({"keys": [
            good_rsa, small_rsa, enc, no_verify, wrong_alg, unknown_alg, numeric_kid, padded,
            {"kty": "RSA", "n": "!!!", "e": "AQAB"},
            {"kty": "RSA", "e": "AQAB"},
            {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
            {"kty": "EC", "crv": "P-521", "x": "AAAA", "y": "AAAA"},
            {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
            {"kty": "OKP", "crv": "Ed448", "x": "AAAA"},
            {"kty": "oct", "k": ""},
            {"kty": "oct", "k": "c2hvcnQ", "alg": "HS256"},
            {"kty": "oct", "k": URL_SAFE_NO_PAD.encode([7u8; 40]), "alg": "HS512"},
            {"kty": "XYZ"},
            {"kty": 1},
            "not a key",
            null,
            []
        ]});
        let issuer = Issuer::from_row(&row(ACME, jwks, json!({}))).unwrap();
        assert_eq!(issuer.key_count(), 2, "{issuer:?}");
        // An oct key without alg allows only the HS* its length permits (RFC 7518 §3.2).
        let k40 = json!({"keys": [{"kty": "oct", "k": URL_SAFE_NO_PAD.encode([7u8; 40])}]});
        let issuer = Issuer::from_row(&row(ACME, k40, json!({}))).unwrap();
        assert_eq!(issuer.keys[0].algorithms, vec![Algorithm::HS256]);

        // Whole-row shapes.
        assert!(Issuer::from_row(&json!(null)).is_err());
        assert!(Issuer::from_row(&json!([])).is_err());
        assert!(Issuer::from_row(&json!({"issuer": ""})).is_err());
        assert!(Issuer::from_row(&json!({"issuer": 5})).is_err());
        let minimal = Issuer::from_row(&json!({"issuer": "https://min.test"})).unwrap();
        assert_eq!(minimal.key_count(), 0);
        assert!(minimal.audiences.is_empty());
        assert_eq!(
            minimal.admin_allowed_routes,
            DEFAULT_ADMIN_ALLOWED_ROUTES.to_vec()
        );
        assert!(!minimal.enforce_rbac);
        let odd = Issuer::from_row(&json!({
            "issuer": "https://odd.test", "jwks": "{\"keys\": []}", "audiences": ["a", "", 3], "leeway_seconds": -5,
            "user_id_claim": "", "role_mappings": "[{\"role\": \"x\", \"internal_role\": \"team\"}]", "enforce_rbac": "yes",
            "admin_allowed_routes": null
        }))
        .unwrap();
        assert_eq!(odd.audiences, vec!["a"]);
        assert_eq!(odd.leeway_seconds, 0);
        assert_eq!(odd.user_id_claim, None);
        assert_eq!(
            odd.role_mappings
                .iter()
                .map(|(external, internal)| (external.clone(), internal.name().to_string()))
                .collect::<Vec<_>>(),
            vec![("x".to_string(), "team".to_string())]
        );
        assert!(!odd.enforce_rbac);
        let big = Issuer::from_row(&json!({"issuer": "https://big.test", "leeway_seconds": 1e30}))
            .unwrap();
        assert_eq!(big.leeway_seconds, i64::from(i32::MAX));
        // A bare array of JWKs is read as the key set.
        let bare = Issuer::from_row(
            &json!({"issuer": "https://bare.test", "jwks": serde_json::from_str::<Value>(HS_JWKS).unwrap()["keys"]}),
        )
        .unwrap();
        assert_eq!(bare.key_count(), 1);
        // issuers_from_rows skips unusable rows.
        assert_eq!(
            issuers_from_rows(vec![json!({}), json!({"issuer": "https://ok.test"})]).len(),
            1
        );
    }

    #[test]
    fn no_kid_tries_every_key_of_the_algorithm() {
        forget_verified_tokens();
        // kc_no_kid is RS256 signed with rsa-1; with rsa-2 listed first (and ES/Ed keys around) it still verifies.
        let mut jwks: Value = serde_json::from_str(ACME_JWKS).unwrap();
        jwks["keys"].as_array_mut().unwrap().reverse();
        let issuers = fixture_issuers_with(jwks);
        assert!(verify(fixture("kc_no_kid"), &issuers, NOW).is_ok());
        // Without rsa-1 no RS256 key verifies it.
        forget_verified_tokens();
        let issuers = fixture_issuers_with(acme_jwks_without("rsa-1"));
        assert!(matches!(
            verify(fixture("kc_no_kid"), &issuers, NOW),
            Err(JwtError::BadSignature(_))
        ));
        forget_verified_tokens();
    }

    #[test]
    fn claim_paths() {
        let claims = json!({
            "realm_access": {"roles": ["a"]},
            "resource_access": {"my-client": {"roles": ["b"]}},
            "a.b": {"c": 1},
            "https://example.com/roles": ["ns"],
            "user": {"email": "u@x"},
            "list": [1, 2]
        });
        assert_eq!(claim_at(&claims, "realm_access.roles"), Some(&json!(["a"])));
        assert_eq!(
            claim_at(&claims, "resource_access.my-client.roles"),
            Some(&json!(["b"]))
        );
        assert_eq!(claim_at(&claims, r"a\.b.c"), Some(&json!(1)));
        assert_eq!(claim_at(&claims, r"a\.b"), Some(&json!({"c": 1})));
        assert_eq!(
            claim_at(&claims, "https://example.com/roles"),
            Some(&json!(["ns"]))
        );
        assert_eq!(
            claim_at(&claims, r"https://example\.com/roles"),
            Some(&json!(["ns"]))
        );
        assert_eq!(
            claim_at(&claims, "metadata.user.email"),
            Some(&json!("u@x"))
        );
        assert_eq!(claim_at(&claims, "user.email"), Some(&json!("u@x")));
        assert_eq!(claim_at(&claims, "list.0"), None);
        assert_eq!(claim_at(&claims, "realm_access.roles.x"), None);
        assert_eq!(claim_at(&claims, "missing"), None);
        assert_eq!(claim_at(&claims, ""), None);
        assert_eq!(claim_at(&claims, "."), None);
        assert_eq!(claim_at(&claims, "realm_access..roles"), None);
        assert_eq!(claim_at(&json!("scalar"), "a"), None);
        let with_metadata = json!({"metadata": {"user": "m"}, "user": "top"});
        assert_eq!(claim_at(&with_metadata, "metadata.user"), Some(&json!("m")));
    }

    #[test]
    fn jwt_shape_and_reasons() {
        assert!(looks_like_jwt(fixture("kc_admin")));
        assert!(looks_like_jwt("a.b.c"));
        assert!(looks_like_jwt("a-_.b.c"));
        assert!(
            !looks_like_jwt(fixture("kc_alg_none")),
            "empty signature part"
        );
        for s in [
            "", "a", "a.b", "a.b.c.d", "a..c", ".b.c", "a.b.", "a.b.c=", "a.b+.c", "a b.c.d",
            "sk-1234", "é.b.c",
        ] {
            assert!(!looks_like_jwt(s), "{s}");
        }
        let reasons: Vec<&str> = [
            JwtError::Malformed(String::new()),
            JwtError::UntrustedIssuer,
            JwtError::BadSignature(String::new()),
            JwtError::AudienceMismatch,
            JwtError::Expired,
            JwtError::NotYetValid,
        ]
        .iter()
        .map(JwtError::reason_code)
        .collect();
        assert_eq!(
            reasons,
            vec![
                "invalid_token",
                "untrusted_issuer",
                "invalid_token",
                "audience_mismatch",
                "token_expired",
                "token_not_yet_valid"
            ]
        );
        assert!(JwtError::BadSignature("unknown kid x".into())
            .to_string()
            .contains("unknown kid"));
    }
}
