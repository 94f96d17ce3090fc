//! Every election under a key prefix, as one read of the store (what `baton status` prints
//! without `--election`).

use std::sync::Arc;
use std::time::Duration;

use crate::election::events::LeaderInfo;
use crate::election::shared;
use crate::store::StoreError;
use crate::{runtime, Error};

/// Every election under `key_prefix` whose lease is held right now, with its leader and the
/// lease time left, sorted by election name. `store` takes the same URLs as
/// [`Election::builder`](crate::Election::builder); the whole listing (for a Redis Cluster, a
/// `SCAN` of every master) must finish within `connect_timeout`.
///
/// ```no_run
/// use std::time::Duration;
/// for (election, leader) in baton::leaders("redis://127.0.0.1:6379", "baton:", Duration::from_secs(5))? {
///     println!("{election}: {} (token {})", leader.candidate_id, leader.token);
/// }
/// # Ok::<(), baton::Error>(())
/// ```
pub fn leaders(
    store: &str,
    key_prefix: &str,
    connect_timeout: Duration,
) -> Result<Vec<(String, LeaderInfo)>, Error> {
    // The builder's rules for the store URL, prefix and timeout; the name is a placeholder.
    let config = crate::Election::builder(store, "list")
        .key_prefix(key_prefix)
        .connect_timeout(connect_timeout)
        .validate()?;
    let url = config.store.redacted();
    let limit = config.connect_timeout;
    let prefix = config.prefix.clone();
    runtime::block_on(async move {
        let store: Arc<dyn crate::store::Store> =
            runtime::store(&config.store, limit, false).await?;
        let sent = crate::clock::now_nanos();
        let outcome = tokio::time::timeout(limit, store.list(&prefix)).await;
        if outcome.is_err() {
            // As for any one-shot read: a stalled connection gets replaced.
            store.stalled(sent);
        }
        match outcome {
            Ok(Ok(list)) => Ok(list
                .into_iter()
                .map(|(name, h)| {
                    let info = shared::info(&h, h.remaining.unwrap_or_default());
                    (name, info)
                })
                .collect()),
            Ok(Err(StoreError::Refused(m))) => Err(Error::Store(m)),
            Ok(Err(StoreError::Unreachable(detail))) => {
                Err(Error::StoreUnreachable { url, detail })
            }
            Err(_) => Err(Error::StoreUnreachable {
                url,
                detail: format!(
                    "the listing did not finish within connect_timeout ({})",
                    crate::config::fmt(limit)
                ),
            }),
        }
    })?
}
