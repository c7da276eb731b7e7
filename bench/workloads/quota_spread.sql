\set k random(1, 10000)
SELECT * FROM rbac.consume_quota('sk-bench-spread-' || :k, '/chat/completions', 'gpt-4o', 1, 15, 0.0001);
