//! Lease stores. The election engine talks to a store only through [`Store`]; a new store is
//! one module here plus its test fixture, and it must pass the shared suite in
//! `tests/store_suite.rs`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

pub(crate) mod memory;
pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod redis;
pub(crate) mod tls;
pub(crate) mod zookeeper;

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

/// The outcome of a renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Renewal {
    /// The lease is still ours and was extended.
    Renewed,
    /// The lease is gone or held by someone else.
    Lost,
    /// The lease was extended, and someone asked its holder to hand over
    /// ([`Store::request_resign`]): the holder resigns through its normal release path.
    ResignRequested,
}

/// The outcome of an acquire attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acquire {
    /// The lease is ours under a new fencing token.
    Granted { token: u64, since_ms: u64 },
    /// Someone holds it (possibly our own previous grant, which is now replaced).
    Held(Holder),
    /// Asked warily, the store has no record of the lease at all: releases and expiry leave
    /// one, so the store lost it (see `Store::acquire_wary`).
    Absent,
}

impl Acquire {
    /// An acquire's answer: the lease as it now stands, and whether it is ours.
    pub(crate) fn from_holder(granted: bool, h: Holder) -> Acquire {
        if granted {
            Acquire::Granted {
                token: h.token,
                since_ms: h.since_ms,
            }
        } else {
            Acquire::Held(h)
        }
    }
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
    /// How often the store's connection dropped (closed, reset, restarted server): a leader
    /// that sees it change cannot know whether its lease survived, and stops believing.
    pub drops: Arc<std::sync::atomic::AtomicU64>,
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

    /// `acquire`, except that a store that can lose a lease's record (a restart without
    /// persistence, a failover to a replica that missed it, a flush) answers `Absent` rather
    /// than grant a lease it has no record of. A store that never loses one just acquires.
    async fn acquire_wary(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError> {
        self.acquire(scope, me, ttl).await
    }

    /// Extends our lease if it is still ours under `token`, and reports a pending request to
    /// hand over.
    async fn renew(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: u64,
        ttl: Duration,
    ) -> Result<Renewal, StoreError>;

    /// Deletes our lease if it is still ours under `token` (`None`: under any token of ours,
    /// after an abandoned acquire), then notifies waiting candidates.
    async fn release(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: Option<u64>,
    ) -> Result<bool, StoreError>;

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

    /// Asks whoever holds the lease to hand over: marks the lease so that the holder's next
    /// renewal answers [`Renewal::ResignRequested`], then wakes the holder at once. Never
    /// deletes anyone's lease. Returns the holder that was asked, or `None` if nobody leads.
    async fn request_resign(&self, scope: &Scope) -> Result<Option<Holder>, StoreError>;

    /// The store's eviction policy when it may delete a lease (Redis `allkeys-*`), else `None`.
    async fn eviction_risk(&self, _scope: &Scope) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// A request sent at `sent_nanos` (baton's clock) got no answer in time: a store whose
    /// connection answered nothing since replaces it (a hung host sends no RST).
    fn stalled(&self, _sent_nanos: u64) {}

    /// Every election under `prefix` whose lease is held right now, with its holder, sorted
    /// by election name.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, Holder)>, StoreError>;
}

/// Which kind of store a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// Redis standalone, Cluster or Sentinel.
    Redis,
    /// In-process, for tests and local runs: `memory://NAME`.
    Memory,
    /// A ZooKeeper ensemble: `zookeeper://[user:password@]host:port[,host:port...][/chroot]`.
    ZooKeeper,
    /// PostgreSQL: `postgres://[user[:password]@]host[:port]/database[?table=...]`.
    Postgres,
    /// MySQL or MariaDB: `mysql://` or `mariadb://[user[:password]@]host[:port]/database`.
    MySql,
}

/// Connects to the store that `spec` names (runs on the runtime thread).
pub(crate) async fn connect(
    spec: &StoreSpec,
    timeout: Duration,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match spec.kind {
        Kind::Redis => Arc::new(redis::RedisStore::connect(spec, timeout).await?),
        Kind::Memory => Arc::new(memory::MemoryStore::default()),
        Kind::ZooKeeper => Arc::new(zookeeper::ZkStore::connect(spec, timeout).await?),
        Kind::Postgres => Arc::new(postgres::PgStore::connect(spec, timeout).await?),
        Kind::MySql => Arc::new(mysql::MyStore::connect(spec, timeout).await?),
    })
}

/// A parsed store location: what `build()` connects to. The whole spec is the key for
/// sharing one connection per store: elections that differ in TLS material or client name
/// get their own connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct StoreSpec {
    /// The URL(s) as given.
    pub url: String,
    /// Each seed URL, trimmed.
    pub seeds: Vec<String>,
    pub kind: Kind,
    /// CA and client certificate for `rediss://` (empty: the system's trust roots).
    pub tls: tls::TlsPem,
    /// The connection's name in `CLIENT LIST` (Redis only).
    pub client_name: Option<String>,
}

/// The URL forms baton accepts, for error messages.
const SCHEMES: &str = "redis://[user:password@]host:port[/db], rediss:// for TLS, a comma-separated list of Redis Cluster seeds, redis+sentinel://host:port[,host:port...]/MASTER, zookeeper://[user:password@]host:port[,host:port...][/chroot], postgres://[user[:password]@]host[:port]/database[?table=NAME], mysql:// or mariadb://[user[:password]@]host[:port]/database[?table=NAME], or memory://NAME for tests";

impl StoreSpec {
    /// Parses a store URL: Redis (`redis://`, `rediss://`, `redis+sentinel://`, or a
    /// comma-separated list of Cluster seeds), `zookeeper://` or `memory://NAME`.
    pub fn parse(url: &str) -> Result<StoreSpec, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err(format!("is empty; use {SCHEMES}"));
        }
        let scheme = url
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        let kind = match scheme.as_str() {
            "memory" => Kind::Memory,
            "redis" | "rediss" | "redis+sentinel" => Kind::Redis,
            "zookeeper" => Kind::ZooKeeper,
            "postgres" | "postgresql" => Kind::Postgres,
            "mysql" | "mariadb" => Kind::MySql,
            "" => return Err(format!("{:?} names no scheme; use {SCHEMES}", redact(url))),
            _ => {
                return Err(format!(
                    "{} is not a store URL baton knows; use {SCHEMES}",
                    redact(url)
                ))
            }
        };
        if matches!(kind, Kind::Postgres | Kind::MySql) {
            if kind == Kind::Postgres {
                postgres::validate_url(url)?;
            } else {
                mysql::validate_url(url)?;
            }
            return Ok(StoreSpec {
                url: url.to_string(),
                seeds: vec![url.to_string()],
                kind,
                tls: tls::TlsPem::default(),
                client_name: None,
            });
        }
        if kind == Kind::ZooKeeper {
            zookeeper::validate_url(url)?;
            return Ok(StoreSpec {
                url: url.to_string(),
                seeds: vec![url.to_string()],
                kind,
                tls: tls::TlsPem::default(),
                client_name: None,
            });
        }
        if kind == Kind::Memory {
            memory::validate_url(url)?;
            return Ok(StoreSpec {
                url: url.to_string(),
                seeds: vec![url.to_string()],
                kind,
                tls: tls::TlsPem::default(),
                client_name: None,
            });
        }
        // A Sentinel URL lists its sentinels with commas; anything else is a list of seeds.
        let seeds: Vec<String> = if url.starts_with(redis::SENTINEL_SCHEME) {
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
            url: url.to_string(),
            seeds,
            kind,
            tls: tls::TlsPem::default(),
            client_name: None,
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
        assert!(StoreSpec::parse("ftp://x")
            .unwrap_err()
            .contains("is not a store URL baton knows"));
        assert_eq!(
            StoreSpec::parse("memory://tests").unwrap().kind,
            Kind::Memory
        );
        assert!(StoreSpec::parse("memory://").is_err());
        let zk = StoreSpec::parse("zookeeper://u:pw@a:1,b:2/x").unwrap();
        assert_eq!((zk.kind, zk.seeds.len()), (Kind::ZooKeeper, 1));
        assert_eq!(zk.redacted(), "zookeeper://u:***@a:1,b:2/x");
        for pg in ["postgres://u:pw@h/db?table=t", "postgresql://h:5433/db"] {
            assert_eq!(StoreSpec::parse(pg).unwrap().kind, Kind::Postgres, "{pg}");
        }
        for my in ["mysql://u:pw@h/db", "mariadb://h:3307/db?table=t"] {
            assert_eq!(StoreSpec::parse(my).unwrap().kind, Kind::MySql, "{my}");
        }
        assert_eq!(
            StoreSpec::parse("postgres://u:pw@h/db").unwrap().redacted(),
            "postgres://u:***@h/db"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact("redis://:secret@h:1"), "redis://:***@h:1");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
    }
}
