//! Class 7, the local gateway stalled or exhausted by one request: hostile multipart forms,
//! bodies past the limit streamed chunked, signed URLs that never expire, and tokens Storage
//! should refuse. Raw HTTP against the real gateway with hand-made tokens and bodies; the public
//! anon key is the attacker's only credential unless a step says otherwise.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use moha_tests::gateway::{anon_key, fixture, http, now, service_key, token, turn, Reply};
use moha_tests::personas;
use moha_tests::provider_stub::PNG;
use serde_json::{json, Value};
use xtask::jwt;

const MIB: usize = 1 << 20;

/// A request whose head is sent; the attacker sends the body at will and looks for the answer
/// between writes.
struct InFlight {
    s: TcpStream,
    got: Vec<u8>,
    closed: bool,
}

fn open(method: &str, path: &str, headers: &[(&str, &str)]) -> InFlight {
    let mut s = TcpStream::connect(("127.0.0.1", fixture().port)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A write the gateway does not read returns now and then, to look for its answer.
    s.set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    InFlight {
        s,
        got: Vec::new(),
        closed: false,
    }
}

impl InFlight {
    /// Takes what the gateway has sent so far, without waiting; then the status if its answer's
    /// head is complete.
    fn answered(&mut self) -> Option<u16> {
        self.s.set_nonblocking(true).unwrap();
        self.read();
        self.s.set_nonblocking(false).unwrap();
        self.status()
    }

    fn read(&mut self) {
        let mut buf = [0u8; 4096];
        while !self.closed {
            match self.s.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => self.closed = true,
            }
        }
    }

    fn status(&self) -> Option<u16> {
        let end = self.got.windows(4).position(|w| w == b"\r\n\r\n")?;
        String::from_utf8_lossy(&self.got[..end])
            .split(' ')
            .nth(1)?
            .parse()
            .ok()
    }

    /// Sends `bytes`; false as soon as the gateway has answered or closed.
    fn send(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            if self.answered().is_some() || self.closed {
                return false;
            }
            match self.s.write(bytes) {
                Ok(0) => return false,
                Ok(n) => bytes = &bytes[n..],
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// One chunk of a `transfer-encoding: chunked` body.
    fn chunk(&mut self, data: &[u8]) -> bool {
        let mut frame = format!("{:x}\r\n", data.len()).into_bytes();
        frame.extend_from_slice(data);
        frame.extend_from_slice(b"\r\n");
        self.send(&frame)
    }

    /// Waits for the answer's status; 0 when the gateway closed without one.
    fn answer(mut self) -> u16 {
        while self.status().is_none() && !self.closed {
            self.read();
        }
        self.status().unwrap_or(0)
    }
}

/// Streams a chunked body of `total` bytes (1 MiB chunks) until the gateway answers. Returns the
/// status and how many bytes were still unsent when it did.
fn stream_chunked(path: &str, headers: &[(&str, &str)], total: usize) -> (u16, usize) {
    let mut headers = headers.to_vec();
    headers.push(("transfer-encoding", "chunked"));
    let mut r = open("POST", path, &headers);
    let chunk = vec![b'x'; MIB];
    let mut sent = 0;
    while sent < total && r.chunk(&chunk) {
        sent += MIB;
    }
    if sent == total {
        r.send(b"0\r\n\r\n");
    }
    (r.answer(), total - sent)
}

/// `GET /__gateway/health`. The read timeout only keeps a stalled gateway from hanging the test.
fn probe() -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", fixture().port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(b"GET /__gateway/health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    if let Err(e) = s.read_to_end(&mut out) {
        panic!("the health route did not answer while the hostile request was in flight: {e}");
    }
    String::from_utf8_lossy(&out)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// A fresh object name in a folder no policy ties to anyone.
fn stray_name(file: &str) -> String {
    format!("00000000-0000-4000-a000-00000000dead/{}-{file}", now())
}

/// An object in the client persona's own `renders` folder, put there with the service key.
fn clients_object(file: &str) -> String {
    let name = format!("{}/{}-{file}", personas::id("client"), now());
    let r = http(
        "POST",
        &format!("/storage/v1/object/renders/{name}"),
        &[
            ("authorization", &bearer(&service_key())),
            ("content-type", "image/png"),
        ],
        PNG,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    name
}

fn get(path: &str, bearer_token: Option<&str>) -> Reply {
    let auth = bearer_token.map(bearer);
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    http("GET", path, &headers, b"")
}

/// The client persona's claims as Supabase Auth signs them, valid for ten minutes.
fn client_claims() -> Value {
    let mut c = personas::claims(personas::persona("client"));
    c["exp"] = json!(now() + 600);
    c
}

fn sign(claims: &Value) -> String {
    jwt::sign_hs256(claims, jwt::LOCAL_JWT_SECRET)
}

#[test]
fn a_form_with_a_16000_character_boundary_is_refused_before_its_body_is_read() {
    let _t = turn();
    let boundary = "-".repeat(16_000);
    // What froze every route for 20 s: a near-match of the delimiter at every byte of 1 MiB.
    let mut body = Vec::new();
    while body.len() < MIB {
        body.extend_from_slice(&boundary.as_bytes()[1..]);
        body.extend_from_slice(b"--x");
    }
    body.truncate(MIB);
    let anon = anon_key();
    let kind = format!("multipart/form-data; boundary={boundary}");
    let length = body.len().to_string();
    let path = format!("/storage/v1/object/blog-media/{}", stray_name("a.png"));
    let mut r = open(
        "POST",
        &path,
        &[
            ("authorization", &bearer(&anon)),
            ("content-type", &kind),
            ("content-length", &length),
        ],
    );
    // Half the body; the attacker holds the rest.
    r.send(&body[..MIB / 2]);
    let mut status = None;
    let mut served = 0;
    while status.is_none() && served < 20 {
        assert_eq!(probe(), 200);
        served += 1;
        status = r.answered();
    }
    assert_eq!(
        status,
        Some(400),
        "a boundary over 70 characters (RFC 2046) is refused before the body is read; the gateway \
         served {served} other requests and was still waiting for the rest of the form"
    );
}

#[test]
fn a_form_that_is_quadratic_to_scan_stalls_no_other_route() {
    let _t = turn();
    // One file part, then 1 MiB of delimiters whose parts never end their headers: a scanner
    // that looks for the end of the headers from each delimiter reads the rest of the body again
    // for every one of them.
    let mut body = b"--b\r\ncontent-disposition: form-data; name=\"\"; filename=\"x.png\"\r\n\
                     content-type: image/png\r\n\r\n"
        .to_vec();
    body.extend_from_slice(PNG);
    body.extend_from_slice(b"\r\n");
    while body.len() < MIB {
        body.extend_from_slice(b"--b\r\n");
    }
    body.extend_from_slice(b"\r\n\r\n");
    // The table lock holds the upload at its insert, once parsed, until the probe has answered.
    let mut db = fixture().db.connect();
    let mut lock = db.transaction().unwrap();
    lock.batch_execute("lock table storage.objects in access exclusive mode")
        .unwrap();
    let anon = anon_key();
    let length = body.len().to_string();
    let path = format!("/storage/v1/object/blog-media/{}", stray_name("q.png"));
    let mut r = open(
        "POST",
        &path,
        &[
            ("authorization", &bearer(&anon)),
            ("content-type", "multipart/form-data; boundary=b"),
            ("content-length", &length),
        ],
    );
    assert!(
        r.send(&body),
        "the gateway answered before the form was sent"
    );
    assert_eq!(probe(), 200);
    lock.rollback().unwrap();
    // Parsed, then refused by the policies: anon may not upload to blog-media.
    assert_eq!(r.answer(), 403);
}

#[test]
fn a_chunked_upload_past_the_bucket_limit_is_refused_while_it_streams() {
    let _t = turn();
    let anon = anon_key();
    // blog-media holds 20 MiB; the attacker offers 512 MiB with no content-length.
    let (status, unsent) = stream_chunked(
        &format!("/storage/v1/object/blog-media/{}", stray_name("big.png")),
        &[
            ("authorization", &bearer(&anon)),
            ("content-type", "image/png"),
        ],
        512 * MIB,
    );
    assert_eq!(status, 413);
    assert!(
        unsent >= 256 * MIB,
        "the 413 came after the gateway had taken {} MiB of a 512 MiB chunked body",
        (512 * MIB - unsent) / MIB
    );
}

#[test]
fn a_chunked_body_to_the_sign_route_is_refused_while_it_streams() {
    let _t = turn();
    let anon = anon_key();
    let (status, unsent) = stream_chunked(
        &format!("/storage/v1/object/sign/blog-media/{}", stray_name("s.png")),
        &[
            ("authorization", &bearer(&anon)),
            ("content-type", "application/json"),
        ],
        512 * MIB,
    );
    assert_eq!(status, 413);
    assert!(
        unsent >= 256 * MIB,
        "the answer came after the gateway had taken {} MiB of a 512 MiB JSON body",
        (512 * MIB - unsent) / MIB
    );
}

#[test]
fn a_signed_url_lifetime_is_bounded_as_storage_bounds_it() {
    let _t = turn();
    let name = clients_object("signed.png");
    let client = token("client");
    let sign = |expires: Value| {
        http(
            "POST",
            &format!("/storage/v1/object/sign/renders/{name}"),
            &[
                ("authorization", &bearer(&client)),
                ("content-type", "application/json"),
            ],
            json!({ "expiresIn": expires }).to_string().as_bytes(),
        )
    };
    // Storage's InvalidParameter: 400.
    for never in [json!(1e300), json!(9_007_199_254_740_991_i64), json!(1.5)] {
        let r = sign(never.clone());
        assert_eq!(r.status, 400, "expiresIn {never}: {}", r.text());
    }
    let r = sign(json!(60));
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["signedURL"].as_str().unwrap().to_string();
    let r = get(&format!("/storage/v1{url}"), None);
    assert_eq!((r.status, r.body.as_slice()), (200, PNG));
}

#[test]
fn storage_refuses_tokens_without_exp_or_for_another_audience() {
    let _t = turn();
    let name = clients_object("aud.png");
    let object = format!("/storage/v1/object/renders/{name}");
    assert_eq!(get(&object, Some(&token("client"))).status, 200);

    let mut no_exp = client_claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut foreign = client_claims();
    foreign["aud"] = json!("https://partner.example");
    let mut no_aud = client_claims();
    no_aud.as_object_mut().unwrap().remove("aud");
    for (what, claims) in [
        ("no exp", &no_exp),
        ("a foreign aud", &foreign),
        ("a user role and no aud", &no_aud),
    ] {
        let r = get(&object, Some(&sign(claims)));
        assert_eq!(r.status, 400, "bearer token with {what}: {}", r.text());
    }

    // Signed-URL tokens, as the sign route makes them, then without exp or for someone else.
    let signed = |claims: &Value| {
        get(
            &format!(
                "/storage/v1/object/sign/renders/{name}?token={}",
                sign(claims)
            ),
            None,
        )
    };
    let url_claims = json!({ "url": format!("renders/{name}"), "iat": now(), "scope": "download" });
    let mut fine = url_claims.clone();
    fine["exp"] = json!(now() + 600);
    assert_eq!(signed(&fine).status, 200);
    let mut foreign = fine.clone();
    foreign["aud"] = json!("https://partner.example");
    for (what, claims) in [("no exp", &url_claims), ("a foreign aud", &foreign)] {
        let r = signed(claims);
        assert_eq!(r.status, 400, "signed-URL token with {what}: {}", r.text());
    }
}
