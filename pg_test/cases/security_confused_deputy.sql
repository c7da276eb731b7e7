-- Confused deputy (adversarial review F0): management decides "administrator without a principal" from the
-- effective role of the code that calls it (its C entry point reads current_user itself), never from the login
-- or SET ROLE target, and refuses to run inside security-restricted operations; audit_log.db_user names the
-- effective role (docs/secure-deployment.md, "Who is calling").
-- A proxy login (atk_proxy, member of rbac_api) owns a schema, as LiteLLM's own tables do in the gateway database.
CREATE ROLE atk_proxy LOGIN IN ROLE rbac_api;
CREATE ROLE atk_dba LOGIN IN ROLE rbac_admin;
CREATE SCHEMA litellm AUTHORIZATION atk_proxy;
GRANT USAGE ON SCHEMA litellm TO PUBLIC;

INSERT INTO rbac.users(user_id, user_role) VALUES ('u-admin', 'proxy_admin'), ('u-plain', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-cd-admin-000001'), 'u-admin'), (pg_temp.h('sk-cd-plain-000001'), 'u-plain');
CREATE TEMP TABLE minted_before AS SELECT count(*) AS n FROM rbac.keys WHERE user_id = 'u-admin';

-- 1. an expression index whose function mints a proxy-admin key, evaluated by a superuser's ANALYZE as the
--    table's owner (atk_proxy) inside a security-restricted operation
SET LOCAL ROLE atk_proxy;
CREATE TABLE litellm.loot(got text);
CREATE TABLE litellm.bait(v int);
-- (IMMUTABLE functions may not write, but a VOLATILE function they call may)
CREATE FUNCTION litellm.grab() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  BEGIN
    INSERT INTO litellm.loot SELECT key FROM rbac.key_generate(user_id => 'u-admin');
  EXCEPTION WHEN OTHERS THEN
    INSERT INTO litellm.loot VALUES ('refused ' || SQLSTATE);
  END;
END $$;
CREATE FUNCTION litellm.mint(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM litellm.grab();
  RETURN v;
END $$;
INSERT INTO litellm.bait SELECT generate_series(1, 5);
CREATE INDEX bait_mint ON litellm.bait (litellm.mint(v));
RESET ROLE;
DELETE FROM litellm.loot;
ANALYZE litellm.bait;                                   -- as the superuser
SELECT pg_temp.expect_eq('ANALYZE evaluated the attacker''s index expression', (SELECT count(*) > 0 FROM litellm.loot), true);
SELECT pg_temp.expect_eq('every mint from ANALYZE was refused with 42501',
  (SELECT array_agg(DISTINCT got) FROM litellm.loot), ARRAY['refused 42501']);
SELECT pg_temp.expect_eq('no proxy-admin key minted by ANALYZE',
  (SELECT count(*) FROM rbac.keys WHERE user_id = 'u-admin'), (SELECT n FROM minted_before));

-- 2. a SECURITY DEFINER function owned by the proxy login, called by an rbac_admin member and by a superuser
SET LOCAL ROLE atk_proxy;
CREATE FUNCTION litellm.helpful() RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  RETURN (SELECT key FROM rbac.key_generate(user_id => 'u-admin'));
END $$;
GRANT EXECUTE ON FUNCTION litellm.helpful() TO PUBLIC;
RESET ROLE;
SET LOCAL ROLE atk_dba;
SELECT pg_temp.expect_error('definer function of the proxy, called by an rbac_admin member', $$SELECT litellm.helpful()$$, '42501');
RESET ROLE;
SELECT pg_temp.expect_error('definer function of the proxy, called by a superuser', $$SELECT litellm.helpful()$$, '42501');
SELECT pg_temp.expect_eq('still no proxy-admin key', (SELECT count(*) FROM rbac.keys WHERE user_id = 'u-admin'), (SELECT n FROM minted_before));

-- 3. the implementations behind the public functions are closed to everyone but the owner, and nothing the
--    administrator's frame evaluates for the proxy's function (its argument defaults) carries any rights
--    (views, plain triggers and column defaults owned by the proxy run with the reader's rights: PostgreSQL's
--    rule, documented in docs/secure-deployment.md — administrators do not touch the proxy's objects)
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_error('implementation of team_new', $$SELECT rbac._team_new('t-direct')$$, '42501');
SELECT pg_temp.expect_error('implementation of key_generate', $$SELECT * FROM rbac._key_generate(user_id => 'u-admin')$$, '42501');
SELECT pg_temp.expect_error('caller bookkeeping', $$SELECT rbac._management_caller_administers('x')$$, '42501');
-- a definer function of the proxy whose argument defaults are evaluated in the administrator's frame
CREATE FUNCTION litellm.health(probe text DEFAULT current_user) RETURNS text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
BEGIN
  PERFORM rbac.user_new('evil-admin', user_role => 'proxy_admin');
  RETURN probe;
END $$;
GRANT EXECUTE ON FUNCTION litellm.health(text) TO PUBLIC;
RESET ROLE;
SET LOCAL ROLE atk_dba;
SELECT pg_temp.expect_error('defaults evaluated as the administrator carry nothing', $$SELECT litellm.health()$$, '42501');
RESET ROLE;
SELECT pg_temp.expect_eq('no proxy_admin user was created', (SELECT count(*) FROM rbac.users WHERE user_id = 'evil-admin'), 0::bigint);
-- outside a security-restricted operation the superuser still calls the implementation only through the entry point
SELECT pg_temp.expect_error('the owner calling an implementation directly', $$SELECT rbac._team_new('t-direct')$$, '42501');

-- 4. administrators still manage without a principal, and the audit names the effective role
SET LOCAL ROLE atk_dba;
SELECT pg_temp.expect_eq('rbac_admin member manages without a principal', (SELECT team_id FROM rbac.team_new('t-by-dba')), 't-by-dba');
RESET ROLE;
SELECT pg_temp.expect_eq('audit: management call by atk_dba', (SELECT db_user FROM rbac.audit_log
  WHERE table_name = 'teams' AND object_id = 't-by-dba' AND action = 'created'), 'atk_dba');
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('proxy authenticates as proxy admin', (SELECT allowed FROM rbac.authenticate('sk-cd-admin-000001')), true);
SELECT pg_temp.expect_eq('proxy creates a team as proxy admin', (SELECT team_id FROM rbac.team_new('t-by-proxy')), 't-by-proxy');
SELECT pg_temp.expect_eq('audit: management call by atk_proxy', (SELECT db_user || '/' || actor FROM rbac.audit_log
  WHERE table_name = 'teams' AND object_id = 't-by-proxy' AND action = 'created'), 'atk_proxy/u-admin');
RESET ROLE;
-- plain DML by an rbac_admin member inside a definer function it owns, called by the superuser
CREATE SCHEMA dba_tools AUTHORIZATION atk_dba;
SET LOCAL ROLE atk_dba;
CREATE FUNCTION dba_tools.rename() RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
  UPDATE rbac.teams SET team_alias = 'renamed' WHERE team_id = 't-by-dba'
$$;
RESET ROLE;
SELECT dba_tools.rename();
SELECT pg_temp.expect_eq('audit: DML in atk_dba''s definer function run by a superuser names atk_dba',
  (SELECT db_user FROM rbac.audit_log WHERE table_name = 'teams' AND object_id = 't-by-dba' AND action = 'updated'), 'atk_dba');
-- cascaded deletes keep the role of the statement that caused them
SET LOCAL ROLE atk_dba;
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-cd-cascade-00001'), 'u-plain');
DELETE FROM rbac.users WHERE user_id = 'u-plain';
RESET ROLE;
SELECT pg_temp.expect_eq('audit: cascaded key deletes name the role that deleted the user',
  (SELECT array_agg(DISTINCT db_user) FROM rbac.audit_log WHERE table_name = 'keys' AND action = 'deleted'), ARRAY['atk_dba']);
