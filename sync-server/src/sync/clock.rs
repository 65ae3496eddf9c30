//! The server's own hybrid logical clock, for changes the server makes (a slot conflict, a merge,
//! a provider edit). It observes every device stamp it applies, so its changes sort after the
//! writes they react to.

use anola_protocol::{Hlc, HlcClock};
use std::sync::Mutex;

pub struct ServerClock(Mutex<HlcClock>);

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl ServerClock {
    /// `node` must differ between server processes (ties between stamps break on it).
    pub fn new(node: &str) -> Self {
        Self(Mutex::new(HlcClock::new(node, None)))
    }

    /// A node id unique to this process.
    pub fn random_node() -> String {
        format!("srv{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
    }

    pub fn observe(&self, h: &Hlc) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).observe(h, now_ms());
    }

    pub fn stamp(&self) -> Hlc {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).tick(now_ms())
    }
}

impl Default for ServerClock {
    fn default() -> Self {
        Self::new(&Self::random_node())
    }
}
