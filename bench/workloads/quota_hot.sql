SELECT * FROM rbac.consume_quota('sk-bench-hot-0001', '/chat/completions', 'gpt-4o', 1, 15, 0.0001);
