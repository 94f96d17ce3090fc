//! State shared between an election's handle (any thread) and its engine (the runtime thread).
//!
//! The hot path, [`Shared::is_leader`], is two atomic loads and a clock read: no lock, no
//! store round trip, and it honours the deadline even when the engine has not run yet.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use super::events::{Event, LeaderInfo, RenewalStats, RevokeReason};
use crate::clock;
use crate::fork;
use crate::store::{Candidate, Holder};

pub(crate) struct Shared {
    pub name: String,
    pub candidate: Candidate,
    /// Monotonic nanoseconds until which this instance may believe it leads; 0 when it does not.
    deadline: AtomicU64,
    token: AtomicU64,
    /// The process generation (see `fork`) this election belongs to: a forked child never
    /// believes its parent's leadership.
    generation: u64,
    /// Set by a close or resign before its command is sent, so that a grant racing with it
    /// is never believed.
    held_back: AtomicBool,
    renewals: AtomicU64,
    renewal_nanos: AtomicU64,
    /// Failed attempts to subscribe to release notifications (handover then waits for expiry).
    subscription_failures: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    subscribers: Vec<flume::Sender<Event>>,
    granted: Option<u64>,
    leader: Option<(Holder, u64)>,
    closed: bool,
}

impl Shared {
    pub fn new(name: String, candidate: Candidate) -> Self {
        Shared {
            name,
            candidate,
            deadline: AtomicU64::new(0),
            token: AtomicU64::new(0),
            generation: fork::generation(),
            held_back: AtomicBool::new(false),
            renewals: AtomicU64::new(0),
            renewal_nanos: AtomicU64::new(0),
            subscription_failures: AtomicU64::new(0),
            inner: Mutex::default(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking listener cannot poison leadership state: the data stays consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state, unless this election was inherited through `fork()`: the parent's runtime
    /// thread may have held the lock at the fork (it emits a grant's events under it), and in
    /// the child nothing would ever release it. Calls an application makes go through here.
    fn inner_unless_forked(&self) -> Option<std::sync::MutexGuard<'_, Inner>> {
        (!self.forked()).then(|| self.inner())
    }

    /// The deadline this process may believe, 0 when none (or in a forked child).
    #[inline]
    fn deadline(&self) -> u64 {
        let deadline = self.deadline.load(Ordering::Acquire);
        if self.generation == fork::generation() {
            deadline
        } else {
            0
        }
    }

    #[inline]
    pub fn is_leader(&self) -> bool {
        let deadline = self.deadline();
        if crate::mutant::active("leader-ignores-clock") {
            return deadline != 0;
        }
        deadline != 0 && clock::now_nanos() < deadline
    }

    pub fn lease_remaining(&self) -> Option<Duration> {
        let deadline = self.deadline();
        let now = clock::now_nanos();
        (deadline != 0 && now < deadline).then(|| Duration::from_nanos(deadline - now))
    }

    /// Whether this election was inherited through `fork()` (its runtime thread is gone).
    pub fn forked(&self) -> bool {
        self.generation != fork::generation()
    }

    /// Until released, grants are not believed (a close or resign is on its way).
    pub fn hold_back(&self, on: bool) {
        let _inner = self.inner();
        self.held_back.store(on, Ordering::Release);
    }

    #[inline]
    pub fn token(&self) -> Option<u64> {
        self.is_leader().then(|| self.token.load(Ordering::Acquire))
    }

    /// True in a forked child too: there the election is the parent's and does nothing.
    pub fn is_closed(&self) -> bool {
        self.inner_unless_forked().is_none_or(|inner| inner.closed)
    }

    /// Believes a grant, unless the election is closing or a resign is on its way.
    pub fn grant(&self, token: u64, since_ms: u64, deadline_nanos: u64) -> bool {
        let mut inner = self.inner();
        if inner.closed || self.held_back.load(Ordering::Acquire) {
            return false;
        }
        self.token.store(token, Ordering::Release);
        self.deadline.store(deadline_nanos, Ordering::Release);
        inner.granted = Some(token);
        let me = Holder {
            candidate_id: self.candidate.id.clone(),
            host: self.candidate.host.clone(),
            pid: self.candidate.pid,
            token,
            since_ms,
            remaining: None,
        };
        inner.emit(Event::Granted { token });
        inner.observe(Some(me), deadline_nanos);
        true
    }

    pub fn note_subscription_failure(&self) {
        self.subscription_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn subscription_failures(&self) -> u64 {
        self.subscription_failures.load(Ordering::Relaxed)
    }

    pub fn renewal_stats(&self) -> RenewalStats {
        RenewalStats {
            count: self.renewals.load(Ordering::Relaxed),
            total: Duration::from_nanos(self.renewal_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Counts a successful renewal sent at `sent_nanos` (its round trip ends now) and moves the
    /// deadline of `token`. False when belief in it
    /// already ended: a close or resign from another thread, or its deadline passed before
    /// the answer came (the application may have seen `false`; the same token is never
    /// believed twice, so the engine steps down and acquires under a new token).
    #[must_use]
    pub fn extend(&self, token: u64, sent_nanos: u64, deadline_nanos: u64) -> bool {
        let round_trip = clock::now_nanos().saturating_sub(sent_nanos);
        self.renewal_nanos.fetch_add(round_trip, Ordering::Relaxed);
        self.renewals.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.inner();
        if inner.granted != Some(token) || !self.is_leader() {
            return false;
        }
        self.deadline.store(deadline_nanos, Ordering::Release);
        if let Some((_, expires)) = inner.leader.as_mut() {
            *expires = deadline_nanos;
        }
        true
    }

    /// Tells the application that someone asked this leader (grant `token`) to hand over.
    pub fn resign_requested(&self, token: u64) {
        let mut inner = self.inner();
        if inner.granted == Some(token) {
            inner.emit(Event::ResignRequested { token });
        }
    }

    /// `close()`: belief ends now, on the caller's thread, before anything is sent; no grant
    /// is believed afterwards.
    pub fn close_now(&self) {
        let mut inner = self.inner();
        self.deadline.store(0, Ordering::Release);
        if let Some(token) = inner.granted.take() {
            inner.emit(Event::Revoked {
                token,
                reason: RevokeReason::Closed,
            });
        }
        inner.closed = true;
        inner.subscribers.clear();
    }

    /// `resign()`: belief ends now, and no grant is believed until the engine has handled
    /// the resign.
    pub fn resign_now(&self) {
        let mut inner = self.inner();
        self.held_back.store(true, Ordering::Release);
        self.deadline.store(0, Ordering::Release);
        if let Some(token) = inner.granted.take() {
            inner.emit(Event::Revoked {
                token,
                reason: RevokeReason::Resigned,
            });
            inner.observe(None, 0);
        }
    }

    pub fn revoke(&self, reason: RevokeReason) {
        let mut inner = self.inner();
        self.deadline.store(0, Ordering::Release);
        if let Some(token) = inner.granted.take() {
            inner.emit(Event::Revoked { token, reason });
            inner.observe(None, 0);
        }
    }

    /// Records who the store says leads (`None`: nobody).
    pub fn observe(&self, holder: Option<Holder>) {
        let expires = holder.as_ref().map_or(0, |h| {
            clock::now_nanos() + h.remaining.unwrap_or_default().as_nanos() as u64
        });
        self.inner().observe(holder, expires);
    }

    pub fn leader(&self) -> Option<LeaderInfo> {
        let inner = self.inner_unless_forked()?;
        let (h, expires) = inner.leader.as_ref()?;
        let left = expires.saturating_sub(clock::now_nanos());
        Some(info(h, Duration::from_nanos(left)))
    }

    pub fn subscribe(&self) -> flume::Receiver<Event> {
        let (tx, rx) = flume::unbounded();
        let Some(mut inner) = self.inner_unless_forked() else {
            return rx;
        };
        if !inner.closed {
            // Replay only a grant that is still believed: a paused or starved process must
            // not hand a new subscriber a leadership whose deadline has passed.
            if let (Some(token), true) = (inner.granted, self.is_leader()) {
                let _ = tx.send(Event::Granted { token });
            }
            let leader = inner.leader.as_ref().map(|(h, e)| {
                info(
                    h,
                    Duration::from_nanos(e.saturating_sub(clock::now_nanos())),
                )
            });
            let _ = tx.send(Event::LeaderChanged(leader));
            inner.subscribers.push(tx);
        }
        rx
    }

    /// The election is closing or closed: no belief, no more grants, no more events
    /// (receivers end after draining). Idempotent; any thread.
    pub fn finish(&self) {
        self.deadline.store(0, Ordering::Release);
        let mut inner = self.inner();
        inner.closed = true;
        inner.subscribers.clear();
    }
}

impl Inner {
    fn emit(&mut self, event: Event) {
        self.subscribers.retain(|s| s.send(event.clone()).is_ok());
    }

    fn observe(&mut self, holder: Option<Holder>, expires: u64) {
        let same = match (&self.leader, &holder) {
            (Some((a, _)), Some(b)) => a.candidate_id == b.candidate_id && a.token == b.token,
            (None, None) => true,
            _ => false,
        };
        self.leader = holder.map(|h| (h, expires));
        if !same {
            let now = clock::now_nanos();
            let info = self
                .leader
                .as_ref()
                .map(|(h, e)| info(h, Duration::from_nanos(e.saturating_sub(now))));
            self.emit(Event::LeaderChanged(info));
        }
    }
}

pub(crate) fn info(h: &Holder, lease_remaining: Duration) -> LeaderInfo {
    LeaderInfo {
        candidate_id: h.candidate_id.clone(),
        host: h.host.clone(),
        pid: h.pid,
        token: h.token,
        since: UNIX_EPOCH + Duration::from_millis(h.since_ms),
        lease_remaining,
    }
}
