//! Hybrid logical clocks: wall-clock milliseconds + a counter + the node id.
//!
//! An HLC orders writes from many devices without trusting their clocks to agree: a device that has
//! seen a write stamped in the future moves its own clock past it. The string encoding sorts the same
//! way as the value, so MongoDB and SQLite can compare stamps as plain strings.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Width of the zero-padded fields in the string form; keeps lexical order equal to numeric order.
const WALL_WIDTH: usize = 15;
const COUNTER_WIDTH: usize = 5;
const COUNTER_MAX: u32 = 99_999;
pub const NODE_MAX_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hlc {
    pub wall_ms: u64,
    pub counter: u32,
    pub node: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid hybrid logical clock: {0}")]
pub struct HlcParseError(&'static str);

impl Hlc {
    pub fn new(wall_ms: u64, counter: u32, node: impl Into<String>) -> Self {
        Self {
            wall_ms,
            counter,
            node: node.into(),
        }
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0ww$}-{:0cw$}-{}",
            self.wall_ms,
            self.counter,
            self.node,
            ww = WALL_WIDTH,
            cw = COUNTER_WIDTH
        )
    }
}

fn valid_node(node: &str) -> bool {
    !node.is_empty() && node.len() <= NODE_MAX_LEN && node.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '-');
        let wall = parts.next().ok_or(HlcParseError("missing wall clock"))?;
        let counter = parts.next().ok_or(HlcParseError("missing counter"))?;
        let node = parts.next().ok_or(HlcParseError("missing node id"))?;
        if wall.len() != WALL_WIDTH || !wall.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HlcParseError("wall clock must be 15 digits"));
        }
        if counter.len() != COUNTER_WIDTH || !counter.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HlcParseError("counter must be 5 digits"));
        }
        if !valid_node(node) {
            return Err(HlcParseError("node id must be 1-64 characters of letters, digits, '_' or '.'"));
        }
        Ok(Hlc {
            wall_ms: wall.parse().map_err(|_| HlcParseError("wall clock"))?,
            counter: counter.parse().map_err(|_| HlcParseError("counter"))?,
            node: node.to_owned(),
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The clock of one node. Pure: the caller supplies "now", so tests and simulations control time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// Starts a clock for `node`, resuming after `last` (persisted) so stamps stay monotonic across restarts.
    pub fn new(node: impl Into<String>, last: Option<Hlc>) -> Self {
        let node = node.into();
        let last = match last {
            Some(h) => Hlc { node, ..h },
            None => Hlc::new(0, 0, node),
        };
        Self { last }
    }

    pub fn last(&self) -> &Hlc {
        &self.last
    }

    fn advance(&mut self, wall_ms: u64, counter: u32) -> Hlc {
        let (wall_ms, counter) = if counter > COUNTER_MAX {
            (wall_ms + 1, 0)
        } else {
            (wall_ms, counter)
        };
        self.last = Hlc::new(wall_ms, counter, self.last.node.clone());
        self.last.clone()
    }

    /// A stamp for a local write: greater than every stamp this clock has issued or observed.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        if now_ms > self.last.wall_ms {
            self.advance(now_ms, 0)
        } else {
            self.advance(self.last.wall_ms, self.last.counter + 1)
        }
    }

    /// Folds in a stamp received from another node, so later local writes sort after it.
    pub fn observe(&mut self, remote: &Hlc, now_ms: u64) {
        let wall = now_ms.max(self.last.wall_ms).max(remote.wall_ms);
        let counter = if wall == self.last.wall_ms && wall == remote.wall_ms {
            self.last.counter.max(remote.counter) + 1
        } else if wall == self.last.wall_ms {
            self.last.counter + 1
        } else if wall == remote.wall_ms {
            remote.counter + 1
        } else {
            0
        };
        self.advance(wall, counter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,8}"
    }

    proptest! {
        #[test]
        fn string_order_matches_value_order(a in 0u64..10_000_000_000_000, ac in 0u32..99_999, an in node(),
                                            b in 0u64..10_000_000_000_000, bc in 0u32..99_999, bn in node()) {
            let x = Hlc::new(a, ac, an);
            let y = Hlc::new(b, bc, bn);
            // Node ids of different lengths still order consistently because wall and counter are fixed width.
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
            prop_assert_eq!(x.to_string().parse::<Hlc>().unwrap(), x);
        }

        #[test]
        fn ticks_are_strictly_increasing(nows in proptest::collection::vec(0u64..1_000, 1..50)) {
            let mut c = HlcClock::new("n1", None);
            let mut prev = c.last().clone();
            for now in nows {
                let h = c.tick(now);
                prop_assert!(h > prev);
                prev = h;
            }
        }

        #[test]
        fn observe_moves_past_remote(now in 0u64..1_000, rw in 0u64..2_000, rc in 0u32..10) {
            let mut c = HlcClock::new("a", None);
            let remote = Hlc::new(rw, rc, "b");
            c.observe(&remote, now);
            let next = c.tick(now);
            prop_assert!(next > remote);
        }
    }

    #[test]
    fn rejects_malformed() {
        assert!("".parse::<Hlc>().is_err());
        assert!("12-00001-a".parse::<Hlc>().is_err());
        assert!("000000000000012-00001-".parse::<Hlc>().is_err());
        assert!("000000000000012-00001-a b".parse::<Hlc>().is_err());
        assert!("000000000000012-00001-node-with-dash".parse::<Hlc>().is_err());
    }
}
