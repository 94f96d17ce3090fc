//! The state machine of one election, run as a task on baton's runtime thread.
//!
//! Follow: try to acquire; when someone holds the lease, sleep until its remaining TTL runs
//! out (plus a little jitter) or a release notification arrives. Lead: renew every
//! `renew_interval`; on failure retry every `retry_interval` until the deadline, then step
//! down. The deadline is the instant the winning request was *sent* plus the trusted span.

use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};

use super::events::RevokeReason;
use super::shared::Shared;
use crate::clock;
use crate::config::{Replicas, Timing};
use crate::store::{Acquire, Holder, Renewal, Scope, Store, StoreError, Watch};
use crate::Error;

/// Longest a close or resign waits for its release request.
pub(crate) const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) enum Command {
    Resign(SyncSender<Result<(), Error>>),
    Close(SyncSender<()>),
}

pub(crate) struct Engine {
    pub shared: Arc<Shared>,
    pub store: Arc<dyn Store>,
    pub scope: Scope,
    pub timing: Timing,
    pub campaign: bool,
    pub replicas: Option<Replicas>,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub watch: Option<Watch>,
}

struct Lead {
    token: u64,
    deadline: Instant,
    renew_at: Instant,
    failing: bool,
}

/// What one request found.
enum Seen {
    Granted { token: u64, since_ms: u64 },
    Held(Holder),
    Vacant,
}

enum Next {
    /// Follow; attempt not before the given instant (a resign's cooldown).
    Follow(Option<Instant>),
    Lead(Lead),
    Exit,
}

async fn notified(watch: &Option<Watch>) {
    match watch {
        Some(w) => w.notify.notified().await,
        None => std::future::pending().await,
    }
}

impl Engine {
    pub async fn run(mut self) {
        let mut next = Next::Follow(None);
        loop {
            next = match next {
                Next::Follow(not_before) => self.follow(not_before).await,
                Next::Lead(lead) => self.lead(lead).await,
                Next::Exit => break,
            };
        }
        self.shared.finish();
    }

    fn jitter(&self) -> Duration {
        let max = (self.timing.ttl / 100).min(Duration::from_millis(2));
        max.mul_f64(fastrand::f64())
    }

    /// Exponential backoff from `retry_interval` with jitter, capped at `renew_interval`: a
    /// store that comes back is found within a third of a lease, not a whole one.
    fn backoff(&self, failures: u32) -> Duration {
        let base = self.timing.retry_interval * 2u32.pow(failures.saturating_sub(1).min(6));
        base.min(self.timing.renew_interval)
            .mul_f64(0.5 + fastrand::f64() / 2.0)
    }

    async fn follow(&mut self, not_before: Option<Instant>) -> Next {
        let mut wake = not_before.unwrap_or_else(Instant::now);
        let mut failures = 0u32;
        loop {
            if wake > Instant::now() {
                // During a resign's cooldown, our own release notification must not wake us.
                let cooling = not_before.is_some_and(|t| Instant::now() < t);
                tokio::select! {
                    _ = sleep_until(wake) => {}
                    _ = notified(&self.watch), if !cooling => {}
                    cmd = self.commands.recv() => match cmd {
                        Some(Command::Resign(reply)) => { let _ = reply.send(Ok(())); continue; }
                        Some(Command::Close(reply)) => { self.shared.finish(); let _ = reply.send(()); return Next::Exit; }
                        None => return Next::Exit,
                    },
                }
            }
            if self.watch.is_none() {
                self.watch = timeout(self.timing.ttl, self.store.watch(&self.scope))
                    .await
                    .ok()
                    .and_then(Result::ok);
            }
            let sent = Instant::now();
            let attempt = self.attempt().await;
            match attempt {
                Ok(Seen::Vacant) => {
                    failures = 0;
                    self.shared.observe(None);
                    wake = Instant::now() + self.timing.renew_interval;
                }
                Ok(Seen::Granted { token, since_ms }) => {
                    let deadline = sent + self.timing.lease_span();
                    if self.replicas_missed().await || Instant::now() >= deadline {
                        // Not trustworthy: give the lease back and try again later.
                        self.release(token).await;
                        failures += 1;
                        wake = Instant::now() + self.backoff(failures);
                        continue;
                    }
                    self.shared
                        .grant(token, since_ms, clock::to_nanos(deadline));
                    tracing::info!(election = %self.scope.name, token, "granted leadership");
                    return Next::Lead(Lead {
                        token,
                        deadline,
                        renew_at: sent + self.timing.renew_interval,
                        failing: false,
                    });
                }
                Ok(Seen::Held(holder)) => {
                    failures = 0;
                    // A lease without expiry (set by hand) is checked again once per ttl.
                    let wait = holder
                        .remaining
                        .map_or(self.timing.ttl, |left| left + self.jitter());
                    self.shared.observe(Some(holder));
                    wake = Instant::now() + wait;
                }
                Err(e) => {
                    failures += 1;
                    let backoff = self.backoff(failures);
                    tracing::warn!(election = %self.scope.name, error = %e, retry_in = ?backoff, "store request failed");
                    wake = Instant::now() + backoff;
                }
            }
        }
    }

    /// One request: a candidate tries to acquire, an observer only reads.
    async fn attempt(&self) -> Result<Seen, StoreError> {
        let ttl = self.timing.ttl;
        let seen = if self.campaign {
            let acquire = self.store.acquire(&self.scope, &self.shared.candidate, ttl);
            timeout(ttl, acquire).await.map(|r| {
                r.map(|a| match a {
                    Acquire::Granted { token, since_ms } => Seen::Granted { token, since_ms },
                    Acquire::Held(h) => Seen::Held(h),
                })
            })
        } else {
            let read = self.store.read(&self.scope);
            timeout(ttl, read)
                .await
                .map(|r| r.map(|h| h.map_or(Seen::Vacant, Seen::Held)))
        };
        seen.unwrap_or_else(|_| Err(StoreError::Unreachable("request timed out".into())))
    }

    async fn replicas_missed(&self) -> bool {
        let Some(r) = self.replicas else {
            return false;
        };
        match self
            .store
            .wait_replicas(&self.scope, r.count, r.timeout)
            .await
        {
            Ok(acked) if acked >= r.count => false,
            Ok(acked) => {
                tracing::warn!(election = %self.scope.name, acked, wanted = r.count, "too few replicas acknowledged the grant");
                true
            }
            Err(e) => {
                tracing::warn!(election = %self.scope.name, error = %e, "WAIT for replicas failed");
                true
            }
        }
    }

    async fn lead(&mut self, mut l: Lead) -> Next {
        loop {
            if Instant::now() >= l.deadline {
                let reason = if l.failing {
                    RevokeReason::StoreUnreachable
                } else {
                    RevokeReason::LeaseExpired
                };
                return self.step_down(reason);
            }
            tokio::select! {
                biased;
                cmd = self.commands.recv() => match cmd {
                    // Stop believing before the lease can go to someone else.
                    Some(Command::Resign(reply)) => {
                        self.shared.revoke(RevokeReason::Resigned);
                        self.release(l.token).await;
                        let _ = reply.send(Ok(()));
                        return Next::Follow(Some(Instant::now() + self.timing.ttl));
                    }
                    Some(Command::Close(reply)) => {
                        self.shared.revoke(RevokeReason::Closed);
                        self.release(l.token).await;
                        self.shared.finish();
                        let _ = reply.send(());
                        return Next::Exit;
                    }
                    None => {
                        self.shared.revoke(RevokeReason::Closed);
                        self.release(l.token).await;
                        return Next::Exit;
                    }
                },
                _ = sleep_until(l.deadline) => {}
                // A reconnect (or any notification) makes the leader prove its lease at once.
                _ = notified(&self.watch) => l.renew_at = Instant::now(),
                _ = sleep_until(l.renew_at) => {
                    let sent = Instant::now();
                    let renew = self.store.renew(&self.scope, &self.shared.candidate, l.token, self.timing.ttl);
                    let outcome = tokio::select! {
                        r = renew => Some(r),
                        _ = sleep_until(l.deadline) => None,
                    };
                    let outcome = crate::mutant::lost_as_error(outcome);
                    match outcome {
                        Some(Ok(Renewal::Renewed)) => {
                            l.deadline = crate::mutant::or_now("deadline-from-response", sent) + self.timing.lease_span();
                            l.renew_at = sent + self.timing.renew_interval;
                            l.failing = false;
                            self.shared.extend(clock::to_nanos(l.deadline));
                        }
                        // Someone asked us to hand over (`baton resign`): the normal release path.
                        Some(Ok(Renewal::ResignRequested)) => {
                            tracing::info!(election = %self.scope.name, "resigning on request");
                            self.shared.revoke(RevokeReason::Resigned);
                            self.release(l.token).await;
                            return Next::Follow(Some(Instant::now() + self.timing.ttl));
                        }
                        Some(Ok(Renewal::Lost)) => return self.step_down(RevokeReason::LeaseLost),
                        Some(Err(e)) => {
                            tracing::warn!(election = %self.scope.name, error = %e, "renewal failed; retrying until the deadline");
                            l.failing = true;
                            l.renew_at = Instant::now() + self.timing.retry_interval.mul_f64(0.5 + fastrand::f64() / 2.0);
                        }
                        None => l.failing = true,
                    }
                }
            }
        }
    }

    fn step_down(&self, reason: RevokeReason) -> Next {
        tracing::warn!(election = %self.scope.name, %reason, "stepped down");
        self.shared.revoke(reason);
        Next::Follow(None)
    }

    async fn release(&self, token: u64) {
        let release = self
            .store
            .release(&self.scope, &self.shared.candidate, token);
        match timeout(RELEASE_TIMEOUT.min(self.timing.ttl), release).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(election = %self.scope.name, error = %e, "release failed; the lease will expire")
            }
            Err(_) => {
                tracing::warn!(election = %self.scope.name, "release timed out; the lease will expire")
            }
        }
    }
}
