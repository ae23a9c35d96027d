//! The fuzz targets' oracles: each takes libFuzzer's bytes, runs one parser or checker of the
//! project, and asserts what must hold for every input (a panic is a finding). The checks are
//! written independently of the code under test: the SQL quoting is re-read by a transcription
//! of PostgreSQL's lexer rules (`scan.l`), and a token the checkers admit is re-checked against
//! its HMAC here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use moha_edge::auth::{verify_token, KeySet};
use moha_edge::env::Secret;
use moha_edge::gateway::Gateway;
use moha_edge::{Env, Method, Request};
use serde_json::{json, Value};
use sha2::Sha256;

/// The legacy HS256 secret of Supabase's local stack: the one key the targets sign with.
pub const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
pub const PUBLISHABLE: &str = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
pub const SECRET_KEY: &str = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
/// A fixed "now" (2026-11-30), so expiry is decided the same way every run.
pub const NOW: i64 = 1_795_996_800;

// ---------------------------------------------------------------------------------------------
// quote: `sql::quote`'s output must read back, by PostgreSQL's rules, as exactly its input.

pub fn quote(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match sql::quote::ident(s) {
        Ok(q) => {
            let read = read_ident(&q);
            assert_eq!(
                read.as_deref(),
                Some(s),
                "ident({s:?}) = {q:?} reads back as {read:?}"
            );
            assert!(
                s.len() <= 63,
                "ident({s:?}) accepted a name PostgreSQL truncates"
            );
        }
        Err(_) => assert!(
            s.is_empty() || s.contains('\0') || s.len() > 63,
            "ident refused {s:?}"
        ),
    }
    match sql::quote::literal(s) {
        Ok(q) => {
            let read = read_literal(&q);
            assert_eq!(
                read.as_deref(),
                Some(s),
                "literal({s:?}) = {q:?} reads back as {read:?}"
            );
        }
        Err(_) => assert!(s.contains('\0'), "literal refused {s:?}"),
    }
    let q = sql::quote::dollar_quote(s);
    let read = read_dollar_quoted(q.as_bytes());
    assert_eq!(read, Some(s.as_bytes()), "dollar_quote({s:?}) = {q:?}");
}

/// An identifier as the lexer reads it: a delimited `"…"` with `""` for `"`, or a bare name
/// that is already lower case (bare names are case-folded, so anything else would change).
fn read_ident(q: &str) -> Option<String> {
    if let Some(inner) = q.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                // A lone quote would have ended the identifier early.
                (chars.next() == Some('"')).then_some(())?;
            }
            out.push(c);
        }
        (!out.is_empty()).then_some(out)
    } else {
        let ok = q.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && q.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        ok.then(|| q.to_string())
    }
}

/// A string constant as the lexer reads it with `standard_conforming_strings` on; the `E''`
/// form as PostgreSQL reads escapes. Escapes other than `\\` and `\'` are refused, since they
/// would change the value.
fn read_literal(q: &str) -> Option<String> {
    let (escapes, rest) = match q.strip_prefix("E'") {
        Some(rest) => (true, rest),
        None => (false, q.strip_prefix('\'')?),
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    loop {
        match chars.next()? {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            // The closing quote must be the last character.
            '\'' => return chars.next().is_none().then_some(out),
            '\\' if escapes => match chars.next()? {
                c @ ('\\' | '\'') => out.push(c),
                _ => return None,
            },
            c => out.push(c),
        }
    }
}

fn dolq_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn dolq_cont(b: u8) -> bool {
    dolq_start(b) || b.is_ascii_digit()
}

/// A delimiter `$tag$` starting at `i` (`{dolqdelim}`), as its end index.
fn delimiter_at(s: &[u8], i: usize) -> Option<usize> {
    (s.get(i) == Some(&b'$')).then_some(())?;
    let mut j = i + 1;
    if s.get(j).copied().is_some_and(dolq_start) {
        j += 1;
        while s.get(j).copied().is_some_and(dolq_cont) {
            j += 1;
        }
    }
    (s.get(j) == Some(&b'$')).then_some(j)
}

/// A dollar-quoted constant as the lexer's `xdolq` state reads it: the body ends at the first
/// delimiter equal to the opening one; another delimiter gives back its last `$`.
fn read_dollar_quoted(q: &[u8]) -> Option<&[u8]> {
    let open_end = delimiter_at(q, 0)?;
    let tag = &q[..=open_end];
    let body = &q[open_end + 1..];
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'$' {
            i += 1;
            continue;
        }
        match delimiter_at(body, i) {
            Some(j) if &body[i..=j] == tag => {
                // The constant ends here; it must be the end of the text.
                return (i + tag.len() == body.len()).then_some(&body[..i]);
            }
            Some(j) => i = j,
            None => {
                // `{dolqfailed}` or a lone `$`: consumed.
                i += 1;
                while body.get(i).copied().is_some_and(dolq_cont) {
                    i += 1;
                }
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// migration_split: statements are trimmed, non-empty, in order, and exactly where they say.

pub fn migration_split(data: &[u8]) {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let statements = xtask::migrate::split::split(sql);
    let mut last_end = 0;
    for s in &statements {
        assert!(!s.text.is_empty(), "an empty statement in {sql:?}");
        assert_eq!(s.text.trim(), s.text, "an untrimmed statement in {sql:?}");
        assert!(s.span.start >= last_end, "statements overlap in {sql:?}");
        assert_eq!(
            sql.get(s.span.clone()),
            Some(s.text.as_str()),
            "span {:?} is not the text in {sql:?}",
            s.span
        );
        last_end = s.span.end;
        let _ = s.is_empty_for_server();
        let _ = s.first_words(3);
        let _ = s.tokens();
    }
    // Text outside every statement is only whitespace (Unicode's, as Go's strings.TrimSpace
    // trims it in the CLI) and semicolons.
    let mut covered = vec![false; sql.len()];
    for s in &statements {
        covered[s.span.clone()].iter_mut().for_each(|c| *c = true);
    }
    for (i, c) in sql.char_indices() {
        assert!(
            covered[i] || c.is_whitespace() || c == ';',
            "{c:?} at byte {i} of {sql:?} is in no statement"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// jwt_verify: nothing verifies that the secret did not sign, and a signed token's claims come
// back unchanged, while any change to it fails.

fn hs256(signing_input: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(signing_input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Signs `claims` with [`SECRET`] (HS256), as Supabase's legacy keys are signed.
pub fn sign(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let sig = hs256(&input);
    format!("{input}.{sig}")
}

/// Whether `token` carries a valid HS256 MAC by [`SECRET`] over its first two parts.
fn signed_by_secret(token: &str) -> bool {
    let mut parts = token.rsplitn(2, '.');
    let (Some(sig), Some(input)) = (parts.next(), parts.next()) else {
        return false;
    };
    input.matches('.').count() == 1 && hs256(input) == sig
}

fn keys(secret: &Secret) -> KeySet<'_> {
    KeySet {
        hs256_secret: Some(secret),
        jwks: &[],
        verified: None,
    }
}

pub fn jwt_verify(data: &[u8]) {
    let secret = Secret::new(SECRET);
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        // Any text as a token.
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        if verify_token(token, keys(&secret), NOW).is_ok() {
            assert!(
                signed_by_secret(token),
                "{token:?} verified without the secret's MAC"
            );
        }
        return;
    }
    // Claims from the input, signed; then one byte of the token changed.
    let Ok(Value::Object(mut claims)) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    claims.insert("exp".into(), json!(NOW + 3600));
    let claims = Value::Object(claims);
    let token = sign(&claims);
    match verify_token(&token, keys(&secret), NOW) {
        Ok(got) => assert_eq!(got, claims, "claims changed in verification"),
        // Refusing a claim set (a bad nbf, say) is allowed; admitting changed ones is not.
        Err(_) => return,
    }
    let mut bytes = token.into_bytes();
    let at = usize::from(mode) * 7 % bytes.len();
    let flipped = match bytes[at] {
        b'A' => b'B',
        b'.' => b'A',
        _ => b'A',
    };
    bytes[at] = flipped;
    let tampered = String::from_utf8(bytes).expect("ASCII");
    if verify_token(&tampered, keys(&secret), NOW).is_ok() {
        assert!(
            signed_by_secret(&tampered),
            "a changed token verified: {tampered:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// edge_request: the gateway admits only the project's keys and tokens its secret signed, and
// request parsing answers every body with a value or a 4xx.

fn gateway() -> Gateway {
    let config = json!({
        "jwt_secret": SECRET,
        "jwks": {"keys": []},
        "publishable_keys": {"default": PUBLISHABLE},
        "secret_keys": {"default": SECRET_KEY},
        "audience": "authenticated",
    });
    Gateway::from_json(&config.to_string()).expect("the fuzz gateway's config")
}

fn admitted_credential(headers: &[(String, String)]) -> bool {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let bearer = get("authorization")
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim());
    let apikey = get("apikey");
    let known_key = |k: &str| k == PUBLISHABLE || k == SECRET_KEY;
    apikey.is_some_and(known_key)
        || bearer.is_some_and(signed_by_secret)
        || apikey.is_some_and(signed_by_secret)
}

pub fn edge_request(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode % 2 == 0 {
        // The gateway's decisions over arbitrary request headers.
        let gw = gateway();
        let headers: Option<Vec<(String, String)>> = serde_json::from_str(text).ok();
        for out in [
            gw.relay_json(text, NOW as f64),
            gw.storage_json(text, NOW as f64),
        ] {
            let v: Value = serde_json::from_str(&out).expect("the gateway answers JSON");
            match v["ok"].as_bool() {
                Some(true) => {
                    let h = headers.as_deref().expect("admitted unparsable headers");
                    assert!(admitted_credential(h), "admitted {text:?}: {out}");
                }
                Some(false) => {
                    let status = v["status"].as_u64().expect("a refusal has a status");
                    assert!((400..500).contains(&status), "refusal status {status}");
                }
                None => panic!("no ok field: {out}"),
            }
        }
        return;
    }
    // A function's request: method, headers and body from the input.
    let mut lines = text.splitn(3, '\n');
    let method = Method::parse(lines.next().unwrap_or(""));
    let mut req = Request::new(method, "/functions/v1/fuzz");
    for h in lines.next().unwrap_or("").split('\t') {
        if let Some((k, v)) = h.split_once(':') {
            req = req.with_header(&k.to_ascii_lowercase(), v.to_string());
        }
    }
    let req = req.with_body(lines.next().unwrap_or("").as_bytes().to_vec());
    let _ = moha_edge::validate::require_post(&req);
    if let Err(e) = moha_edge::validate::json_body::<Value>(&req) {
        let status = e.into_response().status;
        assert!((400..500).contains(&status), "json_body answered {status}");
    }
    if let Ok(s) = std::str::from_utf8(&req.body) {
        let _ = moha_edge::validate::uuid("id", s);
    }
}

// ---------------------------------------------------------------------------------------------
// mcp_request: the MCP endpoint answers every request with a defined status and JSON-RPC.

mod mcp_host;

pub fn mcp_request(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let body = rest.to_vec();
    let mut req = Request::new(
        if flags & 1 == 0 {
            Method::Post
        } else {
            Method::Get
        },
        "/functions/v1/mcp",
    );
    if flags & 2 == 0 {
        req = req.with_header("content-type", "application/json");
    }
    if flags & 4 == 0 {
        req = req.with_header("authorization", format!("Bearer moha_{}", "A".repeat(43)));
    }
    if flags & 8 != 0 {
        req = req.with_header("mcp-protocol-version", "2025-06-18");
    }
    if flags & 16 != 0 {
        req = req.with_header("origin", "https://evil.example");
    }
    let req = req.with_body(body);
    let env = Env::from_pairs([("SUPABASE_URL", "http://127.0.0.1:54321")]);
    let host = mcp_host::FuzzHost::new(flags & 32 != 0);
    let resp = pollster::block_on(mcp::handle(req, &env, &host));
    assert!(
        [200, 202, 400, 401, 403, 405, 413, 415, 429, 500].contains(&resp.status),
        "mcp answered {}",
        resp.status
    );
    if resp.status != 202 {
        let v: Value = serde_json::from_slice(&resp.body).expect("mcp answers JSON");
        let messages = match &v {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for m in messages {
            assert_eq!(m["jsonrpc"], "2.0", "not JSON-RPC: {m}");
            assert!(
                m.get("result").is_some() != m.get("error").is_some(),
                "a message holds exactly one of result and error: {m}"
            );
        }
    }
    assert!(host.balanced(), "a transaction was left open");
}
