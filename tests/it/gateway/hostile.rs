//! Hostile traffic (issue 17): malformed requests, huge headers, hundreds
//! of idle connections, a client that does not read its stream, upstreams
//! that send malformed or endless streams. The gateway stays up, answers
//! every request, and buffers a bounded amount whatever the peer does.
//!
//! The hostile upstream is a tiny server on 127.0.0.1 whose behaviour is
//! the model id it is sent; it counts the bytes it managed to send.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{Options, Stack, body, expected_text, run, stream_text, two_endpoints};

/// Bytes the hostile upstream has handed to its connections.
#[derive(Default)]
struct Sent(AtomicU64);

impl Sent {
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

fn sse(body: Body) -> Response {
    let mut r = Response::new(body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r
}

/// A chunk of 64 well-formed events, 64 tokens of text.
fn endless_chunk() -> Bytes {
    let event = "data: {\"id\":\"h\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"z \"},\"finish_reason\":null}]}\n\n";
    Bytes::from(event.repeat(64))
}

async fn hostile(State(sent): State<Arc<Sent>>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let forever = |chunk: Bytes| {
        let sent = Arc::clone(&sent);
        Body::from_stream(stream::repeat_with(move || {
            sent.0.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            Ok::<_, std::convert::Infallible>(chunk.clone())
        }))
    };
    match request["model"].as_str().unwrap_or("") {
        // Well-formed events, as fast as the gateway takes them, forever.
        "endless" => sse(forever(endless_chunk())),
        // One event every 100 ms, forever: a call that outlives a stop.
        "trickle" => {
            let chunk = endless_chunk();
            let event = chunk.slice(..chunk.len() / 64);
            sse(Body::from_stream(stream::unfold((), move |()| {
                let event = event.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((Ok::<_, std::convert::Infallible>(event), ()))
                }
            })))
        }
        // One event that never ends.
        "unterminated" => sse(forever(Bytes::from(format!("data: {}", "a".repeat(64 * 1024))))),
        // Not server-sent events at all (invalid UTF-8 included).
        "garbage" => sse(Body::from(&b"\xff\xfe<html>oops</html>\n\nmore\n\n"[..])),
        // Events whose data is not JSON.
        "notjson" => sse(Body::from("data: hello there\n\ndata: [DONE]\n\n")),
        // A 200 whose body is not JSON.
        _ => {
            let mut r = "{\"choices\": [".into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
    }
}

/// Starts the hostile upstream; it stops with the test's runtime.
async fn start_hostile() -> (SocketAddr, Arc<Sent>) {
    let sent = Arc::new(Sent::default());
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(hostile))
        .with_state(Arc::clone(&sent));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = slaplan::gateway::ConnLimits {
        header_timeout: Duration::from_secs(5),
        grace: Duration::from_millis(100),
    };
    tokio::spawn(async move {
        // Never asked to stop: the runtime's end stops it.
        let (_keep, never) = tokio::sync::watch::channel(false);
        let _ = slaplan::gateway::listen::serve(listener, app, limits, never).await;
    });
    (addr, sent)
}

/// The two-endpoint scenario with the primary on the hostile upstream,
/// sent as model `model`.
fn hostile_primary(hostile: SocketAddr, model: &str, attempt_timeout: &str) -> String {
    two_endpoints("", "", "")
        .replacen(
            "upstream = { base_url = \"http://EMU/v1\", api_key_env = \"UP_KEY_A\" }",
            &format!("upstream = {{ base_url = \"http://{hostile}/v1\", model = \"{model}\" }}"),
            1,
        )
        .replacen(
            "attempt_timeout = \"2s\"",
            &format!("attempt_timeout = \"{attempt_timeout}\""),
            1,
        )
}

/// Sends raw bytes on a new connection and returns what came back before
/// the gateway closed it or 5 s passed.
async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut sock = TcpStream::connect(addr).await.unwrap();
    // The gateway may answer and close before taking all of it.
    let _ = sock.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn chat_request(extra_headers: &[u8], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer tenant-acme-key-1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(extra_headers);
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(body);
    r
}

#[test]
fn malformed_requests_get_4xx_and_reach_no_upstream() {
    run(30, async {
        let stack = Stack::start(&two_endpoints("", "", "")).await;
        let good = serde_json::to_vec(&body(false, 2)).unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("not JSON", chat_request(b"", b"{\"messages\": [")),
            (
                "invalid UTF-8 in the body",
                chat_request(b"", b"{\"messages\": [{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}"),
            ),
            ("a JSON array", chat_request(b"", b"[1, 2, 3]")),
            ("messages not a list", chat_request(b"", b"{\"messages\": 3}")),
            ("deeply nested JSON", chat_request(b"", &[b'['; 100_000])),
            (
                "invalid UTF-8 in a header",
                chat_request(b"x-slaplan-workflow: \xff\xfe\r\n", &good),
            ),
            (
                "a huge header",
                chat_request(format!("x-junk: {}\r\n", "a".repeat(1024 * 1024)).as_bytes(), &good),
            ),
            (
                "too many headers",
                chat_request("x-h: 1\r\n".repeat(500).as_bytes(), &good),
            ),
            (
                "not HTTP",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n".to_vec(),
            ),
        ];
        for (name, request) in &cases {
            let reply = raw(stack.gateway, request).await;
            // Answered 4xx; or closed without an answer: bytes that are not
            // HTTP, or a header so large that the gateway stops reading it
            // (its 431 may then be lost to the connection's reset).
            let status: u16 = reply.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            if *name == "not HTTP" || *name == "a huge header" {
                assert!(status == 0 || (400..500).contains(&status), "{name}: {reply}");
            } else {
                assert!((400..500).contains(&status), "{name}: {reply}");
            }
        }
        // Still serving, and nothing reached an upstream.
        assert_eq!(stack.upstream_requests().await, 0);
        let r = stack.chat("tenant-acme-key-1", &body(false, 2)).send().await.unwrap();
        assert_eq!(r.status(), 200);
    });
}

#[test]
fn hundreds_of_idle_connections_are_dropped_and_others_served() {
    run(60, async {
        let options = Options {
            header_timeout: Duration::from_millis(800),
            ..Options::default()
        };
        let stack = Stack::start_with(&two_endpoints("", "", ""), options).await;
        // 300 connections that send nothing, 100 that send half a request
        // header, a byte every 100 ms (slow headers).
        let mut idle = Vec::new();
        for _ in 0..300 {
            idle.push(TcpStream::connect(stack.gateway).await.unwrap());
        }
        let slow: Vec<_> = (0..100)
            .map(|_| {
                let addr = stack.gateway;
                tokio::spawn(async move {
                    let mut sock = TcpStream::connect(addr).await.unwrap();
                    let started = Instant::now();
                    for b in b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-a: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                        if sock.write_all(&[*b]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    let mut buf = [0u8; 256];
                    let _ = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await;
                    started.elapsed()
                })
            })
            .collect();
        // Meanwhile a client is served as usual.
        let began = Instant::now();
        let r = stack.chat("tenant-acme-key-1", &body(false, 2)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(began.elapsed() < Duration::from_secs(5), "{:?}", began.elapsed());
        // Every idle connection is closed (or answered 408) at the header timeout.
        for mut sock in idle {
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
                .await
                .expect("an idle connection is dropped")
                .unwrap_or(0);
            assert!(n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"));
        }
        // A slow header is cut at the timeout, not when it would end (6 s).
        for s in slow {
            let took = s.await.unwrap();
            assert!(took < Duration::from_secs(4), "{took:?}");
        }
        let r = stack.chat("tenant-acme-key-1", &body(false, 2)).send().await.unwrap();
        assert_eq!(r.status(), 200);
    });
}

#[test]
fn a_client_that_does_not_read_holds_back_its_upstream_and_no_one_else() {
    run(60, async {
        let (hostile, sent) = start_hostile().await;
        // acme's primary streams forever; the bronze tenant uses the
        // secondary (the emulator).
        let stack = Stack::start(&hostile_primary(hostile, "endless", "60s")).await;
        let mut stalled = stack.chat("tenant-acme-key-1", &body(true, 10)).send().await.unwrap();
        assert_eq!(stalled.status(), 200);
        stalled.chunk().await.unwrap().unwrap();
        // The client reads nothing more: what the upstream could send
        // stops growing once the socket buffers and the gateway's per-call
        // queue are full. A plateau is a count unchanged over five polls
        // 200 ms apart (one poll alone was fooled on a loaded machine, where
        // the relay can pause that long and go on); it comes within 30 s.
        let (mut plateau, mut still) = (sent.get(), 0);
        for _ in 0..150 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = sent.get();
            still = if now == plateau { still + 1 } else { 0 };
            plateau = now;
            if still == 5 {
                break;
            }
        }
        assert_eq!(
            still, 5,
            "the upstream never stopped sending to a client that reads nothing"
        );
        // Other tenants are served meanwhile: an unbounded wait would hit
        // the test's 60 s cap; 10 s leaves a loaded machine its slack.
        let began = Instant::now();
        let mut other = body(true, 5);
        other["model"] = "secondary".into();
        let r = stack.chat("tenant-other-key-3", &other).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (text, done) = stream_text(&r.text().await.unwrap());
        assert_eq!(text, expected_text(5));
        assert!(done);
        assert!(began.elapsed() < Duration::from_secs(10), "{:?}", began.elapsed());
        tokio::time::sleep(Duration::from_millis(500)).await;
        let later = sent.get();
        assert!(plateau > 0);
        assert_eq!(
            later, plateau,
            "the upstream kept sending to a client that reads nothing"
        );
        // Bounded by buffers, far below what an unbounded relay would hold.
        assert!(later < 64 * 1024 * 1024, "{later}");
        // Reading resumes the flow.
        for _ in 0..200 {
            stalled.chunk().await.unwrap().unwrap();
        }
        assert!(sent.get() >= later);
        drop(stalled);
        let (_, requests) = stack.stop().await;
        let outcomes: Vec<&str> = requests.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
        assert!(outcomes.contains(&"cancelled"), "{outcomes:?}");
    });
}

#[test]
fn an_endless_stream_is_cut_at_the_attempt_timeout() {
    run(30, async {
        let (hostile, sent) = start_hostile().await;
        let stack = Stack::start(&hostile_primary(hostile, "endless", "500ms")).await;
        let began = Instant::now();
        let r = stack.chat("tenant-acme-key-1", &body(true, 10)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        let took = began.elapsed();
        assert!(took < Duration::from_secs(5), "{took:?}");
        // The stream that was passed on ends with an error event.
        let last = text.trim_end().rsplit("\n\n").next().unwrap();
        assert!(last.contains("\"error\""), "{last}");
        let after = sent.get();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sent.get(), after, "the upstream request was not cancelled");
        let (_, requests) = stack.stop().await;
        assert_eq!(requests.len(), 1);
        assert_ne!(requests[0]["outcome"], "success");
    });
}

#[test]
fn malformed_upstream_answers_are_not_passed_on_and_the_call_falls_back() {
    run(60, async {
        let (hostile, sent) = start_hostile().await;
        for (model, stream) in [
            ("garbage", true),
            ("notjson", true),
            ("unterminated", true),
            ("truncated", false),
        ] {
            let stack = Stack::start(&hostile_primary(hostile, model, "5s")).await;
            let r = stack.chat("tenant-acme-key-1", &body(stream, 4)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{model}");
            if stream {
                let (text, done) = stream_text(&r.text().await.unwrap());
                assert_eq!(text, expected_text(4), "{model}");
                assert!(done, "{model}");
            } else {
                let v: Value = r.json().await.unwrap();
                assert_eq!(v["choices"][0]["message"]["content"], expected_text(4), "{model}");
            }
            let (_, requests) = stack.stop().await;
            assert_eq!(requests[0]["endpoint"], "secondary", "{model}");
            assert_eq!(requests[0]["attempts"], 2, "{model}");
        }
        // The event that never ended was read up to the limit, not beyond.
        assert!(sent.get() < 16 * 1024 * 1024, "{}", sent.get());
    });
}

/// A call still in flight when the grace period after a stop runs out is
/// ended by the gateway and logged as such: one row, a failure of the
/// gateway's (not `cancelled`, which `judge` leaves out as the client's
/// doing), never no row at all.
#[test]
fn a_call_still_in_flight_when_the_grace_period_ends_is_logged_as_stopped() {
    run(40, async {
        let (hostile, _) = start_hostile().await;
        let stack = Stack::start(&hostile_primary(hostile, "trickle", "60s")).await;
        let mut r = stack.chat("tenant-acme-key-1", &body(true, 10)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.chunk().await.unwrap().unwrap();
        let client = tokio::spawn(async move {
            let mut rest = Vec::new();
            while let Ok(Some(c)) = r.chunk().await {
                rest.extend_from_slice(&c);
            }
            String::from_utf8_lossy(&rest).into_owned()
        });
        let (_, requests) = stack.stop().await;
        assert_eq!(requests.len(), 1, "{requests:?}");
        assert_eq!(requests[0]["outcome"], "gateway_stopped", "{requests:?}");
        // The client had its 200 and the stream's start; it is told why
        // the stream ends.
        assert_eq!(requests[0]["status"], 200, "{requests:?}");
        let rest = tokio::time::timeout(Duration::from_secs(5), client)
            .await
            .unwrap()
            .unwrap();
        assert!(rest.contains("the gateway is stopping"), "{rest}");
    });
}
