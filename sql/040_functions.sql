-- pg_rbac — settings and COMMENT ON for the functions implemented in Rust (their doc comments in src/ say
-- the same).

-- The entry points run as the extension owner (they must see every row, whatever row-level security shows the
-- caller). A fixed search_path stops a caller from planting functions or operators (e.g. a `now()` or `=` in a
-- schema put before pg_catalog) that would then run with the owner's rights.
-- Only the policy-table triggers (which run as the owner) may broadcast a cache invalidation; a caller able to
-- call it at will could keep every backend's caches cold.
REVOKE EXECUTE ON FUNCTION rbac._signal_policy_change(oid) FROM PUBLIC;

-- Their prepared context query joins six tables: planning it costs far more than running it, so the plans are
-- always generic (planned once per backend), never re-planned per call for the argument values.
ALTER FUNCTION rbac.rbac_check(text, text, text, text)
  SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION rbac.consume_quota(text, text, text, integer, bigint, numeric, text)
  SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION rbac.authenticate(text)
  SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan;

COMMENT ON FUNCTION rbac.rbac_check(text, text, text, text) IS
  'Authorizes one request. token: a virtual key (sk-...) or a JWT (compact JWS; a "Bearer " prefix is ignored); route: the '
  'request path (/chat/completions, /v1/messages, /key/generate...; a query string is ignored); model: the requested model '
  '(NULL for routes without one); end_user_id: the customer (LiteLLM body "user"; a JWT end-user claim wins). Returns '
  'rbac.decision (allowed, http_status, reason, message, user_id, team_id, organization_id, role, key_hash, limit_scope). '
  'A bad token or a denial is a decision, never an error; raises 22023 only for a NULL or empty route or an '
  'end_user_id longer than 1024 characters. Order: token, '
  'blocked (key, team, organization, customer), route gate, model gate (key, team, team member, organization, user, '
  'customer), budgets (spend >= max_budget in USD at key, team member, team, organization, user, customer). Semantics: '
  'LiteLLM user_api_key_auth + common_checks with the deliberate fixes of docs/semantics.md §14. Resets lapsed budget periods.';

COMMENT ON FUNCTION rbac.consume_quota(text, text, text, integer, bigint, numeric, text) IS
  'rbac_check, then exact admission: requests counted in 60-second rpm windows, tokens (estimated prompt + completion) in '
  'tpm windows, a max_parallel_requests lease on the key, and cost (USD) reserved against every budget level. Levels: key, '
  'user, team, team member, organization, end user, and per model (metadata.model_rpm_limit / model_tpm_limit on keys, '
  'teams, organizations). Returns rbac.quota (allowed, http_status, reason: ok | an rbac_check reason | '
  'rate_limit_exceeded | parallel_limit_exceeded | budget_exceeded, limit_scope, reservation_id, remaining_requests, '
  'remaining_tokens, reset_at, retry_after_seconds, message, limit_requests, limit_tokens: the rpm/tpm limit of the windows the '
  'remaining_* are counted in). All-or-nothing; exact under concurrency; undone by the '
  'caller''s rollback. Settle with rbac.settle or cancel with rbac.release. Errors: 22023 for a NULL/empty route, '
  'negative/non-finite amounts, tokens above 10^12 or an end_user_id above 1024 characters. LiteLLM v3 parallel request limiter and budget reservation, without their races.';

COMMENT ON FUNCTION rbac.authenticate(text) IS
  'Verifies a token (virtual key or JWT: valid, not expired, not blocked) and makes it the principal of the current '
  'transaction, replacing any earlier one (cleared on failure). The principal lives in backend memory, never in a GUC, and '
  'ends with the transaction. Returns the rbac.decision of the authentication; never raises for a bad token. docs/semantics.md §12.';

COMMENT ON FUNCTION rbac.current_principal() IS
  'The principal set by rbac.authenticate in this transaction as rbac.principal (user_id, team_id, organization_id, role, '
  'key_hash); all fields NULL without one. No setting or GUC can change it. Row-level security policies use it.';

COMMENT ON FUNCTION rbac.current_principal_user_id() IS
  'The current principal''s user id, or NULL. Recorded as rbac.audit_log.actor.';

COMMENT ON FUNCTION rbac.current_principal_role() IS
  'The current principal''s role (proxy_admin, proxy_admin_viewer, org_admin, internal_user, internal_user_viewer, team, '
  'customer), or NULL without a principal.';

COMMENT ON FUNCTION rbac.hash_key(text) IS
  'The stored form of a virtual key: lower-case hex SHA-256 of the UTF-8 plaintext (64 characters), LiteLLM-compatible: '
  'rbac.hash_key(''sk-1234'') = 88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b.';

COMMENT ON FUNCTION rbac.generate_key_plaintext() IS
  'A new random virtual key: sk- followed by 32 URL-safe base64 characters (24 bytes from the OS random source).';

COMMENT ON FUNCTION rbac.model_allowed(text, text[]) IS
  'True when a model list allows a model: empty/NULL list, *, all-proxy-models, the exact (case-sensitive) name, an access '
  'group containing the model (rbac.models.access_groups), or a glob (only * is special) matching the name or, for a bare '
  'name, provider/name via rbac.models.provider. LiteLLM _can_object_call_model with docs/semantics.md §8.2. NULL model gives NULL.';

COMMENT ON FUNCTION rbac.models_within(text[], text[]) IS
  'The first entry of child (a model list) that parent does not cover, or NULL when child lies within parent (access groups '
  'resolved; an empty child inherits the parent). Used by the write-time validation triggers (docs/semantics.md §2).';

COMMENT ON FUNCTION rbac.route_allowed_by(text, text[]) IS
  'True when a route list allows route: group names (rbac.route_groups), exact paths (also allowing their sub-paths), '
  '{param} and {param:path} templates, and trailing-* prefixes. An empty list gives false.';
