-- The SECURITY DEFINER entry points must not run code planted in the caller's search_path (a classic privilege
-- escalation): their search_path is fixed to pg_catalog, pg_temp.
INSERT INTO rbac.keys(key_hash, max_budget, spend, budget_duration, budget_reset_at)
  VALUES (pg_temp.h('sk-case-searchpath-01'), 10, 1, '1d', now() + interval '1 hour');
CREATE SCHEMA evil;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked now()'; END $$;
CREATE FUNCTION evil.coalesce_bad() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION evil.gen_random_uuid() RETURNS uuid LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked gen_random_uuid()'; END $$;
CREATE FUNCTION evil.greatest_text(a text) RETURNS text LANGUAGE sql AS 'SELECT a';
SET LOCAL search_path = evil, pg_catalog, public;
SELECT pg_temp.expect_check('rbac_check ignores planted functions', 'sk-case-searchpath-01', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_eq('consume_quota ignores planted functions',
  (SELECT reason FROM rbac.consume_quota('sk-case-searchpath-01', '/chat/completions', 'gpt-4o', 1, 10, 0.5)), 'ok');
SELECT pg_temp.expect_eq('authenticate ignores planted functions',
  (SELECT allowed FROM rbac.authenticate('sk-case-searchpath-01')), true);
RESET search_path;
