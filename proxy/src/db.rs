//! Everything the proxy asks the database. Each statement is a prepared statement (cached per pooled
//! connection). No decision is taken here: the rows come back as the database wrote them.
//!
//! Transactions (docs/proxy.md "Transactions"):
//! * admission: `BEGIN; rbac.authenticate(token); read the rbac.models row; COMMIT` (pipelined, one round
//!   trip), then `rbac.consume_quota` in autocommit — it commits before the upstream call, so no lock is held
//!   while the model runs;
//! * `rbac.settle` / `rbac.release`: one autocommit statement each;
//! * management: `BEGIN; rbac.authenticate(token); <management function>; COMMIT`.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_util::future::join4;
use serde_json::Value;
use tokio_postgres::Row;

use crate::errors::{from_db_error, from_pool_error, ApiError};

pub const SQL_AUTHENTICATE: &str =
    "SELECT allowed, http_status, reason, coalesce(message, '') FROM rbac.authenticate($1::text)";

/// The catalogue row for a model: an exact name first, else the longest matching wildcard row (`bedrock/*`).
/// Readable by rbac_api only after rbac.authenticate in the same transaction.
pub const SQL_MODEL: &str = "SELECT model_name, api_base, upstream_model, api_key_env, \
       input_cost_per_token::text, output_cost_per_token::text \
  FROM rbac.models \
 WHERE model_name = $1::text \
    OR (strpos(model_name, '*') > 0 \
        AND $1::text LIKE replace(replace(replace(replace(model_name, '\\', '\\\\'), '%', '\\%'), '_', '\\_'), '*', '%')) \
 ORDER BY model_name = $1::text DESC, length(model_name) DESC \
 LIMIT 1";

pub const SQL_CHECK: &str =
    "SELECT allowed, http_status, reason, coalesce(message, ''), limit_scope \
  FROM rbac.rbac_check($1::text, $2::text, $3::text, $4::text)";

/// Admission. The reserved cost is priced in numeric (exact): estimated prompt tokens × input price +
/// max completion tokens × output price (a NULL price counts as 0). `reset_in` is reset_at in whole seconds
/// from now, for the x-ratelimit-reset-* headers.
pub const SQL_CONSUME: &str = "SELECT to_jsonb(q), ceil(extract(epoch FROM (q.reset_at - clock_timestamp())))::int8 \
  FROM rbac.consume_quota($1::text, $2::text, $3::text, 1, $4::int8, \
       coalesce($5::int8 * $6::text::numeric, 0) + coalesce($7::int8 * $8::text::numeric, 0), $9::text) q";

/// Settlement with the provider's usage, priced exactly in numeric; returns settle's boolean and the cost.
pub const SQL_SETTLE: &str = "SELECT rbac.settle($1::text::uuid, $2::int8, $3::int8, c.cost), c.cost::text \
  FROM (SELECT coalesce($2::int8 * $4::text::numeric, 0) + coalesce($3::int8 * $5::text::numeric, 0) AS cost) c";

pub const SQL_RELEASE: &str = "SELECT rbac.release($1::text::uuid)";

/// The models the caller may call: every catalogue row whose model passes rbac_check on the model-discovery
/// route (route and model gates; model discovery is not budget-checked).
pub const SQL_MODELS_ALLOWED: &str =
    "SELECT m.model_name, coalesce(m.provider, '') FROM rbac.models m \
 WHERE (rbac.rbac_check($1::text, $2::text, m.model_name)).allowed ORDER BY m.model_name";

#[derive(Clone)]
pub struct Db {
    pub pool: Pool,
}

/// A decision row (from authenticate or rbac_check).
#[derive(Debug, Clone)]
pub struct Decision {
    pub allowed: bool,
    pub http_status: i32,
    pub reason: String,
    pub message: String,
    pub limit_scope: Option<String>,
}

impl Decision {
    pub fn from_row(r: &Row) -> Decision {
        Decision {
            allowed: r.get::<_, Option<bool>>(0).unwrap_or(false),
            http_status: r.get::<_, Option<i32>>(1).unwrap_or(500),
            reason: r.get::<_, Option<String>>(2).unwrap_or_default(),
            message: r.get::<_, Option<String>>(3).unwrap_or_default(),
            limit_scope: if r.len() > 4 { r.get(4) } else { None },
        }
    }

    pub fn refusal(&self) -> ApiError {
        let mut e = ApiError::new(
            self.http_status as u16,
            self.reason.clone(),
            self.message.clone(),
        );
        e.param = self.limit_scope.clone();
        if let Some(s) = &self.limit_scope {
            e = e.header("x-pg-rbac-limit-scope", s);
        }
        e
    }
}

/// The rbac.models row of a requested model.
#[derive(Debug, Clone)]
pub struct ModelRow {
    pub model_name: String,
    pub api_base: Option<String>,
    pub upstream_model: Option<String>,
    pub api_key_env: Option<String>,
    /// USD per token, as numeric text (exact).
    pub input_cost: Option<String>,
    pub output_cost: Option<String>,
}

/// An rbac.quota row, kept as JSON so that columns added later (e.g. limits) reach the headers.
#[derive(Debug, Clone)]
pub struct Quota {
    pub row: Value,
    pub reset_in_seconds: Option<i64>,
}

impl Quota {
    pub fn allowed(&self) -> bool {
        self.row
            .get("allowed")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
    pub fn str(&self, k: &str) -> Option<&str> {
        self.row.get(k).and_then(Value::as_str)
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        self.row.get(k).and_then(Value::as_i64)
    }
    pub fn reservation_id(&self) -> Option<String> {
        self.str("reservation_id").map(str::to_string)
    }
}

pub fn build_pool(url: &str, size: usize, timeout: Duration) -> Result<Db, String> {
    let mut cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("bad --database-url: {e}"))?;
    if cfg.get_application_name().is_none() {
        cfg.application_name("pg-rbac-proxy");
    }
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(timeout);
    }
    let mgr = Manager::from_config(
        cfg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(mgr)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .build()
        .map_err(|e| format!("pool: {e}"))?;
    Ok(Db { pool })
}

/// What admission found before consuming anything.
pub enum Lookup {
    /// The token does not authenticate (the database's decision).
    Refused(Decision),
    /// Authenticated; the model's catalogue row, if any.
    Found(Option<ModelRow>),
}

impl Db {
    pub async fn conn(&self) -> Result<Object, ApiError> {
        self.pool.get().await.map_err(|e| from_pool_error(&e))
    }

    /// `BEGIN; authenticate; models row; COMMIT` in one pipelined round trip.
    pub async fn lookup(&self, c: &Object, token: &str, model: &str) -> Result<Lookup, ApiError> {
        let auth = c
            .prepare_cached(SQL_AUTHENTICATE)
            .await
            .map_err(|e| from_db_error(&e))?;
        let model_stmt = c
            .prepare_cached(SQL_MODEL)
            .await
            .map_err(|e| from_db_error(&e))?;
        // futures are first polled in order by join4, and tokio-postgres sends a request on its first poll
        let (b, a, m, e) = join4(
            c.batch_execute("BEGIN READ ONLY"),
            c.query_one(&auth, &[&token]),
            c.query_opt(&model_stmt, &[&model]),
            c.batch_execute("COMMIT"),
        )
        .await;
        b.map_err(|e| from_db_error(&e))?;
        let a = a.map_err(|e| from_db_error(&e))?;
        let m = m.map_err(|e| from_db_error(&e))?;
        e.map_err(|e| from_db_error(&e))?;
        let d = Decision::from_row(&a);
        if !d.allowed {
            return Ok(Lookup::Refused(d));
        }
        Ok(Lookup::Found(m.map(|r| ModelRow {
            model_name: r.get(0),
            api_base: r.get(1),
            upstream_model: r.get(2),
            api_key_env: r.get(3),
            input_cost: r.get(4),
            output_cost: r.get(5),
        })))
    }

    pub async fn check(
        &self,
        c: &Object,
        token: &str,
        route: &str,
        model: &str,
        end_user: Option<&str>,
    ) -> Result<Decision, ApiError> {
        let st = c
            .prepare_cached(SQL_CHECK)
            .await
            .map_err(|e| from_db_error(&e))?;
        let r = c
            .query_one(&st, &[&token, &route, &model, &end_user])
            .await
            .map_err(|e| from_db_error(&e))?;
        Ok(Decision::from_row(&r))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn consume(
        &self,
        c: &Object,
        token: &str,
        route: &str,
        model: &str,
        prompt_tokens: i64,
        completion_tokens: i64,
        m: &ModelRow,
        end_user: Option<&str>,
    ) -> Result<Quota, ApiError> {
        let st = c
            .prepare_cached(SQL_CONSUME)
            .await
            .map_err(|e| from_db_error(&e))?;
        let total = prompt_tokens.saturating_add(completion_tokens);
        let r = c
            .query_one(
                &st,
                &[
                    &token,
                    &route,
                    &model,
                    &total,
                    &prompt_tokens,
                    &m.input_cost,
                    &completion_tokens,
                    &m.output_cost,
                    &end_user,
                ],
            )
            .await
            .map_err(|e| from_db_error(&e))?;
        Ok(Quota {
            row: r.get(0),
            reset_in_seconds: r.get(1),
        })
    }

    /// Returns (settled now, cost as numeric text).
    pub async fn settle(
        &self,
        reservation: &str,
        prompt: i64,
        completion: i64,
        input_cost: &Option<String>,
        output_cost: &Option<String>,
    ) -> Result<(bool, String), ApiError> {
        let c = self.conn().await?;
        let st = c
            .prepare_cached(SQL_SETTLE)
            .await
            .map_err(|e| from_db_error(&e))?;
        let r = c
            .query_one(
                &st,
                &[&reservation, &prompt, &completion, input_cost, output_cost],
            )
            .await
            .map_err(|e| from_db_error(&e))?;
        Ok((
            r.get::<_, Option<bool>>(0).unwrap_or(false),
            r.get::<_, Option<String>>(1).unwrap_or_default(),
        ))
    }

    pub async fn release(&self, reservation: &str) -> Result<bool, ApiError> {
        let c = self.conn().await?;
        let st = c
            .prepare_cached(SQL_RELEASE)
            .await
            .map_err(|e| from_db_error(&e))?;
        let r = c
            .query_one(&st, &[&reservation])
            .await
            .map_err(|e| from_db_error(&e))?;
        Ok(r.get::<_, Option<bool>>(0).unwrap_or(false))
    }

    /// `BEGIN; authenticate; allowed models; COMMIT`.
    pub async fn models_allowed(
        &self,
        token: &str,
        route: &str,
    ) -> Result<Result<Vec<(String, String)>, Decision>, ApiError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(|e| from_db_error(&e))?;
        let auth = tx
            .prepare_cached(SQL_AUTHENTICATE)
            .await
            .map_err(|e| from_db_error(&e))?;
        let d = Decision::from_row(
            &tx.query_one(&auth, &[&token])
                .await
                .map_err(|e| from_db_error(&e))?,
        );
        if !d.allowed {
            return Ok(Err(d));
        }
        let st = tx
            .prepare_cached(SQL_MODELS_ALLOWED)
            .await
            .map_err(|e| from_db_error(&e))?;
        let rows = tx
            .query(&st, &[&token, &route])
            .await
            .map_err(|e| from_db_error(&e))?;
        tx.commit().await.map_err(|e| from_db_error(&e))?;
        Ok(Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
    }

    pub async fn ping(&self) -> Result<(), ApiError> {
        let c = self.conn().await?;
        c.simple_query("SELECT 1")
            .await
            .map_err(|e| from_db_error(&e))?;
        Ok(())
    }
}

/// Drops a connection instead of returning it to the pool (after an error in a pipelined transaction, its
/// state is unknown).
pub fn discard(c: Object) {
    let _ = Object::take(c);
}
