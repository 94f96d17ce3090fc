//! What an election tells its listeners.

use std::time::{Duration, SystemTime};

/// Why leadership ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevokeReason {
    /// [`Election::resign`](crate::Election::resign) was called.
    Resigned,
    /// The election was closed or dropped, or the process shut baton down.
    Closed,
    /// The store says the lease is gone or held by someone else.
    LeaseLost,
    /// The lease ran out before a renewal was even attempted (the process was paused or
    /// starved); `is_leader()` had already turned false at the deadline.
    LeaseExpired,
    /// Renewals failed until the lease could no longer be trusted.
    StoreUnreachable,
}

impl RevokeReason {
    /// A stable lower-case name, for logs, metrics and other languages.
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Resigned => "resigned",
            RevokeReason::Closed => "closed",
            RevokeReason::LeaseLost => "lease_lost",
            RevokeReason::LeaseExpired => "lease_expired",
            RevokeReason::StoreUnreachable => "store_unreachable",
        }
    }
}

impl std::fmt::Display for RevokeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who leads an election, as last seen in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderInfo {
    /// The leader's candidate id (`host:pid:nonce`, unique per process incarnation).
    pub candidate_id: String,
    /// The leader's host name.
    pub host: String,
    /// The leader's process id.
    pub pid: u32,
    /// The fencing token of the leader's grant.
    pub token: u64,
    /// When the store granted the lease (store clock).
    pub since: SystemTime,
    /// Lease time left, extrapolated from the last observation with the local clock.
    pub lease_remaining: Duration,
}

/// This instance's successful lease renewals so far, for latency metrics: their number and the
/// sum of their round trips (request sent to answer received). Both only grow, so a monitoring
/// system derives the rate and the mean latency of any interval from two readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenewalStats {
    /// Successful renewals.
    pub count: u64,
    /// Their round trips, added up.
    pub total: Duration,
}

/// A change of this election's leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// This instance became leader under `token`.
    Granted {
        /// The fencing token of this grant: larger than every earlier grant's.
        token: u64,
    },
    /// This instance stopped leading; always follows the matching `Granted`.
    Revoked {
        /// The token of the grant that ended.
        token: u64,
        /// Why it ended.
        reason: RevokeReason,
    },
    /// The observed leader changed (this instance included); `None` while nobody is known to lead.
    LeaderChanged(Option<LeaderInfo>),
    /// Someone asked this leader to hand over ([`ElectionBuilder::request_resign`], `baton
    /// resign`), and the election was built with `resign_on_request(false)`: it still leads
    /// under `token`; stop the leader-only work, then call
    /// [`Election::resign`](crate::Election::resign). Sent once per grant.
    ///
    /// [`ElectionBuilder::request_resign`]: crate::ElectionBuilder::request_resign
    ResignRequested {
        /// The token of the grant that was asked to hand over.
        token: u64,
    },
}

/// Why [`Events::recv_timeout`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Nothing happened within the timeout.
    #[error("no event within the timeout")]
    Timeout,
    /// The election was closed and every event was delivered.
    #[error("the election was closed")]
    Closed,
    /// The election was built before this process was forked: it belongs to the parent.
    #[error("this election was built before fork(); in the child, build a new one")]
    Forked,
}

/// A subscription to an election's events, starting with its current state.
///
/// Events queue without bound until received, so a slow consumer delays only itself, never
/// the election's renewals.
#[derive(Debug)]
pub struct Events {
    pub(crate) rx: flume::Receiver<Event>,
    /// Subscribed in a process forked after the election was built: it ends at once.
    pub(crate) forked: bool,
}

impl Events {
    /// Waits for the next event; `None` once the election is closed and drained.
    pub fn recv(&self) -> Option<Event> {
        self.rx.recv().ok()
    }

    /// Waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Event, RecvError> {
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            flume::RecvTimeoutError::Timeout => RecvError::Timeout,
            flume::RecvTimeoutError::Disconnected => self.ended(),
        })
    }

    /// Why the stream ended: closed, or inherited through `fork()`.
    pub(crate) fn ended(&self) -> RecvError {
        if self.forked {
            RecvError::Forked
        } else {
            RecvError::Closed
        }
    }

    /// The next event if one is queued.
    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// Waits for the next event without blocking a thread; `None` once closed and drained.
    pub async fn recv_async(&self) -> Option<Event> {
        self.rx.recv_async().await.ok()
    }
}

impl Iterator for Events {
    type Item = Event;
    fn next(&mut self) -> Option<Event> {
        self.recv()
    }
}
