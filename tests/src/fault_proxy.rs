//! A seeded, fault-injecting HTTP proxy for simulation tests.
//!
//! It sits between many simulated clinic devices and one upstream sync server and misbehaves
//! like a bad rural network: it drops requests before they reach the server, drops answers
//! after the server applied the request, sends requests twice, delays and thereby reorders
//! them, replays old requests, and can cut the network entirely (a partition). The point is to
//! prove that the sync protocol converges anyway: pushes must be idempotent, pulls must be
//! resumable, and clients must retry.
//!
//! # What the client sees
//!
//! * A forwarded request returns the upstream's status, headers (minus hop-by-hop ones) and
//!   body verbatim, so 4xx JSON error bodies arrive unchanged.
//! * Faults the proxy makes up (dropped request, dropped response, partition, shutdown) are
//!   answered `502 {"code":"proxy_dropped","message":...}`.
//! * Upstream connection refused (e.g. the server was SIGKILLed and is restarting) is answered
//!   `502 {"code":"proxy_upstream_unreachable",...}`; any other transport failure after the
//!   connection was made (reset mid-request) is `502 {"code":"proxy_upstream_error",...}`; an
//!   upstream that does not answer within [`UPSTREAM_TIMEOUT`] is
//!   `504 {"code":"proxy_upstream_timeout",...}`. A client should treat all of these as "the
//!   request may or may not have been applied; retry".
//! * A request body over 64 MiB (far above the sync server's limit) is answered
//!   `413 {"code":"proxy_bad_request",...}`.
//!
//! # Reproducibility
//!
//! All randomness comes from one SplitMix64 stream seeded by the caller. When a request
//! arrives the proxy draws one 64-bit value from that stream (in arrival order) and seeds a
//! per-request generator with it; every decision for that request (drop? delay how long?
//! duplicate? replay which old body?) is then drawn from the per-request generator, always the
//! same number of draws in the same order whatever the configured probabilities are. So the
//! same seed and the same *arrival order* yield the same fault sequence, and changing the
//! config mid-run does not shift the decisions of later requests. Under concurrency the
//! arrival order itself depends on the scheduler, so concurrent runs are not bit-for-bit
//! reproducible; sequential runs are. The [`FaultStats`] counters are bumped when a decision is
//! taken (not when a background copy completes), so they are reproducible too.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How long the proxy waits for the upstream (connect + request + whole response body) before
/// giving up with a 504, so a wedged server can never hang a simulated device forever.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection refused should surface quickly; only a black-holed host would take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest request body the proxy accepts. Well above the sync server's own limit, so the
/// server's 413 (not ours) is what clients normally see for oversized pushes.
const MAX_REQUEST_BODY: usize = 64 * 1024 * 1024;

/// At most this many past requests are kept for replays (across all paths)...
const HISTORY_LEN: usize = 256;

/// ...and bodies larger than this are not kept at all, so the history stays within
/// `HISTORY_LEN * MAX_HISTORY_BODY` bytes even under a flood of large pushes.
const MAX_HISTORY_BODY: usize = 1024 * 1024;

/// A duplicated request's second copy goes out within this long after the first
/// ("concurrently or shortly after"), independent of `max_delay_ms`.
const MAX_DUPLICATE_LAG_MS: u64 = 50;

/// How long `shutdown` waits for open connections to wind down before aborting the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Fault probabilities, each in `0.0..=1.0` (values above 1 act as 1, below 0 or NaN as 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Don't forward; answer 502 (the server never saw it).
    pub drop_request: f64,
    /// Forward, wait for the upstream answer, then answer 502 instead (the server applied it,
    /// the client doesn't know).
    pub drop_response: f64,
    /// Forward the request twice (the second copy concurrently or up to 50 ms later); the
    /// client gets the first copy's answer, the second copy's answer is discarded.
    pub duplicate: f64,
    /// Probability that a request is delayed. A delayed request waits before forwarding,
    /// before answering, or both, each wait uniform in `0..=max_delay_ms`, so concurrent
    /// requests get reordered.
    pub delay: f64,
    /// Upper bound of each delay, and of the lag before a replay is sent.
    pub max_delay_ms: u64,
    /// After answering, re-send a randomly chosen *older* request to the same method and path
    /// (from a bounded history) to upstream in the background; its answer is discarded.
    pub replay: f64,
}

impl FaultConfig {
    /// A perfect network: everything is forwarded once, immediately.
    pub fn none() -> Self {
        FaultConfig {
            drop_request: 0.0,
            drop_response: 0.0,
            duplicate: 0.0,
            delay: 0.0,
            max_delay_ms: 0,
            replay: 0.0,
        }
    }

    /// A bad but usable network: roughly one request in three hits some fault.
    pub fn chaos() -> Self {
        FaultConfig {
            drop_request: 0.1,
            drop_response: 0.1,
            duplicate: 0.1,
            delay: 0.3,
            max_delay_ms: 200,
            replay: 0.05,
        }
    }
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig::none()
    }
}

/// Counters of what the proxy did. Each counts decisions as they are taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Client requests sent upstream (first copies only; duplicates and replays are separate).
    pub forwarded: u64,
    /// Requests answered 502 without being forwarded.
    pub dropped_requests: u64,
    /// Requests forwarded whose upstream answer was replaced by a 502.
    pub dropped_responses: u64,
    /// Extra copies sent (one per duplicated request).
    pub duplicated: u64,
    /// Requests that waited before forwarding and/or before answering.
    pub delayed: u64,
    /// Old requests re-sent in the background.
    pub replayed: u64,
    /// Requests answered 502 because a partition was on.
    pub partitioned: u64,
    /// Forwarded requests (first copies) that got no upstream answer: refused, reset or timed
    /// out. Not reproducible across runs if the upstream's availability isn't.
    pub upstream_errors: u64,
}

/// A running proxy. Dropping it stops it too (without waiting); prefer [`FaultProxy::shutdown`]
/// in async code so the port is released before the next step.
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    /// Sending `true` (or dropping the sender) tells the server and every handler to stop.
    stop: watch::Sender<bool>,
    /// `None` once `shutdown` has awaited it.
    server: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Binds 127.0.0.1:0 and forwards to `upstream` (e.g. `"http://127.0.0.1:8787"`).
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound; use [`FaultProxy::try_start`] to handle that.
    pub async fn start(upstream: &str, config: FaultConfig, seed: u64) -> FaultProxy {
        match FaultProxy::try_start(upstream, config, seed).await {
            Ok(proxy) => proxy,
            Err(e) => panic!("fault proxy could not start: {e}"),
        }
    }

    /// Like [`FaultProxy::start`], but reports bind/client-setup failures instead of panicking.
    pub async fn try_start(upstream: &str, config: FaultConfig, seed: u64) -> std::io::Result<FaultProxy> {
        let client = reqwest::Client::builder()
            // A test proxy must talk to the loopback server directly, whatever HTTP_PROXY says.
            .no_proxy()
            // Verbatim means verbatim: a 3xx goes back to the client untouched.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(UPSTREAM_TIMEOUT)
            .build()
            .map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);

        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            config: Mutex::new(config),
            partitioned: AtomicBool::new(false),
            rng: Mutex::new(SplitMix64::new(seed)),
            history: Mutex::new(VecDeque::with_capacity(HISTORY_LEN)),
            background: Mutex::new(Some(JoinSet::new())),
            stop: stop_rx.clone(),
            counters: Counters::default(),
        });

        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let mut server_stop = stop_rx;
        let server = tokio::spawn(async move {
            // Graceful: stop accepting at once, let open connections finish (handlers answer
            // immediately once stopped, see `handle`), then return.
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move { stopped(&mut server_stop).await });
            // An accept loop error is not actionable in a test proxy; the clients will notice.
            let _ = serve.await;
        });

        Ok(FaultProxy {
            url,
            shared,
            stop,
            server: Some(server),
        })
    }

    /// `"http://127.0.0.1:PORT"`, to hand to clients instead of the server's URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Replaces the fault probabilities; applies to requests arriving from now on.
    pub fn set_config(&self, config: FaultConfig) {
        *lock(&self.shared.config) = config;
    }

    /// While on, every request is answered 502 without being forwarded (network down).
    pub fn partition(&self, on: bool) {
        self.shared.partitioned.store(on, Ordering::SeqCst);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> FaultStats {
        self.shared.counters.snapshot()
    }

    /// Stops accepting, answers in-flight requests with 502, cancels background duplicates and
    /// replays, and waits until no task of the proxy is left running.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let background = lock(&self.shared.background).take();
        if let Some(mut set) = background {
            set.shutdown().await;
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await.is_err() {
                // A connection that is stuck mid-request (e.g. a client that never finishes
                // sending headers) must not block shutdown. Aborting drops axum's signal
                // receiver, which also tells its connection tasks to close.
                server.abort();
                let _ = server.await;
            }
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Can't await here: signal everything to stop and abort the background copies; the
        // server task and connection tasks then finish on their own within moments.
        let _ = self.stop.send(true);
        drop(lock(&self.shared.background).take());
    }
}

/// State shared by the handle and every request handler.
struct Shared {
    upstream: String,
    client: reqwest::Client,
    config: Mutex<FaultConfig>,
    partitioned: AtomicBool,
    /// The seeded stream per-request generators are drawn from (see module docs).
    rng: Mutex<SplitMix64>,
    /// Recent requests, oldest first, for replays.
    history: Mutex<VecDeque<Arc<Upstreamable>>>,
    /// Background duplicates and replays; `None` after shutdown, so nothing new is spawned.
    background: Mutex<Option<JoinSet<()>>>,
    stop: watch::Receiver<bool>,
    counters: Counters,
}

impl Shared {
    /// Runs `fut` in the background unless the proxy is shutting down.
    fn spawn_background(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Some(set) = lock(&self.background).as_mut() {
            // Reap finished tasks so the set doesn't grow with every duplicate ever sent.
            while set.try_join_next().is_some() {}
            set.spawn(fut);
        }
    }
}

#[derive(Default)]
struct Counters {
    forwarded: AtomicU64,
    dropped_requests: AtomicU64,
    dropped_responses: AtomicU64,
    duplicated: AtomicU64,
    delayed: AtomicU64,
    replayed: AtomicU64,
    partitioned: AtomicU64,
    upstream_errors: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> FaultStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FaultStats {
            forwarded: get(&self.forwarded),
            dropped_requests: get(&self.dropped_requests),
            dropped_responses: get(&self.dropped_responses),
            duplicated: get(&self.duplicated),
            delayed: get(&self.delayed),
            replayed: get(&self.replayed),
            partitioned: get(&self.partitioned),
            upstream_errors: get(&self.upstream_errors),
        }
    }
}

/// Locks a mutex, shrugging off poisoning: the guarded values (config, PRNG state, history,
/// task set) stay valid even if some thread panicked while holding the lock, and
/// the proxy must never panic because a test did.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Resolves once the proxy is told to stop (or its handle is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    // An error means the sender was dropped, which also means "stop".
    let _ = rx.wait_for(|&stop| stop).await;
}

/// Everything needed to send a request upstream, possibly several times.
struct Upstreamable {
    method: Method,
    /// The path as the client sent it, including the query string.
    path_and_query: String,
    /// The path without the query, to find older requests "to the same path" for replays.
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// The fate of one request, drawn up front from its own generator.
struct Decisions {
    drop_request: bool,
    drop_response: bool,
    duplicate: bool,
    duplicate_lag: Duration,
    delay_before: Option<Duration>,
    delay_after: Option<Duration>,
    replay: bool,
    replay_lag: Duration,
    /// Picks the replayed request among the older ones to the same path (modulo their count).
    replay_pick: u64,
}

impl Decisions {
    /// Always makes the same draws in the same order, whatever the probabilities, so a
    /// request's fate depends only on its seed and the config (see module docs).
    fn draw(rng: &mut SplitMix64, config: &FaultConfig) -> Decisions {
        let drop_request = rng.chance(config.drop_request);
        let drop_response = rng.chance(config.drop_response);
        let duplicate = rng.chance(config.duplicate);
        let duplicate_lag = Duration::from_millis(rng.up_to(MAX_DUPLICATE_LAG_MS));
        let delayed = rng.chance(config.delay);
        // Where the delay goes: 0 = before forwarding, 1 = before answering, 2 = both.
        let place = rng.up_to(2);
        let before = Duration::from_millis(rng.up_to(config.max_delay_ms));
        let after = Duration::from_millis(rng.up_to(config.max_delay_ms));
        let replay = rng.chance(config.replay);
        let replay_lag = Duration::from_millis(rng.up_to(config.max_delay_ms));
        let replay_pick = rng.next_u64();
        Decisions {
            drop_request,
            drop_response,
            duplicate,
            duplicate_lag,
            delay_before: (delayed && place != 1).then_some(before),
            delay_after: (delayed && place != 0).then_some(after),
            replay,
            replay_lag,
            replay_pick,
        }
    }
}

/// The proxy's single handler: every method and path lands here.
async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let mut stop = shared.stop.clone();
    if *stop.borrow() {
        return proxy_error(StatusCode::BAD_GATEWAY, "proxy_dropped", "proxy shut down");
    }
    tokio::select! {
        response = proxy(&shared, req) => response,
        // Lets graceful shutdown finish promptly even while requests sit in delays or wait
        // for a slow upstream.
        _ = stopped(&mut stop) => {
            proxy_error(StatusCode::BAD_GATEWAY, "proxy_dropped", "proxy shut down")
        }
    }
}

async fn proxy(shared: &Arc<Shared>, req: Request) -> Response {
    // Draw this request's seed first, at arrival, so the fault sequence follows arrival order
    // and not the order in which bodies happen to finish uploading.
    let seed = lock(&shared.rng).next_u64();
    let config = *lock(&shared.config);
    let decisions = Decisions::draw(&mut SplitMix64::new(seed), &config);

    let (parts, body) = req.into_parts();
    // Read the whole body even if we are about to drop the request: answering before the
    // client finished sending can surface as a broken pipe instead of our 502.
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(body) => body,
        Err(e) => {
            return proxy_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "proxy_bad_request",
                &format!("could not read the request body (limit {MAX_REQUEST_BODY} bytes): {e}"),
            )
        }
    };

    if shared.partitioned.load(Ordering::SeqCst) {
        Counters::bump(&shared.counters.partitioned);
        return proxy_error(StatusCode::BAD_GATEWAY, "proxy_dropped", "network partition: request not forwarded");
    }

    let request = Arc::new(Upstreamable {
        method: parts.method,
        path_and_query: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string()),
        path: parts.uri.path().to_string(),
        headers: end_to_end(&parts.headers),
        body,
    });
    // Pick the replay candidate before recording this request, so only *older* requests are
    // replayed.
    let replay_of = remember(shared, &request, decisions.replay_pick);

    if decisions.drop_request {
        Counters::bump(&shared.counters.dropped_requests);
        return proxy_error(
            StatusCode::BAD_GATEWAY,
            "proxy_dropped",
            "request dropped before reaching the server",
        );
    }

    if decisions.delay_before.is_some() || decisions.delay_after.is_some() {
        Counters::bump(&shared.counters.delayed);
    }
    if let Some(delay) = decisions.delay_before {
        tokio::time::sleep(delay).await;
    }

    if decisions.duplicate {
        Counters::bump(&shared.counters.duplicated);
        let (shared2, request2) = (Arc::clone(shared), Arc::clone(&request));
        let lag = decisions.duplicate_lag;
        shared.spawn_background(async move {
            tokio::time::sleep(lag).await;
            let _ = send(&shared2, &request2).await;
        });
    }

    Counters::bump(&shared.counters.forwarded);
    let response = match send(shared, &request).await {
        Ok(upstream) if decisions.drop_response => {
            drop(upstream);
            Counters::bump(&shared.counters.dropped_responses);
            proxy_error(
                StatusCode::BAD_GATEWAY,
                "proxy_dropped",
                "response dropped after the server handled the request",
            )
        }
        Ok(upstream) => upstream,
        Err(failure) => {
            Counters::bump(&shared.counters.upstream_errors);
            failure
        }
    };

    if let Some(delay) = decisions.delay_after {
        tokio::time::sleep(delay).await;
    }

    if decisions.replay {
        if let Some(old) = replay_of {
            Counters::bump(&shared.counters.replayed);
            let shared2 = Arc::clone(shared);
            let lag = decisions.replay_lag;
            shared.spawn_background(async move {
                // The lag lets the replay usually land after the client got its answer.
                tokio::time::sleep(lag).await;
                let _ = send(&shared2, &old).await;
            });
        }
    }

    response
}

/// Records `request` in the bounded history and returns an older request to the same method
/// and path, chosen by `pick`, if there is one.
fn remember(shared: &Shared, request: &Arc<Upstreamable>, pick: u64) -> Option<Arc<Upstreamable>> {
    let mut history = lock(&shared.history);
    let same_route = |old: &&Arc<Upstreamable>| old.method == request.method && old.path == request.path;
    let older = history.iter().filter(same_route).count();
    let chosen = if older == 0 {
        None
    } else {
        // `older` is at most HISTORY_LEN, so the cast back cannot truncate.
        let index = (pick % older as u64) as usize;
        history.iter().filter(same_route).nth(index).cloned()
    };
    if request.body.len() <= MAX_HISTORY_BODY {
        if history.len() >= HISTORY_LEN {
            history.pop_front();
        }
        history.push_back(Arc::clone(request));
    }
    chosen
}

/// Sends one copy of `request` upstream. `Err` holds the proxy's own error answer.
async fn send(shared: &Shared, request: &Upstreamable) -> Result<Response, Response> {
    let url = format!("{}{}", shared.upstream, request.path_and_query);
    let result = shared
        .client
        .request(request.method.clone(), url)
        .headers(request.headers.clone())
        // `Bytes` clones are reference-counted, so duplicates and replays share one buffer.
        .body(request.body.clone())
        .send()
        .await;
    let upstream = match result {
        Ok(upstream) => upstream,
        Err(e) => return Err(transport_error(&e)),
    };
    let status = upstream.status();
    let headers = end_to_end(upstream.headers());
    // The client-wide timeout also covers reading the body.
    let body = match upstream.bytes().await {
        Ok(body) => body,
        Err(e) => return Err(transport_error(&e)),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// Maps a reqwest failure to the proxy's JSON answer (codes documented in the module docs).
fn transport_error(e: &reqwest::Error) -> Response {
    // `{:#}`-style chains are not available on reqwest::Error; walk the sources so the message
    // says e.g. "Connection refused" rather than just "error sending request".
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if e.is_timeout() {
        proxy_error(StatusCode::GATEWAY_TIMEOUT, "proxy_upstream_timeout", &message)
    } else if e.is_connect() {
        proxy_error(StatusCode::BAD_GATEWAY, "proxy_upstream_unreachable", &message)
    } else {
        proxy_error(StatusCode::BAD_GATEWAY, "proxy_upstream_error", &message)
    }
}

/// A response made by the proxy itself, shaped like the sync server's errors.
fn proxy_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message });
    (status, axum::Json(body)).into_response()
}

/// Headers that describe one hop (RFC 9110 §7.6.1), or that the HTTP stack recomputes for the
/// next hop (`host`, `content-length`), must not be copied across the proxy.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [HeaderName; 8] = [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
        header::HOST,
    ];
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if HOP_BY_HOP.contains(name)
            || name == header::CONTENT_LENGTH
            || name.as_str() == "keep-alive"
            || name.as_str() == "proxy-connection"
        {
            continue;
        }
        out.append(name.clone(), HeaderValue::clone(value));
    }
    out
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and statistically fine for picking
/// faults. Not cryptographic, which doesn't matter here.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`; `p >= 1` is always, `p <= 0` and NaN never.
    fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Uniform in `0..=max` (Lemire's multiply-shift: no modulo bias worth mentioning, and
    /// no overflow even for `max == u64::MAX`).
    fn up_to(&mut self, max: u64) -> u64 {
        ((u128::from(self.next_u64()) * (u128::from(max) + 1)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_seeded_and_bounded() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..1000 {
            let (x, y) = (a.up_to(5), b.up_to(5));
            assert_eq!(x, y);
            assert!(x <= 5);
            assert!(a.chance(1.0) && b.chance(1.0));
            assert!(!a.chance(0.0) && !b.chance(f64::NAN));
        }
        assert_eq!(SplitMix64::new(0).up_to(0), 0);
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }
}
