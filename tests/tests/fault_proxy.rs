//! The fault-injecting proxy against a tiny in-process upstream that counts requests per path
//! and echoes what it got. No FerretDB, no sync server: this only checks the proxy itself.

use anola_e2e::fault_proxy::{FaultConfig, FaultProxy, FaultStats};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests the upstream has seen, per path, plus the bodies in arrival order.
#[derive(Default)]
struct Seen {
    per_path: HashMap<String, u64>,
    bodies: Vec<Bytes>,
}

struct Upstream {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

impl Upstream {
    async fn start() -> Upstream {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = Arc::clone(&seen);
        let app = axum::Router::new().fallback(move |method, uri, headers, body| echo(Arc::clone(&state), method, uri, headers, body));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        // Lives until the test's runtime ends.
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream { url, seen }
    }

    fn count(&self, path: &str) -> u64 {
        let seen = self.seen.lock().unwrap();
        seen.per_path.get(path).copied().unwrap_or(0)
    }

    fn total(&self) -> u64 {
        self.seen.lock().unwrap().per_path.values().sum()
    }

    /// Waits (briefly) for background copies to land.
    async fn wait_for_total(&self, want: u64) {
        for _ in 0..200 {
            if self.total() >= want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("upstream saw {} requests, wanted {want}", self.total());
    }
}

/// Echoes body and content-type; reports method and URI in headers. `/reject` answers like
/// the sync server does for bad input: 422 with a JSON error body.
async fn echo(seen: Arc<Mutex<Seen>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    {
        let mut seen = seen.lock().unwrap();
        *seen.per_path.entry(uri.path().to_string()).or_default() += 1;
        seen.bodies.push(body.clone());
    }
    if uri.path() == "/reject" {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"code":"invalid_field","message":"patient.name is empty"}"#,
        )
            .into_response();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::HeaderName::from_static("x-echo-method"), method.as_str().parse().unwrap()),
            (header::HeaderName::from_static("x-echo-uri"), uri.to_string().parse().unwrap()),
        ],
        body,
    )
        .into_response()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post(http: &reqwest::Client, url: &str, body: &str) -> (u16, Value) {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn only(f: impl FnOnce(&mut FaultConfig)) -> FaultConfig {
    let mut config = FaultConfig::none();
    f(&mut config);
    config
}

#[tokio::test]
async fn no_faults_forwards_everything_verbatim() {
    let up = Upstream::start().await;
    let proxy = FaultProxy::start(&up.url, FaultConfig::none(), 1).await;
    let http = client();

    let body = r#"{"device":"d1","changes":[1,2,3]}"#;
    let r = http
        .post(format!("{}/sync/push?page=2&x=%20y", proxy.url()))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
    assert_eq!(r.headers()["x-echo-method"], "POST");
    assert_eq!(r.headers()["x-echo-uri"], "/sync/push?page=2&x=%20y");
    assert_eq!(r.text().await.unwrap(), body);

    let r = http
        .put(format!("{}/odd/path", proxy.url()))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain");
    assert_eq!(r.headers()["x-echo-method"], "PUT");
    assert_eq!(r.text().await.unwrap(), "hello");

    let r = http.get(format!("{}/health", proxy.url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-echo-method"], "GET");

    // A 4xx JSON error body arrives byte for byte.
    let r = http
        .post(format!("{}/reject", proxy.url()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"code":"invalid_field","message":"patient.name is empty"}"#
    );

    assert_eq!(up.total(), 4);
    assert_eq!(
        proxy.stats(),
        FaultStats {
            forwarded: 4,
            ..FaultStats::default()
        }
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn dropped_request_never_reaches_upstream() {
    let up = Upstream::start().await;
    let config = only(|c| c.drop_request = 1.0);
    let proxy = FaultProxy::start(&up.url, config, 2).await;
    let (status, body) = post(&client(), &format!("{}/sync/push", proxy.url()), "{}").await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], "proxy_dropped");
    assert_eq!(up.total(), 0);
    let stats = proxy.stats();
    assert_eq!((stats.dropped_requests, stats.forwarded), (1, 0));
    proxy.shutdown().await;
}

#[tokio::test]
async fn dropped_response_was_applied_upstream() {
    let up = Upstream::start().await;
    let config = only(|c| c.drop_response = 1.0);
    let proxy = FaultProxy::start(&up.url, config, 3).await;
    let (status, body) = post(&client(), &format!("{}/sync/push", proxy.url()), "{}").await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], "proxy_dropped");
    assert_eq!(up.count("/sync/push"), 1);
    let stats = proxy.stats();
    assert_eq!((stats.dropped_responses, stats.forwarded), (1, 1));
    proxy.shutdown().await;
}

#[tokio::test]
async fn duplicate_reaches_upstream_twice() {
    let up = Upstream::start().await;
    let config = only(|c| c.duplicate = 1.0);
    let proxy = FaultProxy::start(&up.url, config, 4).await;
    let (status, body) = post(&client(), &format!("{}/sync/push", proxy.url()), r#"{"n":1}"#).await;
    assert_eq!((status, body), (200, serde_json::json!({"n": 1})));
    up.wait_for_total(2).await;
    assert_eq!(up.count("/sync/push"), 2);
    let stats = proxy.stats();
    assert_eq!((stats.duplicated, stats.forwarded), (1, 1));
    proxy.shutdown().await;
}

#[tokio::test]
async fn replay_resends_an_older_body_to_the_same_path() {
    let up = Upstream::start().await;
    let config = only(|c| c.replay = 1.0);
    let proxy = FaultProxy::start(&up.url, config, 5).await;
    let http = client();
    for n in 0..3 {
        let (status, _) = post(&http, &format!("{}/sync/push", proxy.url()), &format!("{n}")).await;
        assert_eq!(status, 200);
    }
    // The first request has nothing older to replay; the other two each replay one.
    up.wait_for_total(5).await;
    assert_eq!(proxy.stats().replayed, 2);
    let bodies = up.seen.lock().unwrap().bodies.clone();
    let replayed: Vec<&Bytes> = bodies.iter().filter(|b| b.as_ref() != b"2").collect();
    // Body "2" is the newest, so it can only appear once (as itself): never replayed.
    assert_eq!(replayed.len(), 4);
    proxy.shutdown().await;
}

#[tokio::test]
async fn partition_blocks_then_restores() {
    let up = Upstream::start().await;
    let proxy = FaultProxy::start(&up.url, FaultConfig::none(), 6).await;
    let http = client();
    let url = format!("{}/sync/pull", proxy.url());

    proxy.partition(true);
    let (status, body) = post(&http, &url, "{}").await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], "proxy_dropped");
    assert_eq!(up.total(), 0);

    proxy.partition(false);
    let (status, _) = post(&http, &url, "{}").await;
    assert_eq!(status, 200);
    assert_eq!(up.count("/sync/pull"), 1);
    let stats = proxy.stats();
    assert_eq!((stats.partitioned, stats.forwarded), (1, 1));
    proxy.shutdown().await;
}

#[tokio::test]
async fn upstream_down_is_a_502_with_its_own_code() {
    // A port nobody listens on: bind, note it, release it.
    let port = anola_e2e::free_port();
    let proxy = FaultProxy::start(&format!("http://127.0.0.1:{port}"), FaultConfig::none(), 7).await;
    let (status, body) = post(&client(), &format!("{}/sync/push", proxy.url()), "{}").await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], "proxy_upstream_unreachable", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(proxy.stats().upstream_errors, 1);
    proxy.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let up = Upstream::start().await;
    let proxy = FaultProxy::start(&up.url, FaultConfig::none(), 8).await;
    let url = proxy.url();
    proxy.shutdown().await;
    let result = client().get(format!("{url}/health")).send().await;
    assert!(result.is_err(), "proxy still answering after shutdown");
}

#[tokio::test]
async fn concurrent_chaos_answers_everything_and_shuts_down_promptly() {
    let up = Upstream::start().await;
    let mut config = FaultConfig::chaos();
    config.max_delay_ms = 20;
    let proxy = FaultProxy::start(&up.url, config, 9).await;
    let http = client();
    let url = format!("{}/sync/push", proxy.url());
    let requests = (0..64).map(|n| {
        let (http, url) = (http.clone(), url.clone());
        async move { post(&http, &url, &format!("{n}")).await.0 }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200 || *s == 502), "{statuses:?}");
    let stats = proxy.stats();
    assert_eq!(stats.forwarded + stats.dropped_requests, 64, "{stats:?}");

    // Shut down while requests sit in long delays: they get 502 (or a closed connection),
    // and shutdown doesn't wait for the delays.
    proxy.set_config(FaultConfig {
        delay: 1.0,
        max_delay_ms: 10_000,
        ..FaultConfig::none()
    });
    let in_flight: Vec<_> = (0..8).map(|_| tokio::spawn(http.post(url.clone()).body("{}").send())).collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    proxy.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    for task in in_flight {
        if let Ok(r) = task.await.unwrap() {
            assert_eq!(r.status(), 502);
        }
    }
}

/// One sequential run of 50 requests under heavy, fast chaos: the stats and the status the
/// client saw for each request.
async fn sequential_run(seed: u64) -> (FaultStats, Vec<u16>) {
    let up = Upstream::start().await;
    let config = FaultConfig {
        drop_request: 0.2,
        drop_response: 0.2,
        duplicate: 0.2,
        delay: 0.3,
        max_delay_ms: 3,
        replay: 0.2,
    };
    let proxy = FaultProxy::start(&up.url, config, seed).await;
    let http = client();
    let mut statuses = Vec::new();
    for n in 0..50 {
        let path = if n % 3 == 0 { "/sync/pull" } else { "/sync/push" };
        let body = format!(r#"{{"n":{n}}}"#);
        let (status, _) = post(&http, &format!("{}{path}", proxy.url()), &body).await;
        statuses.push(status);
    }
    let stats = proxy.stats();
    proxy.shutdown().await;
    (stats, statuses)
}

#[tokio::test]
async fn same_seed_same_faults() {
    let first = sequential_run(42).await;
    let again = sequential_run(42).await;
    assert_eq!(first, again);

    // Every kind of fault actually happened, so the comparison means something.
    let s = first.0;
    assert_eq!(s.forwarded + s.dropped_requests, 50, "{s:?}");
    for (name, n) in [
        ("dropped_requests", s.dropped_requests),
        ("dropped_responses", s.dropped_responses),
        ("duplicated", s.duplicated),
        ("delayed", s.delayed),
        ("replayed", s.replayed),
    ] {
        assert!(n > 0, "no {name} in {s:?}");
    }
    assert_eq!(s.upstream_errors, 0);

    // And the seed matters.
    let other = sequential_run(43).await;
    assert_ne!(first, other);
}
