//! Finding the end of a dense sequence with point reads only.
//!
//! FerretDB answers `_id` equality from its primary key but scans the whole collection for a
//! sort or a range query, so "highest `_id`" is found by galloping then bisecting over `exists(n)`.
//! That is O(log n) point reads, whatever the collection's size.

use std::future::Future;

/// The highest `n >= 1` for which `exists(n)` holds, or 0 if `exists(1)` is false. Requires the
/// sequence to be prefix-closed (if `n` exists, so does every number below it).
pub async fn last_present<F, Fut, E>(mut exists: F) -> Result<u64, E>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<bool, E>>,
{
    if !exists(1).await? {
        return Ok(0);
    }
    let mut lo = 1u64; // known present
    let mut hi = 2u64;
    while exists(hi).await? {
        lo = hi;
        hi = hi.saturating_mul(2);
    }
    // lo present, hi absent
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if exists(mid).await? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: u64) -> (u64, usize) {
        let mut calls = 0usize;
        let f = |k: u64| {
            calls += 1;
            std::future::ready(Ok::<_, ()>(k <= n))
        };
        let r = futures::executor::block_on(last_present(f)).unwrap();
        (r, calls)
    }

    #[test]
    fn finds_the_end() {
        for n in [0, 1, 2, 3, 7, 8, 9, 1000, 123_457] {
            let (r, calls) = run(n);
            assert_eq!(r, n);
            assert!(calls <= 2 + 2 * 64, "{calls} calls for {n}");
        }
    }
}
