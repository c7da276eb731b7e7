-- pg_rbac — policy data model (docs/semantics.md §2).
-- Loaded first ("bootstrap"): tables, types and the cache epoch. Functions that call into the Rust library,
-- triggers and grants live in the later files (see src/lib.rs for the order).
--
-- Conventions (docs/semantics.md §2): ids are text, money is numeric USD, limits are bigint, times are timestamptz.
-- Every column except the primary key has a default so a DBA can insert minimal rows. An empty or NULL
-- `models` array means "all models" (LiteLLM). NULL `blocked` counts as not blocked (LiteLLM: only `true` blocks).

-- Roles a principal can have (docs/semantics.md §3.1); privilege order is the array order, first is highest (docs/semantics.md §11.5).
CREATE DOMAIN rbac.user_role AS text
  CHECK (VALUE IN ('proxy_admin', 'proxy_admin_viewer', 'org_admin', 'internal_user', 'internal_user_viewer',
                   'team', 'customer'));

CREATE TABLE rbac.organizations (
  organization_id       text PRIMARY KEY,
  organization_alias    text,
  models                text[] DEFAULT '{}',
  max_budget            numeric,
  spend                 numeric NOT NULL DEFAULT 0 CHECK (spend >= 0 AND spend::text NOT IN ('NaN', 'Infinity')),
  reserved              numeric NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved::text NOT IN ('NaN', 'Infinity')),  -- open reservations (consume_quota), USD
  budget_duration       text,
  budget_reset_at       timestamptz,
  rpm_limit             bigint,
  tpm_limit             bigint,
  max_parallel_requests bigint,
  blocked               boolean DEFAULT false,
  metadata              jsonb DEFAULT '{}',
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rbac.teams (
  team_id               text PRIMARY KEY,
  team_alias            text,
  organization_id       text REFERENCES rbac.organizations ON UPDATE CASCADE ON DELETE RESTRICT,
  models                text[] DEFAULT '{}',
  max_budget            numeric,
  spend                 numeric NOT NULL DEFAULT 0 CHECK (spend >= 0 AND spend::text NOT IN ('NaN', 'Infinity')),
  reserved              numeric NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved::text NOT IN ('NaN', 'Infinity')),  -- open reservations (consume_quota), USD
  budget_duration       text,
  budget_reset_at       timestamptz,
  rpm_limit             bigint,
  tpm_limit             bigint,
  max_parallel_requests bigint,
  blocked               boolean DEFAULT false,
  -- key-management routes that non-admin members may call (LiteLLM team_member_permissions, docs/semantics.md §12.5)
  team_member_permissions text[] DEFAULT '{}',
  metadata              jsonb DEFAULT '{}',
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_organization_id_idx ON rbac.teams (organization_id);

CREATE TABLE rbac.users (
  user_id               text PRIMARY KEY,
  user_alias            text,
  user_email            text,
  user_role             rbac.user_role NOT NULL DEFAULT 'internal_user',
  models                text[] DEFAULT '{}',
  max_budget            numeric,
  spend                 numeric NOT NULL DEFAULT 0 CHECK (spend >= 0 AND spend::text NOT IN ('NaN', 'Infinity')),
  reserved              numeric NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved::text NOT IN ('NaN', 'Infinity')),  -- open reservations (consume_quota), USD
  budget_duration       text,
  budget_reset_at       timestamptz,
  rpm_limit             bigint,
  tpm_limit             bigint,
  max_parallel_requests bigint,
  metadata              jsonb DEFAULT '{}',
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Team membership has one source of truth (docs/semantics.md §2.1): this table.
CREATE TABLE rbac.team_members (
  team_id               text NOT NULL REFERENCES rbac.teams ON UPDATE CASCADE ON DELETE CASCADE,
  user_id               text NOT NULL REFERENCES rbac.users ON UPDATE CASCADE ON DELETE CASCADE,
  role                  text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
  max_budget            numeric,
  spend                 numeric NOT NULL DEFAULT 0 CHECK (spend >= 0 AND spend::text NOT IN ('NaN', 'Infinity')),
  reserved              numeric NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved::text NOT IN ('NaN', 'Infinity')),  -- open reservations (consume_quota), USD
  budget_duration       text,
  budget_reset_at       timestamptz,
  rpm_limit             bigint,
  tpm_limit             bigint,
  allowed_models        text[] DEFAULT '{}',
  created_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id_idx ON rbac.team_members (user_id);

CREATE TABLE rbac.organization_members (
  organization_id       text NOT NULL REFERENCES rbac.organizations ON UPDATE CASCADE ON DELETE CASCADE,
  user_id               text NOT NULL REFERENCES rbac.users ON UPDATE CASCADE ON DELETE CASCADE,
  user_role             text NOT NULL DEFAULT 'internal_user'
                          CHECK (user_role IN ('org_admin', 'internal_user', 'internal_user_viewer')),
  created_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user_id_idx ON rbac.organization_members (user_id);

-- Virtual keys. Only the hash is stored: key_hash = lower hex sha256(utf8(plaintext)) (LiteLLM-compatible).
CREATE TABLE rbac.keys (
  key_hash              text PRIMARY KEY,
  key_alias             text,
  key_name              text,
  user_id               text REFERENCES rbac.users ON UPDATE CASCADE ON DELETE CASCADE,
  team_id               text REFERENCES rbac.teams ON UPDATE CASCADE ON DELETE CASCADE,
  organization_id       text REFERENCES rbac.organizations ON UPDATE CASCADE ON DELETE CASCADE,
  models                text[] DEFAULT '{}',
  max_budget            numeric,
  spend                 numeric NOT NULL DEFAULT 0 CHECK (spend >= 0 AND spend::text NOT IN ('NaN', 'Infinity')),
  reserved              numeric NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved::text NOT IN ('NaN', 'Infinity')),  -- open reservations (consume_quota), USD
  budget_duration       text,
  budget_reset_at       timestamptz,
  rpm_limit             bigint,
  tpm_limit             bigint,
  max_parallel_requests bigint,
  in_flight             bigint NOT NULL DEFAULT 0 CHECK (in_flight >= 0),  -- parallel request leases held (consume_quota)
  expires               timestamptz,
  blocked               boolean DEFAULT false,
  allowed_routes        text[] DEFAULT '{}',
  -- LiteLLM key permissions, e.g. {"get_spend_routes": true} (docs/semantics.md §7.4)
  permissions           jsonb DEFAULT '{}',
  metadata              jsonb DEFAULT '{}',
  created_at            timestamptz NOT NULL DEFAULT now(),
  created_by            text,
  -- the key whose budget this key's max_budget was taken out of (rbac.key_generate by a budgeted key); deleting
  -- this key gives back what it has not spent (rbac._return_budget)
  budget_from_key       text REFERENCES rbac.keys (key_hash) ON UPDATE CASCADE ON DELETE SET NULL,
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX keys_user_id_idx ON rbac.keys (user_id);
CREATE INDEX keys_team_id_idx ON rbac.keys (team_id);
CREATE INDEX keys_organization_id_idx ON rbac.keys (organization_id);
CREATE INDEX keys_budget_from_key_idx ON rbac.keys (budget_from_key) WHERE budget_from_key IS NOT NULL;

-- Regenerated keys inside their grace period authenticate as the active key (LiteLLM DeprecatedVerificationToken).
CREATE TABLE rbac.deprecated_keys (
  key_hash              text PRIMARY KEY,
  active_key_hash       text NOT NULL REFERENCES rbac.keys ON UPDATE CASCADE ON DELETE CASCADE,
  revoke_at             timestamptz NOT NULL
);
CREATE INDEX deprecated_keys_active_idx ON rbac.deprecated_keys (active_key_hash);

-- Customers (LiteLLM end users: the `user` field of an API body). Rows are optional.
CREATE TABLE rbac.end_users (
  end_user_id           text PRIMARY KEY,
  alias                 text,
  models                text[] DEFAULT '{}',
  max_budget            numeric,
  spend                 numeric NOT NULL DEFAULT 0 CHECK (spend >= 0 AND spend::text NOT IN ('NaN', 'Infinity')),
  reserved              numeric NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved::text NOT IN ('NaN', 'Infinity')),  -- open reservations (consume_quota), USD
  budget_duration       text,
  budget_reset_at       timestamptz,
  rpm_limit             bigint,
  tpm_limit             bigint,
  blocked               boolean DEFAULT false,
  metadata              jsonb DEFAULT '{}',
  created_at            timestamptz NOT NULL DEFAULT now()
);

-- Model catalogue: provider inference for bare names (`gpt-4o` -> `openai`) and access groups (LiteLLM
-- model_info.access_groups). A model_name containing `*` is a wildcard deployment (docs/semantics.md §8.3).
CREATE TABLE rbac.models (
  model_name            text PRIMARY KEY,
  provider              text,
  access_groups         text[] DEFAULT '{}',
  input_cost_per_token  numeric,
  output_cost_per_token numeric,
  metadata              jsonb DEFAULT '{}',
  -- where a proxy sends the model's requests (docs/proxy.md): the provider's base URL (https://api.openai.com/v1),
  -- the provider's own model name (NULL = model_name), and the NAME of the environment variable that holds the
  -- provider key on the proxy host (the key itself never enters the database)
  api_base              text,
  upstream_model        text,
  api_key_env           text
);

-- LiteLLM general_settings.role_permissions: per role, the models and routes a JWT principal may use
-- when its issuer has enforce_rbac.
CREATE TABLE rbac.role_permissions (
  role                  rbac.user_role PRIMARY KEY,
  models                text[] DEFAULT '{}',
  routes                text[] DEFAULT '{}'
);

-- Trusted JWT issuers (OIDC). Keys come from the stored RFC 7517 JWKS: the database never fetches anything.
CREATE TABLE rbac.jwt_issuers (
  issuer                text PRIMARY KEY,
  jwks                  jsonb NOT NULL DEFAULT '{"keys": []}',
  audiences             text[] NOT NULL,
  leeway_seconds        integer NOT NULL DEFAULT 0,
  user_id_claim         text DEFAULT 'sub',
  user_email_claim      text DEFAULT 'email',
  team_id_claim         text,
  team_ids_claim        text,
  org_id_claim          text,
  end_user_id_claim     text,
  roles_claim           text,          -- one or more claim paths, comma-separated; roles of all are united
  scope_claim           text DEFAULT 'scope',
  role_mappings         jsonb DEFAULT '[]',
  admin_scope           text,
  enforce_rbac          boolean DEFAULT false,
  -- routes a token with the admin scope may call (LiteLLM admin_allowed_routes default)
  admin_allowed_routes  text[] DEFAULT ARRAY['management_routes', 'spend_tracking_routes',
                                             'global_spend_tracking_routes', 'info_routes'],
  -- which signed tokens are access tokens (docs/jwt.md): 'access' refuses OpenID Connect ID tokens (they carry a
  -- nonce), 'at+jwt' requires RFC 9068's typ header, 'any' accepts every token the issuer signed
  accepted_token_types  text NOT NULL DEFAULT 'access',
  -- refuse tokens without a scope in scope_claim (e.g. Entra ID: delegated access tokens always carry scp, ID
  -- tokens never)
  require_scope         boolean NOT NULL DEFAULT false,
  -- who of the IdP's users is admitted (claims_not_allowed, 403): every claim path must hold one of its allowed
  -- values ({"hd": ["acme.test"], "email_verified": [true], "azp": ["gateway"]}); the derived role must be in
  -- allowed_roles (LiteLLM user_allowed_roles) and a verified e-mail's domain in allowed_email_domains (LiteLLM
  -- user_allowed_email_domain); NULL lists admit everyone
  required_claims       jsonb NOT NULL DEFAULT '{}',
  allowed_roles         text[],
  allowed_email_domains text[],
  -- an issuer template (issuer 'https://login.microsoftonline.com/{tenantid}/v2.0', Entra ID multi-tenant apps)
  -- trusts the tenants listed here ('*': every tenant); a token's tid must name the tenant of its iss
  allowed_tenants       text[],
  -- the tenants of a template whose tokens may carry an administrative role (proxy_admin, proxy_admin_viewer,
  -- org_admin) from role mappings, the admin scope or their user row: every other tenant's administrators assign
  -- its app roles, so its tokens get at most internal_user (and their e-mails count only when email_verified)
  admin_tenants         text[],
  -- team claims (team_id_claim, team_ids_claim) name teams through these: a value listed in group_mappings
  -- ({"/acme/finance": "finance"}) is that team; else a value starting with team_prefix is the team named by the
  -- rest ('/acme/' makes Keycloak's full-path group /acme/finance team finance); with either set, other values are
  -- groups that are not teams. Neither set: every value is a team id.
  team_prefix           text,
  group_mappings        jsonb NOT NULL DEFAULT '{}',
  created_at            timestamptz NOT NULL DEFAULT now()
);

-- Route groups (docs/semantics.md §7.1), seeded with LiteLLM's lists in 003_route_groups.sql. Composite groups are stored expanded.
CREATE TABLE rbac.route_groups (
  group_name            text NOT NULL,
  pattern               text NOT NULL,
  builtin               boolean NOT NULL DEFAULT false,   -- seeded by the extension; not dumped
  PRIMARY KEY (group_name, pattern)
);

-- Append-only audit trail, written in the same transaction as the change.
CREATE TABLE rbac.audit_log (
  audit_id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  changed_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  db_user               text NOT NULL DEFAULT current_user,
  actor                 text,
  action                text NOT NULL,
  table_name            text NOT NULL,
  object_id             text,
  before                jsonb,
  after                 jsonb
);
CREATE INDEX audit_log_object_idx ON rbac.audit_log (table_name, object_id);

-- One row per settled request (LiteLLM SpendLogs). No foreign keys: the log outlives deleted keys.
CREATE TABLE rbac.spend_log (
  request_id            text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  key_hash              text,
  user_id               text,
  team_id               text,
  organization_id       text,
  end_user_id           text,
  model                 text,
  prompt_tokens         bigint NOT NULL DEFAULT 0,
  completion_tokens     bigint NOT NULL DEFAULT 0,
  spend                 numeric NOT NULL DEFAULT 0,
  created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX spend_log_key_idx ON rbac.spend_log (key_hash, created_at);
CREATE INDEX spend_log_team_idx ON rbac.spend_log (team_id, created_at);
CREATE INDEX spend_log_user_idx ON rbac.spend_log (user_id, created_at);

-- Sentinel of the per-backend policy caches: statement triggers on the policy tables queue a relcache
-- invalidation of this (empty) table, which PostgreSQL delivers to every backend with the change's commit
-- (src/invalidation.rs). It holds no data.
CREATE TABLE rbac.cache_epoch (
  singleton             boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
INSERT INTO rbac.cache_epoch VALUES (true);

-- The result of every authorization decision (docs/semantics.md §4).
CREATE TYPE rbac.decision AS (
  allowed               boolean,
  http_status           integer,
  reason                text,
  message               text,
  user_id               text,
  team_id               text,
  organization_id       text,
  role                  text,
  key_hash              text,
  limit_scope           text
);

-- The principal of the current transaction (docs/semantics.md §12), as returned by rbac.current_principal().
CREATE TYPE rbac.principal AS (
  user_id               text,
  team_id               text,
  organization_id       text,
  role                  text,
  key_hash              text
);
