SELECT * FROM rbac.consume_quota('sk-bench-vk-0001', '/chat/completions', 'claude-3-5-sonnet', 1, 15, 0.0001);
