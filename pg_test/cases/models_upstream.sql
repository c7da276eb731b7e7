-- Upstream columns of rbac.models (docs/proxy.md): where a proxy sends a model's requests. The provider key never
-- enters the database, only the name of the proxy host's environment variable that holds it.
INSERT INTO rbac.models(model_name, provider, api_base, upstream_model, api_key_env, input_cost_per_token, output_cost_per_token)
VALUES ('gpt-4o', 'openai', 'https://api.openai.com/v1', 'gpt-4o-2024-08-06', 'OPENAI_API_KEY', 0.0000025, 0.00001);
SELECT pg_temp.expect_eq('stored as given',
  (SELECT row(api_base, upstream_model, api_key_env)::text FROM rbac.models WHERE model_name = 'gpt-4o'),
  row('https://api.openai.com/v1', 'gpt-4o-2024-08-06', 'OPENAI_API_KEY')::text);
INSERT INTO rbac.models(model_name, api_base) VALUES ('local', 'http://127.0.0.1:8089');
SELECT pg_temp.expect_eq('upstream_model defaults to NULL (= model_name)', (SELECT upstream_model FROM rbac.models WHERE model_name = 'local'), NULL::text);
SELECT pg_temp.expect_error('credentials in api_base', $$INSERT INTO rbac.models(model_name, api_base) VALUES ('m', 'https://user:pw@api.example/v1')$$, '23514');
SELECT pg_temp.expect_error('query string in api_base', $$INSERT INTO rbac.models(model_name, api_base) VALUES ('m', 'https://api.example/v1?key=x')$$, '23514');
SELECT pg_temp.expect_error('not http(s)', $$INSERT INTO rbac.models(model_name, api_base) VALUES ('m', 'file:///etc/passwd')$$, '23514');
SELECT pg_temp.expect_error('a key instead of a variable name', $$INSERT INTO rbac.models(model_name, api_key_env) VALUES ('m', 'sk-proj-abc123')$$, '23514');
SELECT pg_temp.expect_error('empty upstream_model', $$INSERT INTO rbac.models(model_name, upstream_model) VALUES ('m', ' ')$$, '23514');
SELECT pg_temp.expect_eq('nothing invalid was stored', (SELECT count(*) FROM rbac.models WHERE model_name = 'm'), 0::bigint);
