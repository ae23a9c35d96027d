//! The edge functions built to wasm and served by real Deno: the requests that need no
//! database (preflight, wrong method, bad token, bad body, oversized body).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use xtask::{cluster, functions, jwt, paths, prereq};

struct Deno(Child);

impl Drop for Deno {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(function: &str) -> (Deno, u16) {
    prereq::ensure_node_modules().unwrap();
    let port = cluster::free_port().unwrap();
    let dir = paths::supabase_dir().join("functions");
    let child = Command::new(prereq::node_bin("deno"))
        .args(["run", "--allow-read", "--allow-env", "--allow-net"])
        .arg(format!("{function}/index.ts"))
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("JWT_SECRET", jwt::LOCAL_JWT_SECRET)
        .env("SUPABASE_URL", "http://127.0.0.1:9")
        .env("DENO_NO_UPDATE_CHECK", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("deno starts");
    let deno = Deno(child);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "deno did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (deno, port)
}

/// One HTTP/1.1 request; returns the status, the lowercased head and the body.
fn call(port: u16, method: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
    let r = moha_tests::gateway::http_at(port, method, "/", headers, body);
    let text = r.text();
    (r.status, r.head, text)
}

fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn user_token(exp: i64) -> String {
    let claims = json!({
        "sub": "0b7c8f4e-2f59-4a2e-8d5c-3f1e9a6b7c01",
        "aud": "authenticated",
        "role": "authenticated",
        "exp": exp,
    });
    jwt::sign_hs256(&claims, jwt::LOCAL_JWT_SECRET)
}

#[test]
fn assign_leads_answers_without_a_database() {
    let built = functions::build_release().unwrap();
    for f in &built {
        assert!(f.wasm_bytes > 0, "{} is empty", f.name);
    }
    let (_deno, port) = serve("assign-leads");

    let (status, head, body) = call(port, "OPTIONS", &[("origin", "http://localhost:3000")], b"");
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
    assert!(
        head.contains(
            "access-control-allow-headers: authorization, x-client-info, apikey, content-type"
        ),
        "{head}"
    );

    let (status, _, body) = call(port, "GET", &[], b"");
    assert_eq!(status, 405);
    assert_eq!(json_body(&body)["code"], "method_not_allowed");

    let ct = ("content-type", "application/json");
    let good = br#"{"lead_id":"8f1c1a8e-3c1b-4f7e-9a57-0d7b1f0c2a11"}"#;
    let (status, head, body) = call(port, "POST", &[ct], good);
    assert_eq!(status, 401);
    assert_eq!(json_body(&body)["code"], "unauthorized");
    assert!(
        head.contains("access-control-allow-origin: *"),
        "errors carry CORS headers too"
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let forged = user_token(now + 600).replace('.', ".x");
    let expired = format!("Bearer {}", user_token(now - 10));
    for bad in [
        format!("Bearer {forged}"),
        expired,
        "Bearer not.a.jwt".to_string(),
    ] {
        let (status, _, body) = call(port, "POST", &[ct, ("authorization", &bad)], good);
        assert_eq!(
            (status, json_body(&body)["code"].as_str()),
            (401, Some("unauthorized")),
            "{bad}"
        );
    }

    let auth = format!("Bearer {}", user_token(now + 600));
    let auth = ("authorization", auth.as_str());
    let (status, _, body) = call(
        port,
        "POST",
        &[ct, auth],
        br#"{"lead_id":"8f1c1a8e","x":1}"#,
    );
    assert_eq!(status, 400);
    assert_eq!(json_body(&body)["code"], "bad_request");
    let (status, _, body) = call(port, "POST", &[ct, auth], br#"{"lead_id":"not-a-uuid"}"#);
    assert_eq!(status, 400);
    assert!(json_body(&body)["message"]
        .as_str()
        .unwrap()
        .contains("lead_id must be a UUID"));

    let big = vec![b' '; (1 << 20) + 10];
    let (status, _, body) = call(port, "POST", &[ct, auth], &big);
    assert_eq!(status, 413);
    assert_eq!(json_body(&body)["code"], "payload_too_large");
}
