SELECT rbac.settle(q.reservation_id, 10, 5, 0.0001) FROM rbac.consume_quota('sk-bench-settle-0001', '/chat/completions', 'gpt-4o', 1, 15, 0.0001) q;
