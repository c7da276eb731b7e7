-- pg_rbac — quota state (docs/semantics.md §10): rate windows, reservations, and the rbac.quota result type.
--
-- Rate windows are UNLOGGED: a crash empties them, which only restarts the current 60-second windows
-- (harmless, docs/semantics.md §10.3). Spend, budget reservations (`reserved` columns) and parallel leases
-- (`keys.in_flight`) live in logged tables, so nothing that money depends on is lost.

-- One fixed 60-second window per (scope, subject), anchored at the first request after the previous window
-- ended (LiteLLM v3 limiter). scope: key, user, team, team_member, organization, end_user, model_per_key,
-- model_per_team, model_per_organization; subject: the id, or for compound scopes the first id's length and both
-- ids (`7:team-a1:alice`, `64:<key hash>:gpt-4o`), so ids containing ':' can never share another pair's window.
CREATE UNLOGGED TABLE rbac.rate_windows (
  scope                 text NOT NULL,
  subject               text NOT NULL,
  window_start          timestamptz NOT NULL,
  requests              bigint NOT NULL DEFAULT 0,
  tokens                bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, subject)
) WITH (fillfactor = 50);   -- room for HOT updates of hot counters

-- One row per admitted request until it is settled, released or expired.
CREATE TABLE rbac.reservations (
  reservation_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  state                 text NOT NULL DEFAULT 'open',   -- open | settled | released | expired (set only by pg_rbac)
  created_at            timestamptz NOT NULL DEFAULT now(),
  expires_at            timestamptz NOT NULL,
  key_hash              text,
  user_id               text,
  team_id               text,
  organization_id       text,
  end_user_id           text,
  model                 text,
  requests              bigint NOT NULL DEFAULT 1,
  tokens                bigint NOT NULL DEFAULT 0,        -- estimated tokens counted in tpm windows
  cost                  numeric NOT NULL DEFAULT 0,       -- USD reserved at every level in budget_scopes
  budget_scopes         text[] NOT NULL DEFAULT '{}',     -- levels whose `reserved` holds `cost`
  parallel_slot         boolean NOT NULL DEFAULT false,   -- holds one of keys.in_flight
  rate_scopes           text[] NOT NULL DEFAULT '{}',     -- tpm windows charged: scope, subject, window start
  rate_subjects         text[] NOT NULL DEFAULT '{}',
  rate_window_starts    timestamptz[] NOT NULL DEFAULT '{}',
  settled_at            timestamptz
);
-- Open reservations are few (requests in flight), so one partial index serves both the sweep and the per-key
-- expiry; every index costs each admission an insert.
CREATE INDEX reservations_open_idx ON rbac.reservations (expires_at) WHERE state = 'open';

-- The result of rbac.consume_quota (docs/semantics.md §10): what a proxy needs for a 429 (limit_scope, remaining
-- requests/tokens, reset_at, retry_after_seconds) or to settle later (reservation_id).
CREATE TYPE rbac.quota AS (
  allowed               boolean,
  http_status           integer,
  reason                text,
  limit_scope           text,
  reservation_id        uuid,
  remaining_requests    bigint,
  remaining_tokens      bigint,
  reset_at              timestamptz,
  retry_after_seconds   integer,
  message               text,
  limit_requests        bigint,    -- the rpm limit of the window remaining_requests is counted in (x-ratelimit-limit-requests)
  limit_tokens          bigint     -- the tpm limit of the window remaining_tokens is counted in (x-ratelimit-limit-tokens)
);
