SELECT * FROM rbac.rbac_check('sk-bench-vk-0001', '/chat/completions', 'gpt-4o');
