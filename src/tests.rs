//! In-database tests (`cargo pgrx test`): each gate's edge cases — empty and NULL inputs, wildcards, budgets at
//! exactly the limit, expiry at exactly now, period resets, quota argument validation.
use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// (allowed, reason) of one rbac_check; `model` and `token` are SQL expressions.
    fn check(token: &str, route: &str, model: &str) -> (bool, String) {
        let (allowed, reason) = Spi::get_two::<bool, String>(&format!(
            "SELECT allowed, reason FROM rbac.rbac_check({token}, '{route}', {model})"
        ))
        .expect("rbac_check runs");
        (
            allowed.expect("allowed is never NULL"),
            reason.expect("reason is never NULL"),
        )
    }

    fn denied(reason: &str) -> (bool, String) {
        (false, reason.to_string())
    }

    fn ok() -> (bool, String) {
        (true, "ok".to_string())
    }

    fn run(sql: &str) {
        Spi::run(sql).expect(sql);
    }

    fn one<T: FromDatum + IntoDatum>(sql: &str) -> T {
        Spi::get_one::<T>(sql).expect(sql).expect("a value")
    }

    /// The (SQLSTATE, message) `stmt` fails with, or ("00000", "") when it succeeds.
    fn error_of(stmt: &str) -> (String, String) {
        run("CREATE OR REPLACE FUNCTION pg_temp.error_of(stmt text) RETURNS text[] LANGUAGE plpgsql AS $f$
             BEGIN EXECUTE stmt; RETURN ARRAY['00000', ''];
             EXCEPTION WHEN OTHERS THEN RETURN ARRAY[SQLSTATE, SQLERRM]; END $f$");
        let got = one::<Vec<String>>(&format!("SELECT pg_temp.error_of($stmt${stmt}$stmt$)"));
        (got[0].clone(), got[1].clone())
    }

    fn invalid_parameter(message: &str) -> (String, String) {
        ("22023".to_string(), message.to_string())
    }

    #[pg_test]
    fn litellm_hash_is_compatible() {
        assert_eq!(
            one::<String>("SELECT rbac.hash_key('sk-1234')"),
            "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
        );
        run("INSERT INTO rbac.keys(key_hash) VALUES (rbac.hash_key('sk-1234'))");
        assert_eq!(check("'sk-1234'", "/chat/completions", "'gpt-4o'"), ok());
        assert_eq!(
            check("'sk-12345'", "/chat/completions", "'gpt-4o'"),
            denied("invalid_token")
        );
    }

    #[pg_test]
    fn empty_and_null_tokens_are_decisions() {
        assert_eq!(
            check("NULL", "/chat/completions", "'gpt-4o'"),
            denied("missing_token")
        );
        assert_eq!(
            check("''", "/chat/completions", "'gpt-4o'"),
            denied("missing_token")
        );
        assert_eq!(
            check("'   '", "/chat/completions", "'gpt-4o'"),
            denied("missing_token")
        );
        assert_eq!(
            check("'Bearer '", "/chat/completions", "'gpt-4o'"),
            denied("missing_token")
        );
        assert_eq!(
            check("'sk-'", "/chat/completions", "'gpt-4o'"),
            denied("invalid_token")
        );
        assert_eq!(
            check("'x.y'", "/chat/completions", "'gpt-4o'"),
            denied("invalid_token")
        );
        assert_eq!(
            check("'a.b.c'", "/chat/completions", "'gpt-4o'"),
            denied("invalid_token")
        );
        assert_eq!(
            check("repeat('A', 100000)", "/chat/completions", "'gpt-4o'"),
            denied("invalid_token")
        );
        assert_eq!(
            check("E'sk-\\u00e9\\u4e2d'", "/chat/completions", "'gpt-4o'"),
            denied("invalid_token")
        );
        assert_eq!(
            one::<i32>("SELECT http_status FROM rbac.rbac_check(NULL, '/chat/completions', NULL)"),
            401
        );
    }

    #[pg_test]
    fn bearer_prefix_and_query_string_are_ignored() {
        run("INSERT INTO rbac.keys(key_hash, allowed_routes) VALUES (rbac.hash_key('sk-edge-bearer-01'), ARRAY['/chat/completions'])");
        assert_eq!(
            check(
                "'Bearer sk-edge-bearer-01'",
                "/chat/completions?x=1",
                "'gpt-4o'"
            ),
            ok()
        );
        assert_eq!(
            check("' sk-edge-bearer-01 '", "/chat/completions", "'gpt-4o'"),
            ok()
        );
    }

    #[pg_test]
    fn null_route_raises_22023() {
        assert_eq!(
            error_of("SELECT rbac.rbac_check('sk-1234', NULL, 'gpt-4o')"),
            invalid_parameter("route must be a non-empty request path such as /chat/completions")
        );
    }

    #[pg_test]
    fn empty_route_raises_22023() {
        assert_eq!(
            error_of("SELECT rbac.rbac_check('sk-1234', '', 'gpt-4o')"),
            invalid_parameter("route must be a non-empty request path such as /chat/completions")
        );
    }

    #[pg_test]
    fn null_or_empty_model_skips_the_model_gate_only() {
        run("INSERT INTO rbac.keys(key_hash, models) VALUES (rbac.hash_key('sk-edge-models-001'), ARRAY['gpt-4o'])");
        assert_eq!(check("'sk-edge-models-001'", "/key/info", "NULL"), ok());
        assert_eq!(check("'sk-edge-models-001'", "/key/info", "''"), ok());
        assert_eq!(
            check("'sk-edge-models-001'", "/chat/completions", "'gpt-4o-mini'"),
            denied("key_model_access_denied")
        );
    }

    #[pg_test]
    fn expiry_at_exactly_now_is_expired() {
        // now() is the transaction start, the instant rbac_check compares with
        run("INSERT INTO rbac.keys(key_hash, expires) VALUES (rbac.hash_key('sk-edge-exp-now-01'), now()),
                                                      (rbac.hash_key('sk-edge-exp-next-1'), now() + interval '1 microsecond')");
        assert_eq!(
            check("'sk-edge-exp-now-01'", "/chat/completions", "'gpt-4o'"),
            denied("token_expired")
        );
        assert_eq!(
            check("'sk-edge-exp-next-1'", "/chat/completions", "'gpt-4o'"),
            ok()
        );
    }

    #[pg_test]
    fn budget_boundaries_at_every_level() {
        run("INSERT INTO rbac.organizations(organization_id, max_budget, spend) VALUES ('o-edge', 100, 99.999999)");
        run("INSERT INTO rbac.teams(team_id, organization_id, max_budget, spend) VALUES ('t-edge', 'o-edge', 50, 49.99)");
        run("INSERT INTO rbac.users(user_id, max_budget, spend) VALUES ('u-edge', 5, 5)");
        run("INSERT INTO rbac.keys(key_hash, team_id, max_budget, spend) VALUES (rbac.hash_key('sk-edge-budget-001'), 't-edge', 1, 0.999999)");
        run("INSERT INTO rbac.keys(key_hash, user_id) VALUES (rbac.hash_key('sk-edge-user-full1'), 'u-edge')");
        assert_eq!(
            check("'sk-edge-budget-001'", "/chat/completions", "'gpt-4o'"),
            ok(),
            "just below every budget"
        );
        run("UPDATE rbac.keys SET spend = 1 WHERE key_hash = rbac.hash_key('sk-edge-budget-001')");
        assert_eq!(
            check("'sk-edge-budget-001'", "/chat/completions", "'gpt-4o'"),
            denied("budget_exceeded")
        );
        assert_eq!(
            one::<String>("SELECT limit_scope FROM rbac.rbac_check('sk-edge-budget-001', '/chat/completions', 'gpt-4o')"),
            "key"
        );
        run("UPDATE rbac.keys SET spend = 0 WHERE key_hash = rbac.hash_key('sk-edge-budget-001')");
        run("UPDATE rbac.organizations SET spend = 100 WHERE organization_id = 'o-edge'");
        assert_eq!(
            one::<String>("SELECT limit_scope FROM rbac.rbac_check('sk-edge-budget-001', '/chat/completions', 'gpt-4o')"),
            "organization"
        );
        // the user budget applies to personal keys only (docs/semantics.md §9.1)
        assert_eq!(
            one::<String>("SELECT limit_scope FROM rbac.rbac_check('sk-edge-user-full1', '/chat/completions', 'gpt-4o')"),
            "user"
        );
        // budgets never gate info and model-discovery routes
        assert_eq!(check("'sk-edge-user-full1'", "/key/info", "NULL"), ok());
        assert_eq!(check("'sk-edge-user-full1'", "/v1/models", "NULL"), ok());
        // proxy admins are budgeted too
        run("UPDATE rbac.users SET user_role = 'proxy_admin' WHERE user_id = 'u-edge'");
        assert_eq!(
            check("'sk-edge-user-full1'", "/chat/completions", "'gpt-4o'"),
            denied("budget_exceeded")
        );
    }

    #[pg_test]
    fn lapsed_period_resets_exactly_once() {
        run("INSERT INTO rbac.keys(key_hash, max_budget, spend, budget_duration, budget_reset_at)
             VALUES (rbac.hash_key('sk-edge-reset-0001'), 10, 10, '1d', now() - interval '1 second')");
        assert_eq!(
            check("'sk-edge-reset-0001'", "/chat/completions", "'gpt-4o'"),
            ok()
        );
        let first = one::<String>("SELECT budget_reset_at::text FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-edge-reset-0001')");
        assert_eq!(
            check("'sk-edge-reset-0001'", "/chat/completions", "'gpt-4o'"),
            ok()
        );
        let second = one::<String>("SELECT budget_reset_at::text FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-edge-reset-0001')");
        assert_eq!(
            first, second,
            "the second check must not move the period again"
        );
        assert!(one::<bool>("SELECT budget_reset_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day'
                             FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-edge-reset-0001')"));
    }

    #[pg_test]
    fn read_only_transactions_decide_without_writing() {
        run("INSERT INTO rbac.keys(key_hash, max_budget, spend, budget_duration, budget_reset_at)
             VALUES (rbac.hash_key('sk-edge-ro-reset01'), 10, 10, '1d', now() - interval '1 second')");
        run("SET LOCAL transaction_read_only = on");
        assert_eq!(
            check("'sk-edge-ro-reset01'", "/chat/completions", "'gpt-4o'"),
            ok(),
            "a lapsed period counts as spend 0"
        );
    }

    #[pg_test]
    fn litellm_calendar_alignment() {
        let at = |d: &str, ts: &str| {
            one::<String>(&format!(
                "SELECT rbac.next_budget_reset('{d}', '{ts}+00')::text"
            ))
        };
        // docs/semantics.md §9.4
        assert_eq!(at("1d", "2023-05-15 10:30:00"), "2023-05-16 00:00:00+00");
        assert_eq!(at("7d", "2023-05-17 15:45:00"), "2023-05-22 00:00:00+00");
        assert_eq!(at("30d", "2023-05-15 10:30:00"), "2023-06-01 00:00:00+00");
        assert_eq!(at("3d", "2023-05-15 10:30:00"), "2023-05-18 00:00:00+00");
        assert_eq!(at("1w", "2023-05-17 10:30:00"), "2023-05-22 00:00:00+00");
        assert_eq!(at("2w", "2023-05-17 10:30:00"), "2023-05-31 00:00:00+00");
        assert_eq!(at("2h", "2023-05-15 15:20:30"), "2023-05-15 16:00:00+00");
        assert_eq!(at("30m", "2023-05-15 15:20:30"), "2023-05-15 15:30:00+00");
        assert_eq!(at("15s", "2023-05-15 15:20:30"), "2023-05-15 15:20:45+00");
        assert_eq!(at("2h", "2023-05-15 14:00:00"), "2023-05-15 16:00:00+00");
        assert_eq!(at("30m", "2023-05-15 23:50:00"), "2023-05-16 00:00:00+00");
        assert_eq!(at("5h", "2023-05-15 22:30:00"), "2023-05-16 01:00:00+00");
        assert_eq!(at("1mo", "2023-12-15 10:00:00"), "2024-01-01 00:00:00+00");
        assert_eq!(
            at("1d", "2023-05-15 00:00:00"),
            "2023-05-16 00:00:00+00",
            "strictly after now"
        );
    }

    #[pg_test(
        error = "teams.budget_duration must be a positive whole number and one unit of s, m, h, d, w, mo such as 30d or 1mo (got \"1h30m\")"
    )]
    fn compound_durations_are_rejected() {
        Spi::run(
            "INSERT INTO rbac.teams(team_id, budget_duration) VALUES ('t-bad-duration', '1h30m')",
        )
        .unwrap();
    }

    #[pg_test]
    fn model_lists_and_wildcards() {
        run("INSERT INTO rbac.models(model_name, provider, access_groups) VALUES
             ('gpt-4o', 'openai', ARRAY['g1']), ('claude-3', 'anthropic', '{}'), ('bedrock/*', 'bedrock', ARRAY['g-bedrock'])");
        let allowed =
            |m: &str, list: &str| one::<bool>(&format!("SELECT rbac.model_allowed('{m}', {list})"));
        assert!(allowed("anything", "NULL"));
        assert!(allowed("anything", "'{}'"));
        assert!(allowed("anything", "ARRAY[NULL]::text[]"));
        assert!(allowed("gpt-4o", "ARRAY['openai/*']"));
        assert!(!allowed("claude-3", "ARRAY['openai/*']"));
        assert!(!allowed("bedrockz/claude", "ARRAY['bedrock/*']"));
        assert!(
            allowed("bedrock/anything-new", "ARRAY['g-bedrock']"),
            "group of a wildcard deployment"
        );
        assert!(allowed("gpt-4o", "ARRAY['g1']"));
        assert!(!allowed("gpt-4o", "ARRAY['gpt-4O']"));
        assert!(
            !allowed("gpt-4o", "ARRAY['all-team-models']"),
            "only special inside a key/team list"
        );
        assert_eq!(
            Spi::get_one::<String>("SELECT rbac.models_within(ARRAY['gpt-4o'], ARRAY['g1'])")
                .unwrap(),
            None
        );
        assert_eq!(
            Spi::get_one::<String>(
                "SELECT rbac.models_within(ARRAY['g1', 'claude-3'], ARRAY['gpt-4o'])"
            )
            .unwrap(),
            Some("claude-3".to_string())
        );
    }

    #[pg_test]
    fn route_templates_and_azure_paths() {
        run("INSERT INTO rbac.users(user_id, user_role) VALUES ('u-route', 'internal_user')");
        run("INSERT INTO rbac.keys(key_hash, user_id) VALUES (rbac.hash_key('sk-edge-routes-001'), 'u-route')");
        assert_eq!(
            check(
                "'sk-edge-routes-001'",
                "/openai/deployments/gpt-4o/chat/completions",
                "'gpt-4o'"
            ),
            ok()
        );
        assert_eq!(
            check("'sk-edge-routes-001'", "/v1/threads/th_1", "NULL"),
            ok()
        );
        assert_eq!(
            check(
                "'sk-edge-routes-001'",
                "/v1beta/models/gemini-2.0-flash:generateContent",
                "NULL"
            ),
            ok()
        );
        assert_eq!(
            check("'sk-edge-routes-001'", "/config/update", "NULL"),
            denied("route_not_allowed")
        );
        assert_eq!(
            check("'sk-edge-routes-001'", "/global/spend/logs", "NULL"),
            denied("route_not_allowed")
        );
        run("UPDATE rbac.keys SET permissions = '{\"get_spend_routes\": true}' WHERE key_hash = rbac.hash_key('sk-edge-routes-001')");
        assert_eq!(
            check("'sk-edge-routes-001'", "/global/spend/logs", "NULL"),
            ok()
        );
    }

    #[pg_test]
    fn regenerated_key_works_during_its_grace_period() {
        run("INSERT INTO rbac.keys(key_hash) VALUES (rbac.hash_key('sk-edge-new-key-01'))");
        run("INSERT INTO rbac.deprecated_keys VALUES (rbac.hash_key('sk-edge-old-key-01'), rbac.hash_key('sk-edge-new-key-01'), now() + interval '1 hour'),
                                                   (rbac.hash_key('sk-edge-old-key-02'), rbac.hash_key('sk-edge-new-key-01'), now())");
        assert_eq!(
            check("'sk-edge-old-key-01'", "/chat/completions", "'gpt-4o'"),
            ok()
        );
        assert_eq!(
            one::<String>("SELECT key_hash FROM rbac.rbac_check('sk-edge-old-key-01', '/chat/completions', 'gpt-4o')"),
            one::<String>("SELECT rbac.hash_key('sk-edge-new-key-01')")
        );
        assert_eq!(
            check("'sk-edge-old-key-02'", "/chat/completions", "'gpt-4o'"),
            denied("invalid_token"),
            "grace over at now"
        );
    }

    #[pg_test]
    fn negative_cost_raises_22023() {
        assert_eq!(
            error_of("SELECT rbac.consume_quota('sk-x', '/chat/completions', 'gpt-4o', 1, 0, -1)"),
            invalid_parameter("cost must be a finite amount in USD >= 0 (got -1)")
        );
    }

    #[pg_test]
    fn negative_tokens_raise_22023() {
        assert_eq!(
            error_of("SELECT rbac.consume_quota('sk-x', '/chat/completions', 'gpt-4o', 1, -5, 0)"),
            invalid_parameter("requests and tokens must be >= 0")
        );
    }

    #[pg_test]
    fn error_of_sees_success() {
        assert_eq!(error_of("SELECT 1"), ("00000".to_string(), String::new()));
    }

    #[pg_test]
    fn quota_levels_and_settle() {
        run("INSERT INTO rbac.organizations(organization_id, rpm_limit, max_budget) VALUES ('o-q', 3, 1)");
        run("INSERT INTO rbac.teams(team_id, organization_id, tpm_limit, metadata) VALUES ('t-q', 'o-q', 100, '{\"model_rpm_limit\": {\"gpt-4o\": 2}}')");
        run("INSERT INTO rbac.users(user_id, rpm_limit) VALUES ('u-q', 10)");
        run("INSERT INTO rbac.team_members(team_id, user_id, rpm_limit) VALUES ('t-q', 'u-q', 10)");
        run("INSERT INTO rbac.keys(key_hash, team_id, user_id) VALUES (rbac.hash_key('sk-edge-quota-0001'), 't-q', 'u-q')");
        let quota = |model: &str, tokens: i64, cost: &str| {
            Spi::get_two::<String, String>(&format!(
                "SELECT reason, limit_scope FROM rbac.consume_quota('sk-edge-quota-0001', '/chat/completions', '{model}', 1, {tokens}, {cost})"
            ))
            .unwrap()
        };
        assert_eq!(quota("gpt-4o", 10, "0.5"), (Some("ok".into()), None));
        assert_eq!(quota("gpt-4o", 10, "0.5"), (Some("ok".into()), None));
        assert_eq!(
            quota("gpt-4o", 10, "0"),
            (
                Some("rate_limit_exceeded".into()),
                Some("model_per_team".into())
            )
        );
        assert_eq!(
            quota("claude-3", 10, "0.01"),
            (Some("budget_exceeded".into()), Some("organization".into()))
        );
        assert_eq!(
            quota("claude-3", 100, "0"),
            (Some("rate_limit_exceeded".into()), Some("team".into())),
            "tpm 100"
        );
        assert_eq!(quota("claude-3", 10, "0"), (Some("ok".into()), None));
        assert_eq!(
            quota("claude-3", 10, "0"),
            (
                Some("rate_limit_exceeded".into()),
                Some("organization".into())
            ),
            "org rpm 3"
        );
        // settle records actual spend everywhere, once
        run("UPDATE rbac.organizations SET rpm_limit = NULL WHERE organization_id = 'o-q'");
        let id = one::<pgrx::Uuid>("SELECT rbac.reservations.reservation_id FROM rbac.reservations WHERE cost = 0.5 ORDER BY created_at LIMIT 1");
        assert!(one::<bool>(&format!(
            "SELECT rbac.settle('{id}', 7, 3, 0.25)"
        )));
        assert!(
            !one::<bool>(&format!("SELECT rbac.settle('{id}', 7, 3, 0.25)")),
            "idempotent"
        );
        assert!(
            !one::<bool>(&format!("SELECT rbac.release('{id}')")),
            "a settled reservation cannot be released"
        );
        assert_eq!(one::<String>("SELECT spend::text || '/' || reserved::text FROM rbac.organizations WHERE organization_id = 'o-q'"), "0.25/0.5");
        assert_eq!(
            one::<String>("SELECT spend::text FROM rbac.teams WHERE team_id = 't-q'"),
            "0.25"
        );
        assert_eq!(
            one::<String>("SELECT spend::text FROM rbac.team_members WHERE team_id = 't-q'"),
            "0.25"
        );
        assert_eq!(
            one::<String>("SELECT spend::text FROM rbac.users WHERE user_id = 'u-q'"),
            "0.25"
        );
        assert_eq!(one::<i64>(&format!("SELECT prompt_tokens + completion_tokens FROM rbac.spend_log WHERE request_id = '{id}'")), 10);
    }
}
