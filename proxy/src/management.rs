//! LiteLLM management routes mapped onto pg_rbac's management functions. Each request is ONE transaction:
//! `BEGIN; rbac.authenticate(token)` (refused → 401 with the database's reason), the function call(s),
//! `COMMIT`. Who may do what is decided by the functions from the transaction's principal; their SQLSTATEs
//! become HTTP statuses (errors::from_db_error). Routes without a SQL function answer 501.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use serde_json::{json, Map, Value};
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::Transaction;

use crate::db::{Decision, SQL_AUTHENTICATE};
use crate::errors::{from_db_error, ApiError};
use crate::llm::{read_body, token};
use crate::App;

/// A bind parameter: text or text[] (everything else is cast from text in the SQL).
#[derive(Debug)]
enum P {
    S(String),
    A(Vec<String>),
}

impl ToSql for P {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            P::S(s) => s.to_sql(ty, out),
            P::A(a) => a.to_sql(ty, out),
        }
    }
    fn accepts(ty: &Type) -> bool {
        <String as ToSql>::accepts(ty) || <Vec<String> as ToSql>::accepts(ty)
    }
    to_sql_checked!();
}

#[derive(Clone, Copy)]
enum K {
    Text,
    TextArray,
    Numeric,
    BigInt,
    Jsonb,
    Timestamptz,
    /// LiteLLM duration (`30s`, `10m`, `24h`, `30d`, `2w`, `1mo`) or a PostgreSQL interval
    Duration,
}

/// Named arguments `name => $n::type` built from the JSON body.
#[derive(Default)]
struct Args {
    sql: Vec<String>,
    params: Vec<P>,
}

impl Args {
    fn push(&mut self, arg: &str, cast: &str, p: P) {
        self.params.push(p);
        self.sql
            .push(format!("{arg} => ${}::{cast}", self.params.len()));
    }
    fn text(&mut self, arg: &str, v: &str) {
        self.push(arg, "text", P::S(v.to_string()));
    }
    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p as &(dyn ToSql + Sync))
            .collect()
    }
    fn list(&self) -> String {
        self.sql.join(", ")
    }
}

fn bad(field: &str, what: &str) -> ApiError {
    ApiError::bad_request("invalid_request", format!("\"{field}\" must be {what}"))
}

/// LiteLLM's duration strings as PostgreSQL intervals; anything else is passed on for PostgreSQL to parse.
fn duration(s: &str) -> String {
    let s = s.trim();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = &s[digits.len()..];
    let unit = match unit {
        "s" => "seconds",
        "m" => "minutes",
        "h" => "hours",
        "d" => "days",
        "w" => "weeks",
        "mo" => "months",
        _ => return s.to_string(),
    };
    if digits.is_empty() {
        return s.to_string();
    }
    format!("{digits} {unit}")
}

fn bind(body: &Map<String, Value>, fields: &[(&str, &str, K)]) -> Result<Args, ApiError> {
    let mut a = Args::default();
    bind_into(&mut a, body, fields)?;
    Ok(a)
}

fn bind_into(
    a: &mut Args,
    body: &Map<String, Value>,
    fields: &[(&str, &str, K)],
) -> Result<(), ApiError> {
    for &(json_name, arg, kind) in fields {
        let Some(v) = body.get(json_name) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        match kind {
            K::Text => a.push(
                arg,
                "text",
                P::S(
                    v.as_str()
                        .ok_or_else(|| bad(json_name, "a string"))?
                        .to_string(),
                ),
            ),
            K::TextArray => {
                let arr = v
                    .as_array()
                    .ok_or_else(|| bad(json_name, "an array of strings"))?;
                let items = arr
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(json_name, "an array of strings"))?;
                a.push(arg, "text[]", P::A(items));
            }
            K::Numeric => {
                let s = match v {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    _ => return Err(bad(json_name, "a number")),
                };
                a.push(arg, "text::numeric", P::S(s));
            }
            K::BigInt => {
                let n = v.as_i64().ok_or_else(|| bad(json_name, "an integer"))?;
                a.push(arg, "text::int8", P::S(n.to_string()));
            }
            K::Jsonb => {
                if !v.is_object() {
                    return Err(bad(json_name, "a JSON object"));
                }
                a.push(arg, "text::jsonb", P::S(v.to_string()));
            }
            K::Timestamptz => a.push(
                arg,
                "text::timestamptz",
                P::S(
                    v.as_str()
                        .ok_or_else(|| bad(json_name, "a timestamp string"))?
                        .to_string(),
                ),
            ),
            K::Duration => a.push(
                arg,
                "text::interval",
                P::S(duration(v.as_str().ok_or_else(|| {
                    bad(json_name, "a duration such as \"30d\"")
                })?)),
            ),
        }
    }
    Ok(())
}

const KEY_FIELDS: &[(&str, &str, K)] = &[
    ("user_id", "user_id", K::Text),
    ("team_id", "team_id", K::Text),
    ("models", "models", K::TextArray),
    ("max_budget", "max_budget", K::Numeric),
    ("budget_duration", "budget_duration", K::Text),
    ("rpm_limit", "rpm_limit", K::BigInt),
    ("tpm_limit", "tpm_limit", K::BigInt),
    ("max_parallel_requests", "max_parallel_requests", K::BigInt),
    ("expires", "expires", K::Timestamptz),
    ("key_alias", "key_alias", K::Text),
    ("allowed_routes", "allowed_routes", K::TextArray),
    ("metadata", "metadata", K::Jsonb),
    ("organization_id", "organization_id", K::Text),
    ("key", "key", K::Text),
    ("duration", "duration", K::Duration),
    ("permissions", "permissions", K::Jsonb),
];

/// `/key/update` (LiteLLM field names; `key` names the key to change, `clear` lists columns reset to no limit).
const KEY_UPDATE_FIELDS: &[(&str, &str, K)] = &[
    ("key", "key", K::Text),
    ("key_alias", "key_alias", K::Text),
    ("models", "models", K::TextArray),
    ("max_budget", "max_budget", K::Numeric),
    ("budget_duration", "budget_duration", K::Text),
    ("rpm_limit", "rpm_limit", K::BigInt),
    ("tpm_limit", "tpm_limit", K::BigInt),
    ("max_parallel_requests", "max_parallel_requests", K::BigInt),
    ("expires", "expires", K::Timestamptz),
    ("metadata", "metadata", K::Jsonb),
    ("allowed_routes", "allowed_routes", K::TextArray),
    ("permissions", "permissions", K::Jsonb),
    ("clear", "clear", K::TextArray),
];

const TEAM_FIELDS: &[(&str, &str, K)] = &[
    ("team_id", "team_id", K::Text),
    ("team_alias", "team_alias", K::Text),
    ("organization_id", "organization_id", K::Text),
    ("models", "models", K::TextArray),
    ("max_budget", "max_budget", K::Numeric),
    ("budget_duration", "budget_duration", K::Text),
    ("rpm_limit", "rpm_limit", K::BigInt),
    ("tpm_limit", "tpm_limit", K::BigInt),
    ("max_parallel_requests", "max_parallel_requests", K::BigInt),
    ("metadata", "metadata", K::Jsonb),
    (
        "team_member_permissions",
        "team_member_permissions",
        K::TextArray,
    ),
];

const USER_FIELDS: &[(&str, &str, K)] = &[
    ("user_id", "user_id", K::Text),
    ("user_email", "user_email", K::Text),
    ("user_role", "user_role", K::Text),
    ("models", "models", K::TextArray),
    ("max_budget", "max_budget", K::Numeric),
    ("budget_duration", "budget_duration", K::Text),
    ("rpm_limit", "rpm_limit", K::BigInt),
    ("tpm_limit", "tpm_limit", K::BigInt),
    ("organization_id", "organization_id", K::Text),
    ("user_alias", "user_alias", K::Text),
    ("metadata", "metadata", K::Jsonb),
];

const ORG_FIELDS: &[(&str, &str, K)] = &[
    ("organization_id", "organization_id", K::Text),
    ("organization_alias", "organization_alias", K::Text),
    ("models", "models", K::TextArray),
    ("max_budget", "max_budget", K::Numeric),
    ("budget_duration", "budget_duration", K::Text),
    ("rpm_limit", "rpm_limit", K::BigInt),
    ("tpm_limit", "tpm_limit", K::BigInt),
    ("max_parallel_requests", "max_parallel_requests", K::BigInt),
    ("metadata", "metadata", K::Jsonb),
];

/// Team member limits pg_rbac accepts beyond LiteLLM's `max_budget_in_team`.
const MEMBER_FIELDS: &[(&str, &str, K)] = &[
    ("max_budget_in_team", "max_budget", K::Numeric),
    ("rpm_limit", "rpm_limit", K::BigInt),
    ("tpm_limit", "tpm_limit", K::BigInt),
    ("allowed_models", "allowed_models", K::TextArray),
    ("budget_duration", "budget_duration", K::Text),
];

/// Fields of LiteLLM's /key/regenerate that would update the key: pg_rbac has no key_update yet.
const REGENERATE_UPDATES: &[&str] = &[
    "new_key",
    "new_master_key",
    "max_budget",
    "models",
    "rpm_limit",
    "tpm_limit",
    "duration",
    "metadata",
    "key_alias",
    "team_id",
    "user_id",
    "budget_duration",
    "max_parallel_requests",
    "allowed_routes",
    "spend",
    "tags",
    "expires",
    "permissions",
];

enum Op {
    KeyGenerate {
        args: Args,
        echo: Map<String, Value>,
    },
    KeyRegenerate {
        key: String,
        grace: Option<String>,
    },
    KeyDelete {
        keys: Vec<String>,
        aliases: Vec<String>,
    },
    KeyBlock {
        key: String,
        block: bool,
    },
    KeyInfo {
        key: Option<String>,
    },
    /// a function returning one row of a table type
    Row {
        function: &'static str,
        args: Args,
    },
    UserNew {
        args: Args,
        auto_key: bool,
        key_alias: Option<String>,
    },
    MembersAdd {
        function: &'static str,
        id_arg: &'static str,
        id: String,
        members: Vec<(String, Option<String>)>,
        role_arg: &'static str,
        extra: Map<String, Value>,
    },
    MemberDelete {
        function: &'static str,
        id_arg: &'static str,
        id: String,
        user_id: String,
    },
    AccessGroup {
        function: &'static str,
        name: String,
        models: Option<Vec<String>>,
    },
}

fn obj(v: Value) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_request(
            "invalid_request",
            "request body must be a JSON object",
        )),
    }
}

fn req_str(body: &Map<String, Value>, k: &str) -> Result<String, ApiError> {
    match body.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(ApiError::bad_request(
            "invalid_request",
            format!("\"{k}\" (a non-empty string) is required"),
        )),
    }
}

fn str_list(body: &Map<String, Value>, k: &str) -> Result<Vec<String>, ApiError> {
    match body.get(k) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(k, "an array of strings")),
        Some(_) => Err(bad(k, "an array of strings")),
    }
}

/// LiteLLM `member`: one object or a list of objects with `user_id` and `role`.
fn members(body: &Map<String, Value>) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let list = match body.get("member") {
        Some(Value::Array(a)) => a.clone(),
        Some(m @ Value::Object(_)) => vec![m.clone()],
        _ => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "\"member\" (an object or a list of objects with user_id and role) is required",
            ))
        }
    };
    list.iter()
        .map(|m| {
            let uid = m.get("user_id").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| {
                ApiError::bad_request("invalid_request", "every member needs a \"user_id\" (pg_rbac does not look users up by e-mail)")
            })?;
            Ok((uid.to_string(), m.get("role").and_then(Value::as_str).map(str::to_string)))
        })
        .collect()
}

async fn body_json(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    empty_ok: bool,
) -> Result<Map<String, Value>, ApiError> {
    let bytes = read_body(app, headers, body).await?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return if empty_ok {
            Ok(Map::new())
        } else {
            Err(ApiError::bad_request(
                "invalid_request",
                "request body is empty",
            ))
        };
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    obj(v)
}

/// Runs one operation as the caller, in one transaction, in a task of its own (a client that goes away does not
/// cut the transaction short).
async fn execute(app: Arc<App>, headers: &HeaderMap, op: Result<Op, ApiError>) -> Response {
    let op = match op {
        Ok(op) => op,
        Err(e) => return e.into_response(),
    };
    let tok = token(headers);
    let res = tokio::spawn(async move {
        let mut c = app.db.conn().await?;
        let tx = c.transaction().await.map_err(|e| from_db_error(&e))?;
        let auth = tx
            .prepare_cached(SQL_AUTHENTICATE)
            .await
            .map_err(|e| from_db_error(&e))?;
        let row = tx
            .query_one(&auth, &[&tok])
            .await
            .map_err(|e| from_db_error(&e))?;
        let d = Decision::from_row(&row);
        if !d.allowed {
            return Err(d.refusal());
        }
        let out = run(&tx, op, &tok).await?;
        tx.commit().await.map_err(|e| from_db_error(&e))?;
        Ok::<Value, ApiError>(out)
    })
    .await;
    match res {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::new(500, "internal_error", e.to_string()).into_response(),
    }
}

fn db(e: tokio_postgres::Error) -> ApiError {
    from_db_error(&e)
}

async fn one_json(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Value, ApiError> {
    let rows = tx.query(sql, params).await.map_err(db)?;
    Ok(rows
        .first()
        .map(|r| r.get::<_, Value>(0))
        .unwrap_or(Value::Null))
}

/// The key row as the principal may see it (row-level security), with LiteLLM's `token` = the hash.
async fn key_row(tx: &Transaction<'_>, key: &str) -> Result<Option<Value>, ApiError> {
    let v = one_json(tx, "SELECT to_jsonb(k) FROM rbac.keys k WHERE k.key_hash IN ($1::text, rbac.hash_key($1::text))", &[&key]).await?;
    Ok(match v {
        Value::Object(mut m) => {
            if let Some(h) = m.get("key_hash").cloned() {
                m.insert("token".into(), h);
            }
            Some(Value::Object(m))
        }
        _ => None,
    })
}

fn generated(mut echo: Map<String, Value>, g: Value) -> Value {
    echo.retain(|_, v| !v.is_null());
    if let Some(h) = g.get("key_hash") {
        echo.insert("token".into(), h.clone());
        echo.insert("token_id".into(), h.clone());
    }
    for k in ["key", "key_name", "expires"] {
        echo.insert(k.into(), g.get(k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(echo)
}

async fn run(tx: &Transaction<'_>, op: Op, caller_token: &str) -> Result<Value, ApiError> {
    match op {
        Op::KeyGenerate { args, echo } => {
            let sql = format!(
                "SELECT to_jsonb(g) FROM rbac.key_generate({}) g",
                args.list()
            );
            let g = one_json(tx, &sql, &args.refs()).await?;
            Ok(generated(echo, g))
        }
        Op::KeyRegenerate { key, grace } => {
            let g = match grace {
                Some(gr) => one_json(
                    tx,
                    "SELECT to_jsonb(g) FROM rbac.key_regenerate($1::text, $2::text::interval) g",
                    &[&key, &gr],
                )
                .await?,
                None => {
                    one_json(
                        tx,
                        "SELECT to_jsonb(g) FROM rbac.key_regenerate($1::text) g",
                        &[&key],
                    )
                    .await?
                }
            };
            let h = g.get("key_hash").cloned().unwrap_or(Value::Null);
            Ok(
                json!({"key": g.get("key"), "key_name": g.get("key_name"), "token": h, "token_id": h}),
            )
        }
        Op::KeyDelete { keys, aliases } => {
            let mut all = keys.clone();
            for a in &aliases {
                let rows = tx
                    .query(
                        "SELECT key_hash FROM rbac.keys WHERE key_alias = $1::text",
                        &[a],
                    )
                    .await
                    .map_err(db)?;
                if rows.is_empty() {
                    return Err(ApiError::new(
                        404,
                        "key_not_found",
                        format!("no key with alias '{a}' visible to the caller"),
                    ));
                }
                all.extend(rows.iter().map(|r| r.get::<_, String>(0)));
            }
            for k in &all {
                tx.execute("SELECT rbac.key_delete($1::text)", &[k])
                    .await
                    .map_err(db)?;
            }
            let mut deleted: Vec<String> = keys;
            deleted.extend(aliases);
            Ok(json!({"deleted_keys": deleted}))
        }
        Op::KeyBlock { key, block } => {
            let f = if block {
                "SELECT rbac.key_block($1::text)"
            } else {
                "SELECT rbac.key_unblock($1::text)"
            };
            tx.execute(f, &[&key]).await.map_err(db)?;
            Ok(key_row(tx, &key)
                .await?
                .unwrap_or_else(|| json!({"blocked": block})))
        }
        Op::KeyInfo { key } => {
            let k = key.unwrap_or_else(|| caller_token.to_string());
            match key_row(tx, &k).await? {
                Some(info) => Ok(json!({"key": k, "info": info})),
                None => Err(ApiError::new(
                    404,
                    "key_not_found",
                    "key not found (or not visible to the caller)",
                )),
            }
        }
        Op::Row { function, args } => {
            let sql = format!("SELECT to_jsonb(r) FROM rbac.{function}({}) r", args.list());
            one_json(tx, &sql, &args.refs()).await
        }
        Op::UserNew {
            args,
            auto_key,
            key_alias,
        } => {
            let sql = format!("SELECT to_jsonb(r) FROM rbac.user_new({}) r", args.list());
            let user = one_json(tx, &sql, &args.refs()).await?;
            let mut out = match user {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if auto_key {
                // LiteLLM's /user/new also creates a key for the new user; pg_rbac lets only some callers do
                // that, so a refusal keeps the user and reports the key as not created.
                let uid = out
                    .get("user_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                tx.batch_execute("SAVEPOINT user_new_key")
                    .await
                    .map_err(db)?;
                let g = tx
                    .query("SELECT to_jsonb(g) FROM rbac.key_generate(user_id => $1::text, key_alias => $2::text) g", &[&uid, &key_alias])
                    .await;
                match g {
                    Ok(rows) => {
                        tx.batch_execute("RELEASE SAVEPOINT user_new_key")
                            .await
                            .map_err(db)?;
                        let g: Value = rows.first().map(|r| r.get(0)).unwrap_or(Value::Null);
                        for k in ["key", "key_name", "expires"] {
                            out.insert(k.into(), g.get(k).cloned().unwrap_or(Value::Null));
                        }
                        out.insert(
                            "token".into(),
                            g.get("key_hash").cloned().unwrap_or(Value::Null),
                        );
                    }
                    Err(e) if e.as_db_error().is_some_and(|d| d.code().code() == "42501") => {
                        tx.batch_execute("ROLLBACK TO SAVEPOINT user_new_key")
                            .await
                            .map_err(db)?;
                        out.insert("key".into(), Value::Null);
                        out.insert(
                            "key_error".into(),
                            Value::String(
                                e.as_db_error()
                                    .map(|d| d.message().to_string())
                                    .unwrap_or_default(),
                            ),
                        );
                    }
                    Err(e) => return Err(db(e)),
                }
            }
            Ok(Value::Object(out))
        }
        Op::MembersAdd {
            function,
            id_arg,
            id,
            members,
            role_arg,
            extra,
        } => {
            let mut rows = Vec::new();
            for (uid, role) in members {
                let mut args = Args::default();
                args.text(id_arg, &id);
                args.text("user_id", &uid);
                if let Some(r) = &role {
                    args.text(role_arg, r);
                }
                if function == "team_member_add" {
                    bind_into(&mut args, &extra, MEMBER_FIELDS)?;
                }
                let sql = format!("SELECT to_jsonb(r) FROM rbac.{function}({}) r", args.list());
                rows.push(one_json(tx, &sql, &args.refs()).await?);
            }
            let key = if function == "team_member_add" {
                "updated_team_memberships"
            } else {
                "updated_organization_memberships"
            };
            Ok(json!({ id_arg: id, key: rows }))
        }
        Op::MemberDelete {
            function,
            id_arg,
            id,
            user_id,
        } => {
            let sql = format!("SELECT rbac.{function}({id_arg} => $1::text, user_id => $2::text)");
            tx.execute(&sql, &[&id, &user_id]).await.map_err(db)?;
            Ok(json!({ id_arg: id, "user_id": user_id, "deleted": true }))
        }
        Op::AccessGroup {
            function,
            name,
            models,
        } => match models {
            Some(m) => {
                let sql = format!("SELECT rbac.{function}($1::text, $2::text[])");
                let r = tx.query_one(&sql, &[&name, &m]).await.map_err(db)?;
                Ok(json!({"access_group": name, "model_names": r.get::<_, Vec<String>>(0)}))
            }
            None => {
                let r = tx
                    .query_one("SELECT rbac.access_group_delete($1::text)", &[&name])
                    .await
                    .map_err(db)?;
                Ok(
                    json!({"access_group": name, "deleted": true, "models_untagged": r.get::<_, i32>(0)}),
                )
            }
        },
    }
}

// ---------------------------------------------------------------------------------------------------------
// Route handlers: parse the LiteLLM request into an Op, then execute it.
// ---------------------------------------------------------------------------------------------------------

pub async fn key_generate(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = match body_json(&app, &h, b, true).await {
        Ok(body) => bind(&body, KEY_FIELDS).map(|args| {
            let mut echo = body.clone();
            echo.remove("key");
            Op::KeyGenerate { args, echo }
        }),
        Err(e) => Err(e),
    };
    execute(app, &h, op).await
}

fn regenerate_op(body: &Map<String, Value>, key: Option<String>) -> Result<Op, ApiError> {
    if let Some(f) = REGENERATE_UPDATES
        .iter()
        .find(|f| body.get(**f).is_some_and(|v| !v.is_null()))
    {
        return Err(ApiError::new(
            501,
            "not_implemented",
            format!("/key/regenerate with \"{f}\": regenerate without changes, then change the key with /key/update"),
        ));
    }
    let key = match key {
        Some(k) => k,
        None => req_str(body, "key")?,
    };
    let grace = match body.get("grace_period") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(duration(s)),
        Some(_) => return Err(bad("grace_period", "a duration such as \"24h\"")),
    };
    Ok(Op::KeyRegenerate { key, grace })
}

pub async fn key_regenerate(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = body_json(&app, &h, b, false)
        .await
        .and_then(|body| regenerate_op(&body, None));
    execute(app, &h, op).await
}

pub async fn key_regenerate_path(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
    h: HeaderMap,
    b: Body,
) -> Response {
    let op = body_json(&app, &h, b, true)
        .await
        .and_then(|body| regenerate_op(&body, Some(key)));
    execute(app, &h, op).await
}

pub async fn key_delete(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = body_json(&app, &h, b, false).await.and_then(|body| {
        let keys = str_list(&body, "keys")?;
        let aliases = str_list(&body, "key_aliases")?;
        if keys.is_empty() && aliases.is_empty() {
            return Err(ApiError::bad_request(
                "invalid_request",
                "\"keys\" or \"key_aliases\" (a non-empty list) is required",
            ));
        }
        Ok(Op::KeyDelete { keys, aliases })
    });
    execute(app, &h, op).await
}

pub async fn key_block(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = body_json(&app, &h, b, false).await.and_then(|body| {
        Ok(Op::KeyBlock {
            key: req_str(&body, "key")?,
            block: true,
        })
    });
    execute(app, &h, op).await
}

pub async fn key_unblock(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = body_json(&app, &h, b, false).await.and_then(|body| {
        Ok(Op::KeyBlock {
            key: req_str(&body, "key")?,
            block: false,
        })
    });
    execute(app, &h, op).await
}

pub async fn key_info(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    let key = q.get("key").filter(|k| !k.is_empty()).cloned();
    execute(app, &h, Ok(Op::KeyInfo { key })).await
}

async fn row_route(
    app: Arc<App>,
    h: HeaderMap,
    b: Body,
    function: &'static str,
    fields: &[(&str, &str, K)],
) -> Response {
    let op = body_json(&app, &h, b, true).await.and_then(|body| {
        Ok(Op::Row {
            function,
            args: bind(&body, fields)?,
        })
    });
    execute(app, &h, op).await
}

pub async fn key_update(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = body_json(&app, &h, b, false).await.and_then(|body| {
        req_str(&body, "key")?;
        Ok(Op::Row {
            function: "key_update",
            args: bind(&body, KEY_UPDATE_FIELDS)?,
        })
    });
    execute(app, &h, op).await
}

pub async fn team_new(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    row_route(app, h, b, "team_new", TEAM_FIELDS).await
}

pub async fn organization_new(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    row_route(app, h, b, "organization_new", ORG_FIELDS).await
}

pub async fn user_new(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = body_json(&app, &h, b, true).await.and_then(|body| {
        let auto_key = match body.get("auto_create_key") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("auto_create_key", "a boolean")),
        };
        let key_alias = body
            .get("key_alias")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Op::UserNew {
            args: bind(&body, USER_FIELDS)?,
            auto_key,
            key_alias,
        })
    });
    execute(app, &h, op).await
}

pub async fn team_member_add(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = body_json(&app, &h, b, false).await.and_then(|body| {
        bind(&body, MEMBER_FIELDS)?; // type-check the extras now
        Ok(Op::MembersAdd {
            function: "team_member_add",
            id_arg: "team_id",
            id: req_str(&body, "team_id")?,
            members: members(&body)?,
            role_arg: "role",
            extra: body,
        })
    });
    execute(app, &h, op).await
}

pub async fn organization_member_add(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    b: Body,
) -> Response {
    let op = body_json(&app, &h, b, false).await.and_then(|body| {
        Ok(Op::MembersAdd {
            function: "organization_member_add",
            id_arg: "organization_id",
            id: req_str(&body, "organization_id")?,
            members: members(&body)?,
            role_arg: "user_role",
            extra: Map::new(),
        })
    });
    execute(app, &h, op).await
}

fn member_delete(
    body: &Map<String, Value>,
    function: &'static str,
    id_arg: &'static str,
) -> Result<Op, ApiError> {
    Ok(Op::MemberDelete {
        function,
        id_arg,
        id: req_str(body, id_arg)?,
        user_id: req_str(body, "user_id")?,
    })
}

pub async fn team_member_delete(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    let op = body_json(&app, &h, b, false)
        .await
        .and_then(|body| member_delete(&body, "team_member_delete", "team_id"));
    execute(app, &h, op).await
}

pub async fn organization_member_delete(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    b: Body,
) -> Response {
    let op = body_json(&app, &h, b, false)
        .await
        .and_then(|body| member_delete(&body, "organization_member_delete", "organization_id"));
    execute(app, &h, op).await
}

async fn access_group(
    app: Arc<App>,
    h: HeaderMap,
    b: Body,
    function: &'static str,
    name: Option<String>,
) -> Response {
    let op = body_json(&app, &h, b, true).await.and_then(|body| {
        let name = match name {
            Some(n) => n,
            None => req_str(&body, "access_group")?,
        };
        let models = if function == "access_group_delete" {
            None
        } else {
            let m = str_list(&body, "model_names")?;
            if m.is_empty() {
                return Err(ApiError::bad_request(
                    "invalid_request",
                    "\"model_names\" (a non-empty list) is required",
                ));
            }
            Some(m)
        };
        Ok(Op::AccessGroup {
            function,
            name,
            models,
        })
    });
    execute(app, &h, op).await
}

pub async fn access_group_new(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    access_group(app, h, b, "access_group_new", None).await
}
pub async fn access_group_update(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    access_group(app, h, b, "access_group_update", None).await
}
pub async fn access_group_update_path(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    h: HeaderMap,
    b: Body,
) -> Response {
    access_group(app, h, b, "access_group_update", Some(name)).await
}
pub async fn access_group_delete(State(app): State<Arc<App>>, h: HeaderMap, b: Body) -> Response {
    access_group(app, h, b, "access_group_delete", None).await
}
pub async fn access_group_delete_path(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    h: HeaderMap,
    b: Body,
) -> Response {
    access_group(app, h, b, "access_group_delete", Some(name)).await
}

/// Management areas of LiteLLM; a route in them that pg-rbac-proxy does not map answers 501.
const MANAGEMENT_PREFIXES: &[&str] = &[
    "/key/",
    "/team/",
    "/user/",
    "/organization/",
    "/access_group/",
    "/customer/",
    "/end_user/",
    "/model/",
    "/budget/",
    "/spend/",
    "/global/",
    "/model_group/",
];

pub async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if MANAGEMENT_PREFIXES.iter().any(|p| path.starts_with(p)) {
        ApiError::new(
            501,
            "not_implemented",
            format!("{path} is not supported by pg-rbac-proxy: pg_rbac has no SQL function for it (see docs/proxy.md)"),
        )
        .into_response()
    } else {
        ApiError::new(404, "not_found", format!("no route {path}")).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30d"), "30 days");
        assert_eq!(duration("1mo"), "1 months");
        assert_eq!(duration("90 days"), "90 days");
        assert_eq!(duration("h"), "h");
    }

    #[test]
    fn binding() {
        let body = obj(json!({"models": ["a"], "max_budget": 1.5, "rpm_limit": 3, "key_alias": null, "duration": "1h"})).unwrap();
        let a = bind(&body, KEY_FIELDS).unwrap();
        assert_eq!(a.list(), "models => $1::text[], max_budget => $2::text::numeric, rpm_limit => $3::text::int8, duration => $4::text::interval");
        assert!(bind(&obj(json!({"models": "a"})).unwrap(), KEY_FIELDS).is_err());
        assert!(bind(&obj(json!({"rpm_limit": 1.5})).unwrap(), KEY_FIELDS).is_err());
    }
}
