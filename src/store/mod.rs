//! Lease stores. The election engine talks to a store only through [`Store`]; a new store is
//! one module here plus its test fixture, and it must pass the shared suite in
//! `tests/store_suite.rs`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

pub(crate) mod redis;

#[cfg(test)]
pub(crate) mod memory;

/// One election as a store sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Scope {
    pub prefix: String,
    pub name: String,
}

/// Who competes: unique per process incarnation (invariant 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub id: String,
    pub host: String,
    pub pid: u32,
}

/// The lease holder as recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub candidate_id: String,
    pub host: String,
    pub pid: u32,
    pub token: u64,
    /// Store time of the grant, in milliseconds since the Unix epoch.
    pub since_ms: u64,
    /// Lease time left when the store answered; `None` for a lease without expiry, which
    /// baton never writes (someone set it by hand).
    pub remaining: Option<Duration>,
}

/// The outcome of an acquire attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acquire {
    /// The lease is ours under a new fencing token.
    Granted { token: u64, since_ms: u64 },
    /// Someone holds it (possibly our own previous grant, which is now replaced).
    Held(Holder),
}

/// A store failure: the kind decides between retrying and giving up.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum StoreError {
    /// Connection, timeout or I/O trouble: retry.
    #[error("{0}")]
    Unreachable(String),
    /// The store refused (ACL, script error, wrong version): retrying will not help.
    #[error("{0}")]
    Refused(String),
}

/// Wakes an election when its lease is released (push notification) or the store connection
/// was re-established (the lease must be checked again).
pub(crate) struct Watch {
    pub notify: Arc<Notify>,
    /// Unsubscribes when dropped.
    pub _guard: Box<dyn Send + Sync>,
}

/// A lease store: every state change is one atomic request.
#[async_trait]
pub(crate) trait Store: Send + Sync + 'static {
    /// Takes the lease if it is free (or still ours from an earlier incarnation of this
    /// handle), under a token larger than any granted before; otherwise reports the holder.
    async fn acquire(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError>;

    /// Extends our lease if it is still ours under `token`; false if it is gone or not ours.
    async fn renew(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: u64,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Deletes our lease if it is still ours under `token`, then notifies waiting candidates.
    async fn release(&self, scope: &Scope, me: &Candidate, token: u64) -> Result<bool, StoreError>;

    /// The current holder, if any.
    async fn read(&self, scope: &Scope) -> Result<Option<Holder>, StoreError>;

    /// Waits for `count` replica acknowledgements of the last write (no-op where meaningless).
    async fn wait_replicas(
        &self,
        scope: &Scope,
        count: u32,
        timeout: Duration,
    ) -> Result<u32, StoreError>;

    /// Subscribes to release notifications for `scope`.
    async fn watch(&self, scope: &Scope) -> Result<Watch, StoreError>;
}

/// A parsed store location: what `build()` connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreSpec {
    /// The URL(s) as given, used as the key for sharing one connection per store.
    pub url: String,
    /// Each seed URL, trimmed.
    pub seeds: Vec<String>,
}

impl StoreSpec {
    /// Parses `redis://...`, `rediss://...`, or a comma-separated list of cluster seeds.
    pub fn parse(url: &str) -> Result<StoreSpec, String> {
        // A Sentinel URL lists its sentinels with commas; anything else is a list of seeds.
        let seeds: Vec<String> = if url.trim().starts_with(redis::SENTINEL_SCHEME) {
            vec![url.trim().to_string()]
        } else {
            url.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        if seeds.is_empty() {
            return Err(
                "is empty; set it to the Redis URL, for example redis://127.0.0.1:6379".into(),
            );
        }
        for seed in &seeds {
            redis::validate_url(seed)?;
        }
        Ok(StoreSpec {
            url: url.trim().to_string(),
            seeds,
        })
    }

    /// The URL with any password replaced by `***`, safe for logs and errors.
    pub fn redacted(&self) -> String {
        self.seeds
            .iter()
            .map(|s| redact(s))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Hides the password of a `scheme://user:password@host` URL.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_seed_lists() {
        let s = StoreSpec::parse("redis://a:1").unwrap();
        assert_eq!(s.seeds, ["redis://a:1"]);
        let s = StoreSpec::parse(" redis://a:1, redis://b:2 ,").unwrap();
        assert_eq!(s.seeds, ["redis://a:1", "redis://b:2"]);
    }

    #[test]
    fn rejects_what_is_not_redis() {
        for bad in ["", "http://x", "localhost:6379", "redis://a:notaport"] {
            let err = StoreSpec::parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(StoreSpec::parse("postgres://x")
            .unwrap_err()
            .contains("not supported yet"));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact("redis://:secret@h:1"), "redis://:***@h:1");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
    }
}
