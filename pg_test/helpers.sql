-- Assertion helpers for the scenario cases in pg_test/cases/*.sql.
--
-- pg_test/runner.sh loads this file (then pg_test/fixtures/jwt_fixtures.sql) at the start of every case, inside
-- the case's transaction. Everything lives in the session's temporary schema (pg_temp), so nothing outlives the
-- case, whatever it commits or not.
--
-- What the cases may use:
--   pg_temp.tok(name, token)            table of named test tokens (the JWT fixtures fill it; cases may add rows)
--   pg_temp.tokn(name) -> text          the token called `name` (NULL if there is none)
--   pg_temp.h(plaintext) -> text        hex SHA-256 of a key's plaintext, i.e. the rbac.keys.key_hash of that key
--   pg_temp.expect_check(label, token, route, model, allowed, reason [, team, scope, end_user]) -> text
--                                       rbac.rbac_check(token, route, model, end_user) must give this allowed and
--                                       reason, and, when team / scope are not NULL, this team_id / limit_scope;
--                                       rbac.explain's last row must be the same decision
--   pg_temp.expect_quota(label, token, model, requests, tokens, cost, allowed, reason [, scope]) -> uuid
--                                       rbac.consume_quota on route /chat/completions must give this allowed and
--                                       reason (and limit_scope when scope is not NULL); returns the reservation id
--   pg_temp.expect_error(label, statement, sqlstate) -> text
--                                       the statement (run with EXECUTE) must fail with this SQLSTATE
--   pg_temp.expect_eq(label, actual, expected) -> text
--                                       actual IS NOT DISTINCT FROM expected (any type, both sides the same type)
--   pg_temp.fail(message)               report a failed expectation
--
-- A failed expectation stops the case with an error, unless the setting cases.keep_going is 'on' (runner.sh -k
-- sets it through PGOPTIONS): then it is reported as a WARNING starting with "FAIL [label]" and the case goes on,
-- so that one run lists every failure. Each failure is also counted in the transaction-local setting
-- cases.failures, which the runner reads at the end of the case (so that a failure still counts when a case
-- raises client_min_messages above WARNING).
--
-- The helpers run with the caller's privileges and search_path (a case may SET ROLE or plant objects in its
-- search_path on purpose); built-in functions are therefore called schema-qualified.
\set ON_ERROR_STOP 1

CREATE TEMP TABLE tok (
  name  text PRIMARY KEY,
  token text NOT NULL
);
-- Cases may switch to a less privileged role (SET ROLE rbac_api) and still look tokens up.
GRANT SELECT ON pg_temp.tok TO PUBLIC;

CREATE FUNCTION pg_temp.fail(msg text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  n integer := COALESCE(NULLIF(pg_catalog.current_setting('cases.failures', true), ''), '0')::integer;
BEGIN
  PERFORM pg_catalog.set_config('cases.failures', (n + 1)::text, true);
  IF pg_catalog.current_setting('cases.keep_going', true) IS NOT DISTINCT FROM 'on' THEN
    RAISE WARNING '%', msg;
  ELSE
    RAISE EXCEPTION '%', msg;
  END IF;
END
$fn$;

CREATE FUNCTION pg_temp.h(plaintext text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(plaintext, 'UTF8')), 'hex');

CREATE FUNCTION pg_temp.tokn(p_name text) RETURNS text
LANGUAGE sql
BEGIN ATOMIC
  SELECT t.token FROM pg_temp.tok t WHERE t.name = p_name;
END;

-- The decision rbac.explain ends with for the same request ("allowed reason"), or NULL where this build has no
-- explain. Every expect_check compares it with rbac_check's, so the property "explain's last row is rbac_check's
-- decision" is checked on every request of every scenario case. SECURITY DEFINER: it runs as the session's
-- superuser, since a case may have switched to a role that may not explain.
CREATE FUNCTION pg_temp.explained_decision(p_token text, p_route text, p_model text, p_end_user text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF to_regprocedure('rbac._explain_steps(text,text,text,text)') IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN (SELECT (s ->> 'passed') || ' ' || (s ->> 'subject')
          FROM jsonb_array_elements(rbac._explain_steps(p_token, p_route, p_model, p_end_user)) s
          WHERE s ->> 'gate' = 'decision');
END
$fn$;

CREATE FUNCTION pg_temp.expect_check(label text, p_token text, p_route text, p_model text,
                                     p_allowed bool, p_reason text,
                                     p_team text DEFAULT NULL, p_scope text DEFAULT NULL, p_end_user text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
  got       record;
  ok        boolean;
  explained text;
BEGIN
  SELECT * INTO got FROM rbac.rbac_check(p_token, p_route, p_model, p_end_user);
  ok := got.allowed IS NOT DISTINCT FROM p_allowed
        AND got.reason IS NOT DISTINCT FROM p_reason
        AND (p_team IS NULL OR got.team_id IS NOT DISTINCT FROM p_team)
        AND (p_scope IS NULL OR got.limit_scope IS NOT DISTINCT FROM p_scope);
  IF ok THEN
    explained := pg_temp.explained_decision(p_token, p_route, p_model, p_end_user);
    IF explained IS NOT NULL AND explained IS DISTINCT FROM got.allowed::text || ' ' || got.reason THEN
      PERFORM pg_temp.fail(pg_catalog.format('FAIL [%s] rbac.explain ends with %L, rbac_check decided %L', label,
                                             explained, got.allowed::text || ' ' || got.reason));
      RETURN 'failed ' || label;
    END IF;
    RETURN 'ok ' || label;
  END IF;
  PERFORM pg_temp.fail(pg_catalog.format(
    'FAIL [%s] rbac_check(route %L, model %L, end user %L): want allowed=%s reason=%L team=%s scope=%s; '
    'got allowed=%s reason=%L team=%L scope=%L message=%L',
    label, p_route, p_model, p_end_user, COALESCE(p_allowed::text, 'NULL'), p_reason,
    COALESCE(pg_catalog.quote_literal(p_team), '(any)'), COALESCE(pg_catalog.quote_literal(p_scope), '(any)'),
    COALESCE(got.allowed::text, 'NULL'), got.reason, got.team_id, got.limit_scope, got.message));
  RETURN 'failed ' || label;
END
$fn$;

CREATE FUNCTION pg_temp.expect_quota(label text, p_token text, p_model text, p_requests int, p_tokens bigint,
                                     p_cost numeric, p_allowed bool, p_reason text, p_scope text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql AS $fn$
DECLARE
  got record;
BEGIN
  SELECT * INTO got FROM rbac.consume_quota(p_token, '/chat/completions', p_model, p_requests, p_tokens, p_cost);
  IF NOT (got.allowed IS NOT DISTINCT FROM p_allowed
          AND got.reason IS NOT DISTINCT FROM p_reason
          AND (p_scope IS NULL OR got.limit_scope IS NOT DISTINCT FROM p_scope)) THEN
    PERFORM pg_temp.fail(pg_catalog.format(
      'FAIL [%s] consume_quota(model %L, %s requests, %s tokens, cost %s): want allowed=%s reason=%L scope=%s; '
      'got allowed=%s reason=%L scope=%L',
      label, p_model, p_requests, p_tokens, p_cost, COALESCE(p_allowed::text, 'NULL'), p_reason,
      COALESCE(pg_catalog.quote_literal(p_scope), '(any)'), COALESCE(got.allowed::text, 'NULL'), got.reason,
      got.limit_scope));
  END IF;
  RETURN got.reservation_id;
END
$fn$;

CREATE FUNCTION pg_temp.expect_error(label text, stmt text, p_sqlstate text) RETURNS text
LANGUAGE plpgsql AS $fn$
BEGIN
  BEGIN
    EXECUTE stmt;
  EXCEPTION WHEN OTHERS THEN
    -- The failed statement's effects are undone with the block's subtransaction.
    IF SQLSTATE = p_sqlstate THEN
      RETURN 'ok ' || label;
    END IF;
    PERFORM pg_temp.fail(pg_catalog.format('FAIL [%s] want SQLSTATE %s, got %s: %s', label, p_sqlstate, SQLSTATE, SQLERRM));
    RETURN 'failed ' || label;
  END;
  -- It succeeded (and its effects stay, as for any statement of the case).
  PERFORM pg_temp.fail(pg_catalog.format('FAIL [%s] want SQLSTATE %s, but the statement succeeded: %s', label, p_sqlstate, stmt));
  RETURN 'failed ' || label;
END
$fn$;

CREATE FUNCTION pg_temp.expect_eq(label text, actual anyelement, expected anyelement) RETURNS text
LANGUAGE plpgsql AS $fn$
BEGIN
  IF actual IS NOT DISTINCT FROM expected THEN
    RETURN 'ok ' || label;
  END IF;
  PERFORM pg_temp.fail(pg_catalog.format('FAIL [%s] want %s, got %s', label,
                       COALESCE(expected::text, 'NULL'), COALESCE(actual::text, 'NULL')));
  RETURN 'failed ' || label;
END
$fn$;
