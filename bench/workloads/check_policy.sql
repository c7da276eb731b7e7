\set k random(1, :nkeys)
SELECT * FROM rbac.rbac_check('sk-bench-pol-' || :k, '/chat/completions', 'gpt-4o');
