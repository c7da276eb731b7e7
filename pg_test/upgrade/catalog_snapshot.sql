-- A canonical, sorted text description of everything the pg_rbac extension defines in the current database:
-- functions (full definitions, volatility, security, settings, privileges), tables (columns, defaults,
-- constraints, persistence, options, row-level security), indexes, policies, triggers, types, sequences,
-- privileges, comments, extension membership and dump configuration, and the built-in route groups.
-- Two databases with the same snapshot have the same installed schema; used by pg_test/client/upgrade.sh.
-- Owners and OIDs are left out (they differ between installs and mean nothing to the schema).
\set QUIET on
\pset tuples_only on
\pset format unaligned
SET search_path = pg_catalog;
WITH ns AS (SELECT 'rbac'::regnamespace AS oid),
ext AS (SELECT oid FROM pg_extension WHERE extname = 'pg_rbac'),
lines(line) AS (
  SELECT 'function ' || p.oid::regprocedure::text || E'\n' || pg_get_functiondef(p.oid)
         || E'\n  acl ' || coalesce(p.proacl::text, '-')
         || E'\n  comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
  FROM pg_proc p, ns WHERE p.pronamespace = ns.oid AND p.prokind IN ('f', 'p', 'w')
  UNION ALL
  SELECT 'aggregate ' || p.oid::regprocedure::text FROM pg_proc p, ns WHERE p.pronamespace = ns.oid AND p.prokind = 'a'
  UNION ALL
  SELECT 'relation ' || c.relname || ' kind=' || c.relkind::text || ' persistence=' || c.relpersistence::text
         || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity || ' options=' || coalesce(c.reloptions::text, '-')
         || ' acl=' || coalesce(c.relacl::text, '-') || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
  FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
  UNION ALL
  SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
         || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
         || ' acl=' || coalesce(a.attacl::text, '-') || ' comment=' || coalesce(col_description(c.oid, a.attnum), '-')
         || ' position=' || a.attnum
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum, ns
  WHERE c.relnamespace = ns.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  UNION ALL
  SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
  FROM pg_constraint c, ns WHERE c.connamespace = ns.oid
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid, ns
  WHERE c.relnamespace = ns.oid
  UNION ALL
  SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' ' || roles::text || ' '
         || cmd || ' using=' || coalesce(qual, '-') || ' check=' || coalesce(with_check, '-')
  FROM pg_policies WHERE schemaname = 'rbac'
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid, ns WHERE c.relnamespace = ns.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT 'type ' || t.typname || ' ' || t.typtype::text || ' base=' || format_type(t.typbasetype, t.typtypmod)
         || ' constraints=' || coalesce((SELECT string_agg(pg_get_constraintdef(con.oid), ';' ORDER BY con.conname)
                                         FROM pg_constraint con WHERE con.contypid = t.oid), '-')
         || ' comment=' || coalesce(obj_description(t.oid, 'pg_type'), '-')
  FROM pg_type t, ns WHERE t.typnamespace = ns.oid AND t.typtype IN ('d', 'e')
  UNION ALL
  SELECT 'schema rbac acl=' || coalesce(n.nspacl::text, '-') || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
  FROM pg_namespace n, ns WHERE n.oid = ns.oid
  UNION ALL
  SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
  FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
  UNION ALL
  SELECT 'dumped ' || c.relname || ' where=' || coalesce(cond, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(rel, cond) JOIN pg_class c ON c.oid = u.rel
  WHERE e.extname = 'pg_rbac'
  UNION ALL
  SELECT 'route_groups builtin ' || count(*) || ' ' || md5(string_agg(group_name || '=' || pattern, ',' ORDER BY group_name, pattern))
  FROM rbac.route_groups WHERE builtin
)
SELECT line FROM lines ORDER BY line;
