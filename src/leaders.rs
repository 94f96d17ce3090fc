//! Every election under a key prefix, as one read of the store (what `baton status` prints
//! without `--election`).

use std::time::Duration;

use crate::election::events::LeaderInfo;
use crate::Error;

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
    crate::election::one_shot(config, |store, scope| async move {
        store.list(&scope.prefix).await
    })
    .map(|list| {
        list.into_iter()
            .map(|(name, h)| (name, crate::election::info(&h)))
            .collect()
    })
}
