-- pg_rbac 0.3.0 — placeholder (issue 13); replaced by its author.
SELECT 1;
