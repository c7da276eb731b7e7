-- Planted operators and functions (adversarial review F1): a proxy login puts its own `=`, `<>`, `~~`, `||`,
-- `@>` and look-alikes of common functions in a schema it owns, ahead of pg_catalog in its search_path. Row-level
-- security, management and the hot path must not use any of them (docs/secure-deployment.md).
CREATE ROLE atk_proxy LOGIN IN ROLE rbac_api;
CREATE SCHEMA litellm AUTHORIZATION atk_proxy;

INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai');
INSERT INTO rbac.organizations(organization_id) VALUES ('o1'), ('o2');
INSERT INTO rbac.teams(team_id, organization_id) VALUES ('t1', 'o1'), ('t2', 'o2');
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-a', 'internal_user'), ('u-b', 'internal_user'), ('u-admin', 'proxy_admin');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t1', 'u-a', 'user'), ('t2', 'u-b', 'user');
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-po-a-000000001'), 'u-a', 't1'),
  (pg_temp.h('sk-po-b-000000001'), 'u-b', 't2');
INSERT INTO rbac.spend_log(key_hash, user_id, team_id, spend) VALUES (pg_temp.h('sk-po-b-000000001'), 'u-b', 't2', 1);

-- what an internal user and a login without a principal see with a clean search_path
CREATE TEMP TABLE seen(label text, path text, n bigint);
GRANT ALL ON seen TO PUBLIC;
CREATE FUNCTION pg_temp.observe(path text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- runs as atk_proxy; only count(*) and the tables themselves, nothing the planted objects could answer for
  INSERT INTO pg_temp.seen SELECT 'keys', path, count(*) FROM rbac.keys;
  INSERT INTO pg_temp.seen SELECT 'teams', path, count(*) FROM rbac.teams;
  INSERT INTO pg_temp.seen SELECT 'users', path, count(*) FROM rbac.users;
  INSERT INTO pg_temp.seen SELECT 'spend_log', path, count(*) FROM rbac.spend_log;
  INSERT INTO pg_temp.seen SELECT 'audit_log', path, count(*) FROM rbac.audit_log;
  INSERT INTO pg_temp.seen SELECT 'role_permissions', path, count(*) FROM rbac.role_permissions;
END $$;
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.observe('clean, no principal');
SELECT rbac.authenticate('sk-po-a-000000001');
SELECT pg_temp.observe('clean, u-a');
SELECT set_config('cases.check_clean', (SELECT format('%s %s', allowed, reason) FROM rbac.rbac_check('sk-po-b-000000001', '/team/new', NULL)), true);
RESET ROLE;

-- the planted objects: every comparison says yes, concatenation says proxy_admin, helpers lie
SET LOCAL ROLE atk_proxy;
CREATE FUNCTION litellm.yes(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE FUNCTION litellm.yes_arr(anyarray, anyarray) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE FUNCTION litellm.admin(text, text) RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT 'proxy_admin'$$;
CREATE OPERATOR litellm.= (LEFTARG = text, RIGHTARG = text, FUNCTION = litellm.yes);
CREATE OPERATOR litellm.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = litellm.yes);
CREATE OPERATOR litellm.~~ (LEFTARG = text, RIGHTARG = text, FUNCTION = litellm.yes);
CREATE OPERATOR litellm.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = litellm.admin);
CREATE OPERATOR litellm.@> (LEFTARG = anyarray, RIGHTARG = anyarray, FUNCTION = litellm.yes_arr);
CREATE FUNCTION litellm.lower(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT 'proxy_admin'$$;
CREATE FUNCTION litellm.btrim(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT 'proxy_admin'$$;
CREATE FUNCTION litellm.cardinality(anyarray) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 0';
CREATE FUNCTION litellm.now() RETURNS timestamptz LANGUAGE sql STABLE AS $$SELECT 'infinity'::timestamptz$$;
CREATE FUNCTION litellm.current_setting(text) RETURNS text LANGUAGE sql STABLE AS $$SELECT 'proxy_admin'$$;
CREATE FUNCTION litellm.pg_has_role(name, text, text) RETURNS boolean LANGUAGE sql STABLE AS 'SELECT true';
CREATE FUNCTION litellm.pg_has_role(name, name, text) RETURNS boolean LANGUAGE sql STABLE AS 'SELECT true';
SET LOCAL search_path = litellm, pg_catalog;
SELECT pg_temp.observe('planted, u-a');
SELECT rbac.authenticate(NULL);
SELECT pg_temp.observe('planted, no principal');
-- writes a proxy admin alone may make, and the built-in route groups
CREATE TEMP TABLE IF NOT EXISTS pg_temp.attempts(label text, sqlstate text);
DO $$
DECLARE stmt text;
BEGIN
  FOREACH stmt IN ARRAY ARRAY[
    $s$INSERT INTO rbac.route_groups(group_name, pattern) VALUES ('llm_api_routes', '/key/generate')$s$,
    $s$INSERT INTO rbac.role_permissions(role, routes) VALUES ('internal_user', ARRAY['management_routes'])$s$,
    $s$INSERT INTO rbac.models(model_name) VALUES ('planted-model')$s$,
    $s$SELECT rbac.team_new('t-planted')$s$,
    $s$SELECT * FROM rbac.key_generate(user_id => 'u-admin')$s$] LOOP
    BEGIN
      EXECUTE stmt;
      INSERT INTO pg_temp.attempts VALUES (stmt, 'succeeded');
    EXCEPTION WHEN OTHERS THEN
      INSERT INTO pg_temp.attempts VALUES (stmt, SQLSTATE);
    END;
  END LOOP;
END $$;
UPDATE rbac.keys SET key_alias = 'renamed';   -- reaches no row without a principal
SELECT rbac.authenticate('sk-po-a-000000001');
UPDATE rbac.keys SET key_alias = 'renamed-b' WHERE user_id = 'u-b';   -- another tenant's key: no row
SELECT set_config('cases.check', (SELECT format('%s %s', allowed, reason) FROM rbac.rbac_check('sk-po-b-000000001', '/team/new', NULL)), true);
SELECT set_config('cases.quota', (SELECT format('%s %s', allowed, reason) FROM rbac.consume_quota('sk-po-b-000000001', '/chat/completions', 'gpt-4o')), true);
RESET search_path;
RESET ROLE;

SELECT pg_temp.expect_eq('no principal: nothing visible, planted or not',
  (SELECT array_agg(label || '=' || n ORDER BY label) FROM seen WHERE path = 'planted, no principal'),
  (SELECT array_agg(label || '=' || n ORDER BY label) FROM seen WHERE path = 'clean, no principal'));
SELECT pg_temp.expect_eq('no principal sees no keys', (SELECT n FROM seen WHERE path = 'planted, no principal' AND label = 'keys'), 0::bigint);
SELECT pg_temp.expect_eq('internal user: the same rows, planted or not',
  (SELECT array_agg(label || '=' || n ORDER BY label) FROM seen WHERE path = 'planted, u-a'),
  (SELECT array_agg(label || '=' || n ORDER BY label) FROM seen WHERE path = 'clean, u-a'));
SELECT pg_temp.expect_eq('internal user sees only its own key', (SELECT n FROM seen WHERE path = 'planted, u-a' AND label = 'keys'), 1::bigint);
SELECT pg_temp.expect_eq('no write succeeded',
  (SELECT count(*) FROM pg_temp.attempts WHERE sqlstate = 'succeeded'), 0::bigint);
SELECT pg_temp.expect_eq('every write refused as a privilege error',
  (SELECT array_agg(DISTINCT sqlstate) FROM pg_temp.attempts), ARRAY['42501']);
SELECT pg_temp.expect_eq('no principal renamed nothing', (SELECT count(*) FROM rbac.keys WHERE key_alias = 'renamed'), 0::bigint);
SELECT pg_temp.expect_eq('u-a did not rename u-b''s key', (SELECT key_alias FROM rbac.keys WHERE user_id = 'u-b'), NULL::text);
SELECT pg_temp.expect_eq('route gate refuses an internal user /team/new, planted or not', current_setting('cases.check'), current_setting('cases.check_clean'));
SELECT pg_temp.expect_eq('route gate refusal', current_setting('cases.check'), 'f route_not_allowed');
SELECT pg_temp.expect_eq('admission unchanged', current_setting('cases.quota'), 't ok');

-- every function of the extension pins its search_path (so nothing resolves through the caller's path)
SELECT pg_temp.expect_eq('functions without a pinned search_path',
  (SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}') FROM pg_proc p
   WHERE p.pronamespace = 'rbac'::regnamespace
     AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search\_path=%')),
  '{}'::text[]);
-- custom rows never extend a built-in route group, whoever writes them
SELECT pg_temp.expect_error('superuser extends a built-in group',
  $$INSERT INTO rbac.route_groups(group_name, pattern) VALUES ('llm_api_routes', '/key/generate')$$, '23514');
SELECT pg_temp.expect_error('a custom row claims to be built in',
  $$INSERT INTO rbac.route_groups(group_name, pattern, builtin) VALUES ('my_routes', '/x', true)$$, '23514');
INSERT INTO rbac.route_groups(group_name, pattern) VALUES ('my_routes', '/custom/path');
SELECT pg_temp.expect_eq('custom group of its own name', (SELECT count(*) FROM rbac.route_groups WHERE group_name = 'my_routes'), 1::bigint);
