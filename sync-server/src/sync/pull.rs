//! Serving a pull page. Invariant L1 (never skip): the change log is dense and read in order up to
//! its first gap, so every entry below the returned cursor was delivered by this or an earlier page.

use crate::store::{Store, StoreError};
use anola_protocol::{ChangeRecord, Cursor, DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT};

pub struct Page {
    pub changes: Vec<ChangeRecord>,
    pub cursor: Cursor,
    pub has_more: bool,
}

/// Entries read per page at most, whatever their size: bounds the work of one request.
const MAX_ENTRIES_PER_PAGE: usize = 256;

pub async fn page<S: Store>(
    store: &S,
    cursor: Cursor,
    limit: Option<u32>,
) -> Result<Page, StoreError> {
    let limit = limit.unwrap_or(DEFAULT_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT) as usize;
    let entries = store
        .read_changes(cursor.seq, limit, MAX_ENTRIES_PER_PAGE)
        .await?;
    let records: usize = entries.iter().map(|e| e.records.len()).sum();
    // A page that stopped for size may have more behind it; one that stopped at the log's end has not.
    let has_more = records >= limit || entries.len() >= MAX_ENTRIES_PER_PAGE;
    let next = entries.last().map_or(cursor, |e| Cursor::at(e.seq));
    Ok(Page {
        changes: entries.into_iter().flat_map(|e| e.records).collect(),
        cursor: next,
        has_more,
    })
}
