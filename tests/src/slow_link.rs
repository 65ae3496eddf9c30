//! A poor network link between a device and the server, as a TCP proxy: limited bandwidth shared
//! by every connection, a one-way delay, packet loss (a lost segment stalls its direction for a
//! retransmission timeout, as TCP does), and a cut that drops every open connection and refuses
//! new ones until restored.
//!
//! Why a proxy and not `tc netem`: this machine's kernel has no `sch_netem` ("Specified qdisc kind
//! is unknown"), so a network namespace with netem cannot be made here. The proxy shapes bytes at
//! the TCP stream level, which is what an HTTP client sees of a slow link; it does not model
//! congestion control's slow start (so it is, if anything, kinder than a real link on short
//! transfers).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The link's shape.
#[derive(Debug, Clone, Copy)]
pub struct LinkShape {
    /// Bytes per second, each direction (256 kbit/s = 32,000).
    pub rate: u64,
    /// One way (300 ms round trip = 150 ms).
    pub delay: Duration,
    /// Probability that a segment is lost and resent after a retransmission timeout.
    pub loss: f64,
    pub seed: u64,
}

impl LinkShape {
    /// About 256 kbit/s, 300 ms round trip, 2 % loss: a rural clinic's shared uplink.
    pub fn rural(seed: u64) -> LinkShape {
        LinkShape {
            rate: 32_000,
            delay: Duration::from_millis(150),
            loss: 0.02,
            seed,
        }
    }
}

/// A TCP segment's worth of payload.
const SEGMENT: usize = 1_400;

/// One direction of the link: when it is free again, shared by all connections.
struct Direction {
    busy_until: Mutex<Instant>,
    bytes: AtomicU64,
}

struct Shared {
    shape: LinkShape,
    up: Direction,
    down: Direction,
    cut: AtomicBool,
    /// Cut the link once this many bytes went down (0: never).
    cut_after_down: AtomicU64,
    /// Bumped on every cut: pumps of older generations stop.
    generation: AtomicU64,
    rng: Mutex<u64>,
}

impl Shared {
    fn lost(&self) -> bool {
        // SplitMix64: reproducible for one seed and one order of segments.
        let mut s = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 <= self.shape.loss
    }

    /// When a segment of `len` bytes entering `dir` now arrives at the other end.
    fn schedule(&self, dir: &Direction, len: usize) -> Instant {
        let serialise = Duration::from_secs_f64(len as f64 / self.shape.rate.max(1) as f64);
        let mut busy = dir.busy_until.lock().unwrap_or_else(|p| p.into_inner());
        let mut depart = (*busy).max(Instant::now()) + serialise;
        if self.lost() {
            // Lost, then resent after a retransmission timeout (at least 200 ms, two round
            // trips here): the direction carries nothing new meanwhile.
            depart += (self.shape.delay * 4).max(Duration::from_millis(200)) + serialise;
        }
        *busy = depart;
        depart + self.shape.delay
    }
}

pub struct SlowLink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl SlowLink {
    /// Listens on a free loopback port and forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, shape: LinkShape) -> SlowLink {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream host:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the link");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            shape,
            up: Direction {
                busy_until: Mutex::new(Instant::now()),
                bytes: AtomicU64::new(0),
            },
            down: Direction {
                busy_until: Mutex::new(Instant::now()),
                bytes: AtomicU64::new(0),
            },
            cut: AtomicBool::new(false),
            cut_after_down: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            rng: Mutex::new(shape.seed),
        });
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                if s.cut.load(Ordering::SeqCst) {
                    drop(client); // the link is down: the connection fails at once
                    continue;
                }
                let s = s.clone();
                conns.spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        connection(s, client, server).await;
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        });
        SlowLink { addr, shared, accept }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops every open connection and refuses new ones until `restore`.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.shared.cut_after_down.store(0, Ordering::SeqCst);
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Cuts the link once `n` more bytes have gone down it.
    pub fn cut_after_down_bytes(&self, n: u64) {
        let at = self.shared.down.bytes.load(Ordering::SeqCst) + n;
        self.shared.cut_after_down.store(at, Ordering::SeqCst);
    }

    /// Bytes carried (up to the server, down to the device).
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.shared.up.bytes.load(Ordering::SeqCst),
            self.shared.down.bytes.load(Ordering::SeqCst),
        )
    }
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn connection(s: Arc<Shared>, client: TcpStream, server: TcpStream) {
    let gen = s.generation.load(Ordering::SeqCst);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(s.clone(), gen, cr, sw, false);
    let down = pump(s.clone(), gen, sr, cw, true);
    // Either direction closing or the link being cut ends the connection (both halves dropped).
    tokio::select! {
        _ = up => {},
        _ = down => {},
        _ = async {
            while s.generation.load(Ordering::SeqCst) == gen {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        } => {},
    }
}

/// Carries one direction: reads segments, schedules each on the shared link, writes it out when
/// it arrives.
async fn pump(s: Arc<Shared>, gen: u64, mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, down: bool) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = {
        let s = s.clone();
        async move {
            let mut buf = vec![0u8; SEGMENT];
            loop {
                match from.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let dir = if down { &s.down } else { &s.up };
                        let at = s.schedule(dir, n);
                        if tx.send((at, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    };
    let writer = async {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if s.generation.load(Ordering::SeqCst) != gen {
                return;
            }
            if to.write_all(&bytes).await.is_err() {
                return;
            }
            let dir = if down { &s.down } else { &s.up };
            let total = dir.bytes.fetch_add(bytes.len() as u64, Ordering::SeqCst) + bytes.len() as u64;
            let limit = s.cut_after_down.load(Ordering::SeqCst);
            if down && limit > 0 && total >= limit {
                s.cut.store(true, Ordering::SeqCst);
                s.generation.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    // The writer ends the direction (after delivering what was read, or on a cut).
    tokio::join!(reader, writer);
}
