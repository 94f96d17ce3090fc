//! The state machine of one election, run as a task on baton's runtime thread.
//!
//! Follow: try to acquire; when someone holds the lease, sleep until its remaining TTL runs
//! out (plus a little jitter) or a release notification arrives. Lead: renew every
//! `renew_interval`; on failure retry every `retry_interval` until the deadline, then step
//! down. The deadline is the instant the winning request was *sent* plus the trusted span.
//!
//! Every wait, store requests included, also listens for commands: a close or resign never
//! waits behind a request to a store that stopped answering.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};

use super::events::RevokeReason;
use super::holdoff::HoldOff;
use super::shared::Shared;
use crate::clock;
use crate::config::{Replicas, Timing};
use crate::store::{Acquire, Holder, Renewal, Scope, Store, StoreError, Watch};
use crate::Error;

/// Longest a close or resign waits for its release request.
pub(crate) const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// The shortest retry pause, whatever `retry_interval` says: a failing store must not make the
/// runtime thread spin.
const MIN_RETRY: Duration = Duration::from_millis(1);

pub(crate) enum Command {
    Resign(SyncSender<Result<(), Error>>),
    Close(SyncSender<()>),
}

pub(crate) struct Engine {
    pub ctx: Ctx,
    pub commands: mpsc::UnboundedReceiver<Command>,
}

/// Everything but the command queue, so that a request (borrowing this) and the queue can be
/// awaited together.
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub store: Arc<dyn Store>,
    pub scope: Scope,
    /// The store's URL without its password, for errors.
    pub url: String,
    pub timing: Timing,
    pub campaign: bool,
    pub replicas: Option<Replicas>,
    pub watch: Option<Watch>,
    /// Resign at once when asked to hand over; else report it and wait for `resign()`.
    pub resign_on_request: bool,
}

struct Lead {
    token: u64,
    deadline: Instant,
    renew_at: Instant,
    failing: bool,
    /// A resign request was reported to the application (once per grant).
    asked: bool,
    /// The store's connection drops when this grant was believed.
    drops: u64,
}

/// What one request found.
enum Seen {
    Granted {
        token: u64,
        since_ms: u64,
    },
    Held(Holder),
    Vacant,
    /// A wary acquire found no record of the lease: the store lost it.
    Absent,
}

/// How a follower asks: acquire, acquire warily (grant nothing the store has no record of),
/// or only read while it holds off.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    Acquire,
    Wary,
    Read,
}

enum Next {
    /// Follow; attempt not before the given instant (a resign's cooldown).
    Follow(Option<Instant>),
    Lead(Lead),
    Exit,
}

/// Either the awaited work finished, or a command (or the end of the queue) came first.
enum Raced<T> {
    Done(T),
    Command(Option<Command>),
}

async fn notified(watch: &Option<Watch>) {
    match watch {
        Some(w) => w.notify.notified().await,
        None => std::future::pending().await,
    }
}

async fn race<T>(
    commands: &mut mpsc::UnboundedReceiver<Command>,
    work: impl Future<Output = T>,
) -> Raced<T> {
    tokio::select! {
        biased;
        cmd = commands.recv() => Raced::Command(cmd),
        done = work => Raced::Done(done),
    }
}

impl Engine {
    pub async fn run(mut self) {
        let mut next = Next::Follow(None);
        loop {
            let step = match next {
                Next::Follow(not_before) => {
                    AssertUnwindSafe(self.follow(not_before))
                        .catch_unwind()
                        .await
                }
                Next::Lead(lead) => AssertUnwindSafe(self.lead(lead)).catch_unwind().await,
                Next::Exit => break,
            };
            next = step.unwrap_or_else(|panic| self.recover(panic));
        }
        self.ctx.shared.finish();
    }

    /// A bug panicked in the election's task (the store's code included): belief ends, and the
    /// election follows again after a retry pause instead of ending without a word, unless it
    /// was closing (the lease, if held, then expires by itself).
    fn recover(&mut self, panic: Box<dyn std::any::Any + Send>) -> Next {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(election = %self.ctx.scope.name, panic = %what, "baton's election task panicked (a bug in baton: please report it with this log); leadership, if held, ends, and the election campaigns again");
        if self.ctx.shared.is_closed() {
            return Next::Exit;
        }
        self.ctx.shared.revoke(RevokeReason::StoreUnreachable);
        Next::Follow(Some(Instant::now() + self.ctx.retry_pause()))
    }

    /// A command while following. `held` is a lease of ours whose answer we did not see (an
    /// abandoned acquire) or did not report: released under any token of ours.
    async fn command_following(&mut self, cmd: Option<Command>, held: bool) -> Option<Next> {
        let ctx = &self.ctx;
        match cmd {
            Some(Command::Resign(reply)) => {
                let released = if held {
                    ctx.release(None).await
                } else {
                    Ok(())
                };
                ctx.shared.hold_back(false);
                let _ = reply.send(released);
                held.then(|| Next::Follow(Some(Instant::now() + ctx.timing.resign_cooldown())))
            }
            Some(Command::Close(reply)) => {
                ctx.shared.finish();
                if held {
                    ctx.release(None).await.ok();
                }
                let _ = reply.send(());
                Some(Next::Exit)
            }
            None => {
                if held {
                    ctx.release(None).await.ok();
                }
                Some(Next::Exit)
            }
        }
    }

    /// A command while leading under `token`: belief ends before the release is sent.
    async fn command_leading(&mut self, cmd: Option<Command>, token: u64) -> Next {
        let ctx = &self.ctx;
        match cmd {
            Some(Command::Resign(reply)) => {
                ctx.shared.revoke(RevokeReason::Resigned);
                let released = ctx.release(Some(token)).await;
                ctx.shared.hold_back(false);
                let _ = reply.send(released);
                Next::Follow(Some(Instant::now() + ctx.timing.resign_cooldown()))
            }
            Some(Command::Close(reply)) => {
                ctx.shared.revoke(RevokeReason::Closed);
                ctx.release(Some(token)).await.ok();
                ctx.shared.finish();
                let _ = reply.send(());
                Next::Exit
            }
            None => {
                ctx.shared.revoke(RevokeReason::Closed);
                ctx.release(Some(token)).await.ok();
                Next::Exit
            }
        }
    }

    async fn follow(&mut self, not_before: Option<Instant>) -> Next {
        let mut wake = not_before.unwrap_or_else(Instant::now);
        let mut failures = 0u32;
        // A grant we hold but do not believe (too few replicas acknowledged it, or a close or
        // resign came first): kept until it expires, but a close or resign gives it back.
        let mut unconfirmed = false;
        let mut hold = HoldOff::default();
        // The last attempt took again a lease of ours found in the store.
        let mut retook_last = false;
        loop {
            if wake > Instant::now() {
                // During a resign's cooldown, our own release notification must not wake us.
                let cooling = not_before.is_some_and(|t| Instant::now() < t);
                tokio::select! {
                    _ = sleep_until(wake) => {}
                    _ = notified(&self.ctx.watch), if !cooling => {}
                    cmd = self.commands.recv() => {
                        match self.command_following(cmd, unconfirmed).await {
                            Some(next) => return next,
                            None => continue,
                        }
                    }
                }
            }
            if self.ctx.watch.is_none() {
                let ctx = &self.ctx;
                let sent = clock::now_nanos();
                let watch = timeout(ctx.timing.ttl, ctx.store.watch(&ctx.scope));
                match race(&mut self.commands, watch).await {
                    Raced::Command(cmd) => match self.command_following(cmd, unconfirmed).await {
                        Some(next) => return next,
                        None => continue,
                    },
                    Raced::Done(Ok(Ok(w))) => self.ctx.watch = Some(w),
                    Raced::Done(Ok(Err(e))) => {
                        self.ctx.shared.note_subscription_failure();
                        tracing::warn!(election = %self.ctx.scope.name, error = %e, "no release notifications: handover waits for the lease's expiry until the subscription is back");
                    }
                    Raced::Done(Err(_)) => {
                        self.ctx.shared.note_subscription_failure();
                        tracing::warn!(election = %self.ctx.scope.name, "subscribing to release notifications timed out");
                        self.ctx.store.stalled(sent);
                    }
                }
            }
            let sent = Instant::now();
            let sent_nanos = clock::now_nanos();
            // Only a candidate could take a lost lease; an observer keeps reading as usual.
            let holding = self
                .ctx
                .campaign
                .then(|| hold.until(sent, self.ctx.drops(), self.ctx.timing.ttl))
                .flatten();
            let ask = match holding {
                Some(_) => Ask::Read,
                None if crate::mutant::wary(hold.wary()) => Ask::Wary,
                None => Ask::Acquire,
            };
            let attempt = self.ctx.attempt(sent_nanos, ask);
            let retook = std::mem::take(&mut retook_last);
            let attempt = match race(&mut self.commands, attempt).await {
                Raced::Done(a) => a,
                // The acquire may have been applied: whatever we may hold goes back.
                Raced::Command(cmd) => match self.command_following(cmd, true).await {
                    Some(next) => return next,
                    None => continue,
                },
            };
            let ctx = &self.ctx;
            match attempt {
                Ok(Seen::Absent) => {
                    failures = 0;
                    unconfirmed = false;
                    tracing::warn!(election = %ctx.scope.name, wait = ?ctx.timing.ttl, "the store has no record of the lease it showed held: it lost it (a restart without persistence, a failover, a flush); taking it only once the old holder's belief has run out");
                    ctx.shared.observe(None);
                    wake = hold.absent(Instant::now(), ctx.timing.ttl);
                }
                Ok(Seen::Vacant) => {
                    failures = 0;
                    unconfirmed = false;
                    ctx.shared.observe(None);
                    // Holding off, it still reads every renew interval: an acquire of ours
                    // that timed out may yet run (a paused server resuming), and the old
                    // holder may come back; either ends the wait.
                    let next = Instant::now() + ctx.timing.renew_interval;
                    wake = holding.map_or(next, |until| until.min(next));
                }
                Ok(Seen::Granted { token, since_ms }) => {
                    let span = ctx.timing.lease_span();
                    let deadline = sent + span;
                    let missed = match race(&mut self.commands, self.ctx.replicas_missed()).await {
                        Raced::Done(missed) => missed,
                        Raced::Command(cmd) => match self.command_following(cmd, true).await {
                            Some(next) => return next,
                            None => continue,
                        },
                    };
                    let ctx = &self.ctx;
                    if missed || Instant::now() >= deadline {
                        // Not trustworthy. Keep the lease until it expires rather than release
                        // it: a release would wake every follower into the same failure.
                        failures += 1;
                        unconfirmed = true;
                        wake = Instant::now() + ctx.backoff(failures);
                        tracing::debug!(election = %ctx.scope.name, token, late = ?Instant::now().saturating_duration_since(deadline), missed, "granted too late to trust");
                        continue;
                    }
                    let deadline_nanos = sent_nanos.saturating_add(span.as_nanos() as u64);
                    if !ctx.shared.grant(token, since_ms, deadline_nanos) {
                        // A close or resign came first: its queued command gives the lease back.
                        unconfirmed = true;
                        wake = Instant::now();
                        continue;
                    }
                    tracing::info!(election = %ctx.scope.name, token, "granted leadership");
                    return Next::Lead(Lead {
                        token,
                        deadline: crate::mutant::engine_deadline(deadline),
                        renew_at: sent + ctx.timing.renew_interval,
                        failing: false,
                        asked: false,
                        drops: ctx.drops(),
                    });
                }
                Ok(Seen::Held(holder)) => {
                    failures = 0;
                    // Our own lease, from a grant whose answer never reached us: a request that
                    // timed out and ran later (it sat in a paused server's buffer), or a late
                    // answer. The store gave it by its rules, so taking it again at once (under
                    // a new token) is as safe, and beats leaving the election leaderless until
                    // it expires. Once: a store that shows it again without granting it (an old
                    // session's node) is waited out.
                    let ours = ctx.campaign && holder.candidate_id == ctx.shared.candidate.id;
                    unconfirmed = ours;
                    if ours && !retook {
                        tracing::info!(election = %ctx.scope.name, token = holder.token, "the store holds a lease of ours whose grant never reached us; taking it again");
                        retook_last = true;
                        hold.ours(ctx.drops());
                        wake = Instant::now();
                        continue;
                    }
                    // A lease without expiry (set by hand) is checked again once per ttl.
                    let wait = holder
                        .remaining
                        .map_or(ctx.timing.ttl, |left| left + ctx.jitter());
                    hold.saw(&holder.candidate_id, ctx.drops());
                    if !ours {
                        ctx.shared.observe(Some(holder));
                    }
                    wake = Instant::now() + wait;
                }
                Err(e) => {
                    hold.trouble(sent, ctx.timing.ttl);
                    failures += 1;
                    let backoff = ctx.backoff(failures);
                    tracing::warn!(election = %ctx.scope.name, error = %e, retry_in = ?backoff, "store request failed");
                    wake = Instant::now() + backoff;
                }
            }
        }
    }

    async fn lead(&mut self, mut l: Lead) -> Next {
        loop {
            // The connection dropped (a restarted or failed-over server): the lease may be
            // gone with it, and a follower may win it the moment the store is back. Stop
            // believing now; a fresh acquire proves it again under a new token.
            if self.ctx.drops() != l.drops {
                return self.ctx.step_down(RevokeReason::StoreUnreachable);
            }
            if Instant::now() >= l.deadline {
                let reason = if l.failing {
                    RevokeReason::StoreUnreachable
                } else {
                    RevokeReason::LeaseExpired
                };
                return self.ctx.step_down(reason);
            }
            tokio::select! {
                biased;
                cmd = self.commands.recv() => return self.command_leading(cmd, l.token).await,
                _ = sleep_until(l.deadline) => continue,
                // A reconnect (or any notification) makes the leader prove its lease at once.
                _ = notified(&self.ctx.watch) => l.renew_at = Instant::now(),
                _ = sleep_until(l.renew_at) => {}
            }
            if Instant::now() < l.renew_at {
                continue;
            }
            let sent = Instant::now();
            let sent_nanos = clock::now_nanos();
            let renew = async {
                tokio::select! {
                    r = self.ctx.renew(l.token) => Some(r),
                    _ = sleep_until(l.deadline) => None,
                }
            };
            let outcome = match race(&mut self.commands, renew).await {
                Raced::Done(outcome) => outcome,
                Raced::Command(cmd) => return self.command_leading(cmd, l.token).await,
            };
            let outcome = crate::mutant::lost_as_error(outcome);
            let ctx = &self.ctx;
            let outcome = match outcome {
                // The application stops its work first and then resigns itself.
                Some(Ok(Renewal::ResignRequested)) if !ctx.resign_on_request => {
                    if !std::mem::replace(&mut l.asked, true) {
                        tracing::info!(election = %ctx.scope.name, "asked to hand over; waiting for resign()");
                        ctx.shared.resign_requested(l.token);
                    }
                    Some(Ok(Renewal::Renewed))
                }
                other => other,
            };
            match outcome {
                Some(Ok(Renewal::Renewed)) => {
                    let (sent, sent_nanos) =
                        crate::mutant::from_response("deadline-from-response", sent, sent_nanos);
                    let span = ctx.timing.lease_span();
                    l.deadline = crate::mutant::engine_deadline(sent + span);
                    l.renew_at = sent + ctx.timing.renew_interval;
                    l.failing = false;
                    let deadline_nanos = sent_nanos.saturating_add(span.as_nanos() as u64);
                    if !ctx.shared.extend(l.token, sent_nanos, deadline_nanos) {
                        // The answer came after the deadline (the timer had not fired yet).
                        return ctx.step_down(RevokeReason::LeaseExpired);
                    }
                }
                // Someone asked us to hand over (`baton resign`): the normal release path.
                Some(Ok(Renewal::ResignRequested)) => {
                    tracing::info!(election = %ctx.scope.name, "resigning on request");
                    ctx.shared.revoke(RevokeReason::Resigned);
                    ctx.release(Some(l.token)).await.ok();
                    return Next::Follow(Some(Instant::now() + ctx.timing.resign_cooldown()));
                }
                Some(Ok(Renewal::Lost)) => return ctx.step_down(RevokeReason::LeaseLost),
                Some(Err(e)) => {
                    tracing::warn!(election = %ctx.scope.name, error = %e, "renewal failed; retrying until the deadline");
                    l.failing = true;
                    l.renew_at = Instant::now() + ctx.retry_pause();
                }
                None => {
                    l.failing = true;
                    ctx.store.stalled(sent_nanos);
                }
            }
        }
    }
}

impl Ctx {
    fn drops(&self) -> u64 {
        self.watch
            .as_ref()
            .map_or(0, |w| w.drops.load(std::sync::atomic::Ordering::Acquire))
    }

    fn jitter(&self) -> Duration {
        let max = (self.timing.ttl / 100).min(Duration::from_millis(2));
        max.mul_f64(fastrand::f64())
    }

    fn retry_pause(&self) -> Duration {
        self.timing
            .retry_interval
            .max(MIN_RETRY)
            .mul_f64(0.5 + fastrand::f64() / 2.0)
    }

    /// Exponential backoff from `retry_interval` with jitter, capped at `renew_interval`: a
    /// store that comes back is found within a third of a lease, not a whole one.
    fn backoff(&self, failures: u32) -> Duration {
        let retry = self.timing.retry_interval.max(MIN_RETRY);
        let base = retry.saturating_mul(2u32.pow(failures.saturating_sub(1).min(6)));
        base.min(self.timing.renew_interval.max(MIN_RETRY))
            .mul_f64(0.5 + fastrand::f64() / 2.0)
    }

    /// One request: a candidate tries to acquire (unless `ask` says it holds off, or acquires
    /// warily), an observer only reads. `sent` is the request's send time on baton's clock,
    /// reported to the store when no answer comes.
    async fn attempt(&self, sent: u64, ask: Ask) -> Result<Seen, StoreError> {
        let ttl = self.timing.ttl;
        let seen = if self.campaign && ask != Ask::Read {
            let me = &self.shared.candidate;
            let acquire = async {
                match ask {
                    Ask::Wary => self.store.acquire_wary(&self.scope, me, ttl).await,
                    _ => self.store.acquire(&self.scope, me, ttl).await,
                }
            };
            timeout(ttl, acquire).await.map(|r| {
                r.map(|a| match a {
                    Acquire::Granted { token, since_ms } => Seen::Granted { token, since_ms },
                    Acquire::Held(h) => Seen::Held(h),
                    Acquire::Absent => Seen::Absent,
                })
            })
        } else {
            let read = self.store.read(&self.scope);
            timeout(ttl, read)
                .await
                .map(|r| r.map(|h| h.map_or(Seen::Vacant, Seen::Held)))
        };
        seen.unwrap_or_else(|_| {
            self.store.stalled(sent);
            Err(StoreError::Unreachable("request timed out".into()))
        })
    }

    /// A renewal; with `wait_for_replicas`, it counts only once the replicas acknowledged it,
    /// since a failover to a replica that missed it would end the lease early.
    async fn renew(&self, token: u64) -> Result<Renewal, StoreError> {
        let renewal = self
            .store
            .renew(&self.scope, &self.shared.candidate, token, self.timing.ttl)
            .await?;
        if renewal == Renewal::Renewed && self.replicas_missed().await {
            return Err(StoreError::Unreachable(
                "too few replicas acknowledged the renewal".into(),
            ));
        }
        Ok(renewal)
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
                tracing::warn!(election = %self.scope.name, acked, wanted = r.count, "too few replicas acknowledged the write");
                true
            }
            Err(e) => {
                tracing::warn!(election = %self.scope.name, error = %e, "WAIT for replicas failed");
                true
            }
        }
    }

    fn step_down(&self, reason: RevokeReason) -> Next {
        tracing::warn!(election = %self.scope.name, %reason, "stepped down");
        self.shared.revoke(reason);
        Next::Follow(None)
    }

    /// Gives the lease back; an error says why the store did not confirm it (the lease then
    /// expires by itself).
    async fn release(&self, token: Option<u64>) -> Result<(), Error> {
        let sent = clock::now_nanos();
        let release = self
            .store
            .release(&self.scope, &self.shared.candidate, token);
        let limit = RELEASE_TIMEOUT.min(self.timing.ttl);
        match timeout(limit, release).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(election = %self.scope.name, error = %e, "release failed; the lease will expire");
                Err(match e {
                    StoreError::Refused(m) => Error::Store(m),
                    StoreError::Unreachable(detail) => Error::StoreUnreachable {
                        url: self.url.clone(),
                        detail,
                    },
                })
            }
            Err(_) => {
                tracing::warn!(election = %self.scope.name, "release timed out; the lease will expire");
                self.store.stalled(sent);
                Err(Error::Timeout {
                    what: "resign",
                    waited: limit,
                })
            }
        }
    }
}
