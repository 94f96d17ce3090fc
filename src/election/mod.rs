//! The election handle: cheap reads on any thread, commands to the engine on the runtime thread.

use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

pub(crate) mod engine;
pub mod events;
mod holdoff;
pub(crate) mod shared;
#[cfg(test)]
mod tests;

use crate::config::{Config, ElectionBuilder};
use crate::runtime;
use crate::store::{Candidate, Scope, StoreError};
use crate::Error;
use engine::{Command, Engine};
use events::{Events, LeaderInfo, RecvError, RenewalStats};
use shared::Shared;

/// Extra time a blocking call waits beyond the engine's own bound for its reply.
const REPLY_SLACK: Duration = Duration::from_millis(500);

/// What the runtime keeps to shut every election down.
pub(crate) struct Control {
    pub shared: Arc<Shared>,
    pub commands: mpsc::UnboundedSender<Command>,
    pub reply_timeout: Duration,
}

impl Control {
    /// Ends belief at once, then asks the engine to release and stop. Returns the engine's
    /// acknowledgement to wait for (up to `reply_timeout`), if any. In a forked child it does
    /// nothing: the lease is the parent's.
    pub fn start_close(&self) -> Option<std::sync::mpsc::Receiver<()>> {
        if self.shared.forked() {
            return None;
        }
        self.shared.close_now();
        let (tx, rx) = sync_channel(1);
        self.commands.send(Command::Close(tx)).ok()?;
        (!runtime::on_runtime_thread()).then_some(rx)
    }

    /// Ends belief at once, asks the engine to release and stop, and waits until it did (or
    /// `reply_timeout` passed: the lease then expires by itself).
    pub fn close(&self) {
        if let Some(rx) = self.start_close() {
            let _ = rx.recv_timeout(self.reply_timeout);
        }
    }
}

/// One instance's candidacy in one named election. Dropping it releases the lease.
///
/// All methods may be called from any thread. `is_leader()`, `token()` and `leader()` never
/// touch the store; `resign()` and `close()` block until the store confirmed the release
/// (at most a couple of seconds when the store is unreachable; the lease then expires).
pub struct Election {
    control: Arc<Control>,
}

impl std::fmt::Debug for Election {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Election")
            .field("name", &self.control.shared.name)
            .field("candidate_id", &self.control.shared.candidate.id)
            .field("is_leader", &self.is_leader())
            .finish()
    }
}

impl Election {
    /// Starts configuring an election named `name` on the store at `store`: `redis://...`,
    /// `rediss://...`, a comma-separated list of Redis Cluster seeds, `redis+sentinel://...`,
    /// or `memory://NAME` (in-process, for tests and local runs).
    pub fn builder(store: impl Into<String>, name: impl Into<String>) -> ElectionBuilder {
        ElectionBuilder::new(store.into(), name.into())
    }

    pub(crate) fn start(config: Config) -> Result<Election, Error> {
        let candidate = Candidate::for_this_process();
        crate::fork::watch();
        let shared = Arc::new(Shared::new(config.name.clone(), candidate));
        let (commands, rx) = mpsc::unbounded_channel();
        let scope = Scope {
            prefix: config.prefix.clone(),
            name: config.name.clone(),
        };
        let engine_shared = shared.clone();
        let limit = config.connect_timeout;
        let url = config.store.redacted();
        runtime::block_on(async move {
            // An election that waits for replicas gets a connection of its own: WAIT blocks
            // the connection it runs on, and must cover this election's writes only.
            let dedicated = config.replicas.is_some() && !crate::mutant::active("wait-on-shared");
            let store = runtime::store(&config.store, limit, dedicated).await?;
            let timed_out = |what: &str| Error::StoreUnreachable {
                url: url.clone(),
                detail: format!(
                    "{what} got no answer within connect_timeout ({})",
                    crate::config::fmt(limit)
                ),
            };
            // One read proves the permissions now (an ACL mistake fails build, not later);
            // it is bounded even when the shared connection is stuck.
            let sent = crate::clock::now_nanos();
            match tokio::time::timeout(limit, store.read(&scope)).await {
                Ok(Err(StoreError::Refused(m))) => return Err(Error::Store(m)),
                Ok(_) => {}
                Err(_) => {
                    store.stalled(sent);
                    return Err(timed_out("the first read"));
                }
            }
            match tokio::time::timeout(limit, store.eviction_risk(&scope)).await {
                Ok(Ok(Some(policy))) if !config.allow_eviction => {
                    return Err(crate::config::eviction_refused(&policy))
                }
                Ok(Err(StoreError::Refused(m))) => return Err(Error::Store(m)),
                _ => {}
            }
            let watch = match tokio::time::timeout(limit, store.watch(&scope)).await {
                Ok(Ok(w)) => Some(w),
                Ok(Err(e)) => {
                    engine_shared.note_subscription_failure();
                    tracing::warn!(election = %scope.name, error = %e, "no release notifications: handover waits for the lease's expiry until the subscription is back");
                    None
                }
                Err(_) => {
                    engine_shared.note_subscription_failure();
                    store.stalled(sent);
                    None
                }
            };
            let engine = Engine {
                ctx: engine::Ctx {
                    shared: engine_shared,
                    store,
                    scope,
                    url,
                    timing: config.timing,
                    campaign: config.campaign,
                    replicas: config.replicas,
                    watch,
                    resign_on_request: config.resign_on_request,
                },
                commands: rx,
            };
            tokio::spawn(engine.run());
            Ok::<_, Error>(())
        })??;
        let control = Arc::new(Control {
            shared,
            commands,
            reply_timeout: engine::RELEASE_TIMEOUT.min(config.timing.ttl) + REPLY_SLACK,
        });
        runtime::register(&control);
        Ok(Election { control })
    }

    /// Whether this instance leads right now: true only before the lease deadline (the
    /// instant the winning request was sent plus `ttl * (1 - drift) - 2ms`). Evaluated at every
    /// call: a process that was paused past its deadline sees `false` the moment it resumes.
    #[inline]
    pub fn is_leader(&self) -> bool {
        self.control.shared.is_leader()
    }

    /// The fencing token of the current grant while leading, else `None`. Pass it to the
    /// resource you write to, so it can refuse writes from a leader that was replaced.
    #[inline]
    pub fn token(&self) -> Option<u64> {
        self.control.shared.token()
    }

    /// While leading, how long until the lease deadline (after which `is_leader()` turns
    /// false unless a renewal succeeds first); `None` when not leading. Work that must stop
    /// before the lease can pass to another instance (a supervised command) schedules its
    /// stop from this.
    pub fn lease_remaining(&self) -> Option<Duration> {
        self.control.shared.lease_remaining()
    }

    /// This instance's successful renewals so far and their summed round trips (send to
    /// answer): the renewal latency of any interval is the difference of two readings.
    pub fn renewal_stats(&self) -> RenewalStats {
        self.control.shared.renewal_stats()
    }

    /// How often subscribing to the store's release notifications failed. Until a retry
    /// succeeds (at the follower's next wake), a graceful handover reaches this instance only
    /// when the lease expires: alert on a count that keeps growing.
    pub fn subscription_failures(&self) -> u64 {
        self.control.shared.subscription_failures()
    }

    /// Who leads, as last seen in the store (this instance included), with the lease time
    /// left; `None` if nobody was seen leading, and in a process forked after `build()`.
    pub fn leader(&self) -> Option<LeaderInfo> {
        self.control.shared.leader()
    }

    /// The election's name.
    pub fn name(&self) -> &str {
        &self.control.shared.name
    }

    /// This instance's candidate id (`host:pid:nonce`), unique per handle and process life.
    pub fn candidate_id(&self) -> &str {
        &self.control.shared.candidate.id
    }

    /// A new subscription to this election's events. It starts with the current state:
    /// `Granted` if leading, then `LeaderChanged` with the leader last seen.
    pub fn events(&self) -> Events {
        Events {
            rx: self.control.shared.subscribe(),
            forked: self.control.shared.forked(),
        }
    }

    /// Blocks until this instance leads, returning its fencing token. `Duration::MAX` (or any
    /// timeout too long to add to now) waits without a bound.
    pub fn wait_for_leadership(&self, timeout: Duration) -> Result<u64, RecvError> {
        if self.control.shared.forked() {
            return Err(RecvError::Forked);
        }
        let events = self.events();
        let until = std::time::Instant::now().checked_add(timeout);
        loop {
            let event = match until {
                Some(until) => events
                    .recv_timeout(until.saturating_duration_since(std::time::Instant::now()))?,
                None => events.recv().ok_or_else(|| events.ended())?,
            };
            // A grant that was queued while this thread was paused may be stale by now.
            if let events::Event::Granted { token } = event {
                if self.token() == Some(token) {
                    return Ok(token);
                }
            }
        }
    }

    /// Gives up leadership now (if leading) and lets the other candidates take over at once;
    /// this instance sits out one `ttl` plus one `renew_interval` before it competes again.
    ///
    /// Belief ends before this call sends anything: `is_leader()` is false as soon as it
    /// starts. It waits for the release at most a couple of seconds ([`Error::Timeout`] then;
    /// the lease expires by itself).
    pub fn resign(&self) -> Result<(), Error> {
        let control = &self.control;
        if control.shared.forked() {
            return Err(Error::Forked);
        }
        if runtime::on_runtime_thread() {
            return Err(Error::OnRuntimeThread);
        }
        if control.shared.is_closed() {
            return Err(Error::Closed);
        }
        control.shared.resign_now();
        let (tx, rx) = sync_channel(1);
        control
            .commands
            .send(Command::Resign(tx))
            .map_err(|_| Error::Closed)?;
        match rx.recv_timeout(control.reply_timeout) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout {
                what: "resign",
                waited: control.reply_timeout,
            }),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::Closed),
        }
    }

    /// Stops campaigning and releases the lease if held, waking the other candidates. Belief
    /// ends before anything is sent; the release is waited for at most a couple of seconds.
    /// Calling it again, or using the election afterwards, is harmless: it no longer leads,
    /// `resign()` returns [`Error::Closed`] and its events end. In a process forked after
    /// `build()`, it does nothing: the lease belongs to the parent.
    pub fn close(&self) {
        self.control.close();
    }

    /// Whether the election was closed (by `close`, drop or [`crate::shutdown`]). True in a
    /// process forked after `build()`: there the election is the parent's and does nothing.
    pub fn is_closed(&self) -> bool {
        self.control.shared.is_closed()
    }
}

impl Drop for Election {
    fn drop(&mut self) {
        self.control.close();
    }
}

/// One read of the store: the holder and its lease time left.
pub(crate) fn read_leader(config: Config) -> Result<Option<LeaderInfo>, Error> {
    one_shot(
        config,
        |store, scope| async move { store.read(&scope).await },
    )
    .map(|holder| holder.map(|h| info(&h)))
}

/// Asks the leader, wherever it runs, to hand over; returns who was asked.
pub(crate) fn request_resign(config: Config) -> Result<Option<LeaderInfo>, Error> {
    one_shot(config, |store, scope| async move {
        store.request_resign(&scope).await
    })
    .map(|holder| holder.map(|h| info(&h)))
}

/// A holder as the store reported it, with the lease time left at that moment.
pub(crate) fn info(h: &crate::store::Holder) -> LeaderInfo {
    shared::info(h, h.remaining.unwrap_or_default())
}

/// One store request outside any election, bounded by `connect_timeout`; a request that got
/// no answer in time reports the connection as stalled, as the engine does.
pub(crate) fn one_shot<T, F, Fut>(config: Config, op: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(Arc<dyn crate::store::Store>, Scope) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, StoreError>> + Send,
{
    let scope = Scope {
        prefix: config.prefix,
        name: config.name,
    };
    let url = config.store.redacted();
    let limit = config.connect_timeout;
    runtime::block_on(async move {
        let store = runtime::store(&config.store, limit, false).await?;
        let sent = crate::clock::now_nanos();
        let outcome = tokio::time::timeout(limit, op(store.clone(), scope)).await;
        if outcome.is_err() {
            store.stalled(sent);
        }
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(StoreError::Refused(m))) => Err(Error::Store(m)),
            Ok(Err(StoreError::Unreachable(detail))) => {
                Err(Error::StoreUnreachable { url, detail })
            }
            Err(_) => Err(Error::StoreUnreachable {
                url,
                detail: format!(
                    "no answer within connect_timeout ({})",
                    crate::config::fmt(limit)
                ),
            }),
        }
    })?
}

impl Candidate {
    /// A fresh identity: host, pid and a random nonce, so that a restarted process (or a
    /// second handle in the same one) never inherits an earlier lease.
    pub(crate) fn for_this_process() -> Candidate {
        let host = hostname();
        let pid = std::process::id();
        Candidate {
            id: format!("{host}:{pid}:{:016x}", nonce()),
            host,
            pid,
        }
    }
}

/// 64 bits from the OS's random source: candidate ids must not repeat across processes that
/// seeded a userspace generator alike (containers started together, forked workers).
fn nonce() -> u64 {
    let mut buf = [0u8; 8];
    // The system call, not glibc's wrapper: that wrapper exists only from glibc 2.25, and the
    // shipped libraries must load on glibc 2.17.
    // SAFETY: the buffer is valid for its length.
    let n = unsafe { libc::syscall(libc::SYS_getrandom, buf.as_mut_ptr(), buf.len(), 0) };
    if n == buf.len() as libc::c_long {
        u64::from_ne_bytes(buf)
    } else {
        // No getrandom (very old kernels): still unique enough with the clock mixed in.
        fastrand::u64(..) ^ crate::clock::now_nanos()
    }
}

pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
