//! `GET /functions/v1/metrics`: the backend's business and health metrics in the Prometheus text
//! exposition format (version 0.0.4), for a Prometheus scrape or Datadog's OpenMetrics check.
//!
//! The caller sends `Authorization: Bearer <METRICS_SECRET>`, a random value of at least 32
//! characters kept in the functions' secrets and in the scraper's configuration. It is not the
//! service key: a scraper's config is read by more people than a server's, and what it unlocks
//! here is these numbers only. The samples come from one call of `public.backend_metrics()` as
//! the `metrics_reader` role, which may call that function and nothing else.

pub mod exposition;

use moha_edge::db::query_as;
use moha_edge::{DbRole, Env, Error, Host, Method, Request, Response, Result};
use serde_json::{json, Value};

#[cfg(target_arch = "wasm32")]
// Prometheus' endpoint: GET with a bearer secret, never from a browser, so OPTIONS gets 405.
moha_edge::export_handler!(crate::handle, moha_edge::Cors::None);

/// The function secret holding the bearer secret.
pub const SECRET_VAR: &str = "METRICS_SECRET";

/// Shorter secrets are refused: a guessable one would open the endpoint.
pub const MIN_SECRET_LEN: usize = 32;

/// The one statement: labels and values as text, so no precision is lost on the way.
const SAMPLES: &str =
    "select metric, labels::text as labels, value::text as value from public.backend_metrics()";

pub async fn handle(req: Request, env: &Env, host: &impl Host) -> Result<Response> {
    if !matches!(req.method, Method::Get | Method::Head) {
        let mut resp = Response::json(
            405,
            &json!({"code": "method_not_allowed", "message": "use GET"}),
        );
        resp.headers.push(("allow".into(), "GET, HEAD".into()));
        return Ok(resp);
    }
    if let Err(refusal) = authorize(&req, env) {
        return Ok(refusal);
    }
    let started = host.now_ms();
    let rows: Vec<Value> = host
        .transaction(DbRole::Metrics, &json!({}), |tx| async move {
            query_as(&tx, SAMPLES, &[]).await
        })
        .await??;
    let took = host.now_ms().saturating_sub(started) as f64 / 1000.0;
    let samples = rows
        .iter()
        .map(exposition::Sample::from_row)
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(Error::Internal)?;
    let body = exposition::render(&samples, took);
    let mut resp = Response::text(200, &body);
    resp.headers = vec![
        ("content-type".into(), exposition::CONTENT_TYPE.into()),
        ("cache-control".into(), "no-store".into()),
    ];
    if req.method == Method::Head {
        resp.body.clear();
    }
    Ok(resp)
}

/// The bearer must equal `METRICS_SECRET`, compared in constant time. Without a secret of at
/// least [`MIN_SECRET_LEN`] characters nothing is served (500, naming the variable only).
fn authorize(req: &Request, env: &Env) -> std::result::Result<(), Response> {
    let secret = env.secret(SECRET_VAR).map_err(Error::into_response)?;
    if secret.expose().len() < MIN_SECRET_LEN {
        return Err(Response::json(
            500,
            &json!({
                "code": "config_invalid",
                "message": format!("{SECRET_VAR} must be at least {MIN_SECRET_LEN} characters; set a random one (openssl rand -hex 32)"),
            }),
        ));
    }
    let given = req.bearer_token().unwrap_or_default().as_bytes();
    let want = secret.expose().as_bytes();
    let same = given.len() == want.len()
        && given
            .iter()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        return Ok(());
    }
    let mut resp =
        Error::Unauthorized("send Authorization: Bearer <METRICS_SECRET>".into()).into_response();
    resp.headers
        .push(("www-authenticate".into(), "Bearer realm=\"metrics\"".into()));
    Err(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use moha_edge::{DbError, Row, Tx};
    use std::cell::RefCell;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-metrics";

    /// The function as its export answers it.
    fn call(req: Request, env: &Env, h: &FakeHost) -> Response {
        pollster::block_on(moha_edge::serve::answer(
            moha_edge::Cors::None,
            req,
            env,
            |req| handle(req, env, h),
        ))
    }

    /// A host whose database answers the one statement with fixed rows, and records the role.
    struct FakeHost {
        rows: Vec<Row>,
        roles: RefCell<Vec<String>>,
    }

    #[derive(Clone)]
    struct FakeTx(Vec<Row>);

    impl moha_edge::Db for FakeHost {
        type Tx = FakeTx;
        async fn begin(
            &self,
            role: DbRole,
            claims: &Value,
        ) -> std::result::Result<FakeTx, DbError> {
            self.roles.borrow_mut().push(role.name(claims).to_string());
            Ok(FakeTx(self.rows.clone()))
        }
    }

    impl Tx for FakeTx {
        async fn query(
            &self,
            sql: &'static str,
            _: &[Value],
        ) -> std::result::Result<Vec<Row>, DbError> {
            assert_eq!(sql, SAMPLES);
            Ok(self.0.clone())
        }
        async fn commit(self) -> std::result::Result<(), DbError> {
            Ok(())
        }
        async fn rollback(self) -> std::result::Result<(), DbError> {
            Ok(())
        }
    }

    impl moha_edge::Http for FakeHost {
        async fn fetch(
            &self,
            _: moha_edge::HttpRequest,
        ) -> std::result::Result<moha_edge::HttpResponse, moha_edge::HttpError> {
            unreachable!("the metrics function makes no outgoing call")
        }
    }

    impl moha_edge::Clock for FakeHost {
        fn now_ms(&self) -> u64 {
            1_000
        }
        async fn sleep(&self, _: u64) {}
    }

    impl Host for FakeHost {
        fn seed(&self) -> u64 {
            0
        }
        fn jwks_cache(&self) -> &moha_edge::auth::JwksCache {
            unreachable!("no JWT is checked")
        }
    }

    fn host() -> FakeHost {
        let row = |m: &str, l: &str, v: &str| -> Row {
            json!({"metric": m, "labels": l, "value": v})
                .as_object()
                .unwrap()
                .clone()
        };
        FakeHost {
            rows: vec![
                row("moha_render_jobs", r#"{"status": "queued"}"#, "2"),
                row("moha_leads_unassigned", "{}", "1"),
            ],
            roles: RefCell::new(Vec::new()),
        }
    }

    fn get(auth: Option<&str>) -> Request {
        let r = Request::new(Method::Get, "http://localhost/functions/v1/metrics");
        match auth {
            Some(a) => r.with_header("authorization", a),
            None => r,
        }
    }

    #[test]
    fn the_secret_opens_the_metrics_as_the_metrics_role() {
        let env = Env::from_pairs([(SECRET_VAR, SECRET)]);
        let h = host();
        let r = call(get(Some(&format!("Bearer {SECRET}"))), &env, &h);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(exposition::CONTENT_TYPE));
        let body = String::from_utf8(r.body).unwrap();
        assert!(
            body.contains("moha_render_jobs{status=\"queued\"} 2\n"),
            "{body}"
        );
        assert!(
            body.contains("# TYPE moha_leads_unassigned gauge\n"),
            "{body}"
        );
        assert_eq!(*h.roles.borrow(), ["metrics_reader"]);
    }

    #[test]
    fn anything_but_the_secret_is_refused_before_the_database() {
        let env = Env::from_pairs([(SECRET_VAR, SECRET)]);
        let h = host();
        for auth in [
            None,
            Some("Bearer".to_string()),
            Some(format!("Bearer {SECRET}x")),
            Some(format!("Bearer {}", &SECRET[1..])),
            Some(format!("Basic {SECRET}")),
            Some("Bearer sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz".to_string()),
        ] {
            let r = call(get(auth.as_deref()), &env, &h);
            assert_eq!(r.status, 401, "{auth:?}");
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["code"], "unauthorized");
        }
        let post = Request::new(Method::Post, "/")
            .with_header("authorization", format!("Bearer {SECRET}"));
        let r = call(post, &env, &h);
        assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
        assert!(h.roles.borrow().is_empty(), "the database was opened");
    }

    #[test]
    fn without_a_strong_secret_nothing_is_served() {
        let h = host();
        for env in [
            Env::default(),
            Env::from_pairs([(SECRET_VAR, "")]),
            Env::from_pairs([(SECRET_VAR, "short-secret")]),
        ] {
            let r = call(get(Some("Bearer short-secret")), &env, &h);
            assert_eq!(r.status, 500);
            let body = String::from_utf8_lossy(&r.body);
            assert!(!body.contains("short-secret"), "{body}");
        }
        assert!(h.roles.borrow().is_empty());
    }
}
