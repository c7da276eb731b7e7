-- Fixture for documentation examples (pg_test/docs/run_docs.pl, `fixture=demo`): the demo policy the docs'
-- examples are written against (demo/policy.sql: organization acme, its teams, users, keys and customers).
\ir ../../demo/policy.sql
