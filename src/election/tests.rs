//! The engine's timing, tested deterministically: tokio's paused clock and an in-memory store.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::engine::{Command, Ctx, Engine};
use super::events::{Event, RevokeReason};
use super::shared::Shared;
use crate::clock;
use crate::config::Timing;
use crate::store::memory::MemoryStore;
use crate::store::{Acquire, Candidate, Scope, Store};

const TIMING: Timing = Timing {
    ttl: Duration::from_millis(1000),
    renew_interval: Duration::from_millis(300),
    retry_interval: Duration::from_millis(50),
    drift: 0.01,
};

fn scope() -> Scope {
    Scope {
        prefix: "t:".into(),
        name: "job".into(),
    }
}

struct Node {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
    events: flume::Receiver<Event>,
}

async fn node(store: &Arc<MemoryStore>, id: &str, campaign: bool) -> Node {
    let candidate = Candidate {
        id: id.into(),
        host: "h".into(),
        pid: 1,
    };
    let shared = Arc::new(Shared::new("job".into(), candidate));
    let events = shared.subscribe();
    let (commands, rx) = mpsc::unbounded_channel();
    let engine = Engine {
        ctx: Ctx {
            shared: shared.clone(),
            store: store.clone(),
            scope: scope(),
            url: "memory://tests".into(),
            timing: TIMING,
            campaign,
            replicas: None,
            watch: store.watch(&scope()).await.ok(),
            resign_on_request: true,
        },
        commands: rx,
    };
    let task = tokio::spawn(engine.run());
    Node {
        shared,
        commands,
        task,
        events,
    }
}

impl Node {
    async fn next_granted(&self) -> u64 {
        loop {
            if let Event::Granted { token } = self.events.recv_async().await.unwrap() {
                return token;
            }
        }
    }

    async fn next_revoked(&self) -> (u64, RevokeReason) {
        loop {
            if let Event::Revoked { token, reason } = self.events.recv_async().await.unwrap() {
                return (token, reason);
            }
        }
    }

    /// Asks the engine to close; its events end once it has (await them, don't spin: a busy
    /// task would keep the paused clock from advancing).
    fn close(&self) {
        let (tx, _rx) = std::sync::mpsc::sync_channel(1);
        self.commands.send(Command::Close(tx)).unwrap();
    }

    async fn closed(&self) {
        let events = self.shared.subscribe();
        while events.recv_async().await.is_ok() {}
    }

    /// A crash: the engine stops without releasing anything.
    fn crash(&self) {
        self.task.abort();
    }
}

fn memory() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::default());
    store.latency_ms.store(1, Ordering::Relaxed);
    store
}

#[tokio::test(start_paused = true)]
async fn deadline_counts_from_the_request_not_the_response() {
    let store = memory();
    let start = Instant::now();
    let a = node(&store, "a", true).await;
    a.next_granted().await;
    // Granted 1ms after the request was sent; the deadline still counts from the send.
    assert_eq!(Instant::now() - start, Duration::from_millis(1));
    store.down.store(true, Ordering::Relaxed);
    let (_, reason) = a.next_revoked().await;
    assert_eq!(reason, RevokeReason::StoreUnreachable);
    assert_eq!(Instant::now() - start, TIMING.lease_span());
    assert!(!a.shared.is_leader());
}

#[tokio::test(start_paused = true)]
async fn is_leader_honours_the_deadline_without_the_engine() {
    let shared = Shared::new("job".into(), Candidate::for_this_process());
    let deadline = Instant::now() + Duration::from_millis(100);
    shared.grant(7, 0, clock::to_nanos(deadline));
    assert!(shared.is_leader());
    assert_eq!(shared.token(), Some(7));
    // A paused process: time passes, nothing runs; the very next check says no.
    tokio::time::advance(Duration::from_millis(100)).await;
    assert!(!shared.is_leader());
    assert_eq!(shared.token(), None);
}

#[tokio::test(start_paused = true)]
async fn follower_takes_over_within_jitter_of_expiry_after_a_crash() {
    let store = memory();
    let a = node(&store, "a", true).await;
    let ta = a.next_granted().await;
    let b = node(&store, "b", true).await;
    // Let b observe a's lease and schedule its attempt from the remaining TTL.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let crash = Instant::now();
    let renewed_at = crash - Duration::from_millis(500) + Duration::from_millis(300);
    a.crash();
    let tb = b.next_granted().await;
    assert!(tb > ta);
    // a's last renewal reached the store 1ms after it was sent at `renewed_at`.
    let expiry = renewed_at + Duration::from_millis(1) + TIMING.ttl;
    let late = Instant::now() - expiry;
    assert!(
        late <= Duration::from_millis(2 + 2 + 1),
        "takeover {late:?} after expiry"
    );
}

#[tokio::test(start_paused = true)]
async fn graceful_close_hands_over_in_two_round_trips() {
    let store = memory();
    let a = node(&store, "a", true).await;
    a.next_granted().await;
    let b = node(&store, "b", true).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    a.close();
    let (_, reason) = a.next_revoked().await;
    assert_eq!(reason, RevokeReason::Closed);
    assert!(
        !a.shared.is_leader(),
        "belief ends before the release is sent"
    );
    b.next_granted().await;
    // Release (1ms) + acquire (1ms): no waiting for the TTL.
    assert_eq!(Instant::now() - start, Duration::from_millis(2));
}

#[tokio::test(start_paused = true)]
async fn idle_follower_costs_about_one_request_per_lease_period() {
    let store = memory();
    let a = node(&store, "a", true).await;
    a.next_granted().await;
    let _b = node(&store, "b", true).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = store.requests.load(Ordering::Relaxed);
    let periods = 20;
    tokio::time::sleep(TIMING.ttl * periods).await;
    let total = store.requests.load(Ordering::Relaxed) - before;
    // The leader renews every 300ms; what remains is the follower's share.
    let renewals = (TIMING.ttl * periods).as_millis() as u64 / 300;
    let follower = total - renewals;
    let per_period = follower as f64 / periods as f64;
    assert!(per_period < 2.0, "{per_period} requests per lease period");
    assert!(
        per_period >= 0.5,
        "{per_period}: is the follower checking at all?"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lost_lease_is_noticed_at_the_next_renewal_and_tokens_keep_growing() {
    let store = memory();
    let a = node(&store, "a", true).await;
    let ta = a.next_granted().await;
    // The store forgets everything (restart without persistence) and b grabs the lease.
    store.wipe();
    let b = node(&store, "b", true).await;
    let tb = b.next_granted().await;
    let (token, reason) = a.next_revoked().await;
    assert_eq!((token, reason), (ta, RevokeReason::LeaseLost));
    assert!(!a.shared.is_leader());
    assert!(tb >= 1);
}

#[tokio::test(start_paused = true)]
async fn resign_hands_over_and_sits_out_its_cooldown() {
    let store = memory();
    let a = node(&store, "a", true).await;
    a.next_granted().await;
    let b = node(&store, "b", true).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    a.commands.send(Command::Resign(tx)).unwrap();
    b.next_granted().await;
    assert!(rx.try_recv().unwrap().is_ok());
    assert_eq!(a.next_revoked().await.1, RevokeReason::Resigned);
    // b closes at once: a must still sit out its cooldown before it competes again.
    let resigned = Instant::now();
    b.close();
    a.next_granted().await;
    assert!(Instant::now() - resigned >= TIMING.resign_cooldown() - Duration::from_millis(5));
}

#[tokio::test(start_paused = true)]
async fn renewal_failures_retry_then_recover_before_the_deadline() {
    let store = memory();
    let a = node(&store, "a", true).await;
    a.next_granted().await;
    store.down.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(a.shared.is_leader(), "still inside the deadline");
    store.down.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(a.shared.is_leader(), "a retry renewed the lease");
    while let Ok(e) = a.events.try_recv() {
        assert!(!matches!(e, Event::Revoked { .. }), "{e:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_grant_slower_than_the_lease_is_never_reported() {
    let store = memory();
    store
        .latency_ms
        .store(TIMING.ttl.as_millis() as u64 - 5, Ordering::Relaxed);
    let a = node(&store, "a", true).await;
    tokio::time::sleep(TIMING.ttl * 3).await;
    assert!(!a.shared.is_leader());
    while let Ok(e) = a.events.try_recv() {
        assert!(!matches!(e, Event::Granted { .. }), "{e:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn grants_and_revocations_come_in_pairs() {
    let store = memory();
    let a = node(&store, "a", true).await;
    for _ in 0..3 {
        let token = a.next_granted().await;
        store.down.store(true, Ordering::Relaxed);
        assert_eq!(a.next_revoked().await.0, token);
        store.down.store(false, Ordering::Relaxed);
    }
    a.close();
    a.closed().await;
    let mut open = None;
    while let Ok(e) = a.events.try_recv() {
        match e {
            Event::Granted { token } => assert_eq!(open.replace(token), None),
            Event::Revoked { token, .. } => assert_eq!(open.take(), Some(token)),
            _ => {}
        }
    }
    assert_eq!(open, None);
}

#[tokio::test(start_paused = true)]
async fn an_observer_follows_without_campaigning() {
    let store = memory();
    let watcher = node(&store, "w", false).await;
    let a = node(&store, "a", true).await;
    let ta = a.next_granted().await;
    loop {
        if let Event::LeaderChanged(Some(l)) = watcher.events.recv_async().await.unwrap() {
            assert_eq!((l.candidate_id.as_str(), l.token), ("a", ta));
            break;
        }
    }
    assert!(!watcher.shared.is_leader());
    assert_eq!(store.holder(&scope()).as_deref(), Some("a"));
}

#[tokio::test(start_paused = true)]
async fn a_grant_past_its_deadline_is_not_replayed_to_new_subscribers() {
    let shared = Shared::new("job".into(), Candidate::for_this_process());
    let deadline = Instant::now() + Duration::from_millis(100);
    assert!(shared.grant(7, 0, clock::to_nanos(deadline)));
    // The runtime thread was starved past the deadline: nothing revoked the grant yet.
    tokio::time::advance(Duration::from_millis(150)).await;
    let events = shared.subscribe();
    while let Ok(e) = events.try_recv() {
        assert!(
            !matches!(e, Event::Granted { .. }),
            "replayed a stale {e:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_tiny_retry_interval_does_not_spin_the_runtime_thread() {
    let store = memory();
    store.latency_ms.store(0, Ordering::Relaxed);
    store.down.store(true, Ordering::Relaxed);
    let shared = Arc::new(Shared::new("job".into(), Candidate::for_this_process()));
    let (_commands, rx) = mpsc::unbounded_channel();
    let timing = Timing {
        retry_interval: Duration::from_nanos(1),
        ..TIMING
    };
    let engine = Engine {
        ctx: Ctx {
            shared,
            store: store.clone(),
            scope: scope(),
            url: "memory://tests".into(),
            timing,
            campaign: true,
            replicas: None,
            watch: None,
            resign_on_request: true,
        },
        commands: rx,
    };
    let task = tokio::spawn(engine.run());
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.abort();
    // The floor is 1ms between attempts (backoff grows from there): at most one per ms.
    let requests = store.requests.load(Ordering::Relaxed);
    assert!(requests <= 100, "{requests} requests in 100ms");
}

#[tokio::test(start_paused = true)]
async fn a_resign_belief_ends_before_the_engine_acts_and_no_racing_grant_is_believed() {
    let shared = Shared::new("job".into(), Candidate::for_this_process());
    let deadline = Instant::now() + Duration::from_millis(500);
    assert!(shared.grant(7, 0, clock::to_nanos(deadline)));
    shared.resign_now();
    assert!(!shared.is_leader());
    // A renewal or a grant that was in flight lands after the resign: neither is believed.
    assert!(!shared.extend(7, clock::now_nanos(), clock::to_nanos(deadline)));
    assert!(!shared.is_leader());
    assert!(!shared.grant(8, 0, clock::to_nanos(deadline)));
    shared.hold_back(false);
    assert!(shared.grant(9, 0, clock::to_nanos(deadline)));
}

#[tokio::test(start_paused = true)]
async fn a_renewal_answered_after_the_deadline_does_not_revive_the_lapsed_belief() {
    let shared = Shared::new("job".into(), Candidate::for_this_process());
    let deadline = Instant::now() + Duration::from_millis(100);
    assert!(shared.grant(7, 0, clock::to_nanos(deadline)));
    // The renewal was sent before the deadline, but its answer came after it: the
    // application already saw `false`, so the same token must not be believed again.
    tokio::time::advance(Duration::from_millis(101)).await;
    assert!(!shared.is_leader());
    let renewed = clock::to_nanos(deadline + Duration::from_millis(900));
    assert!(!shared.extend(7, clock::now_nanos(), renewed));
    assert!(!shared.is_leader());
    assert_eq!(shared.token(), None);
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_store_ends_belief_and_the_election_campaigns_again() {
    let store = memory();
    let a = node(&store, "a", true).await;
    let first = a.next_granted().await;
    store.panic_next.store(true, Ordering::Relaxed);
    // Without the recovery the task is gone and these would wait forever.
    let revoked = tokio::time::timeout(10 * TIMING.ttl, a.next_revoked()).await;
    assert_eq!(
        revoked.expect("the panic ends belief"),
        (first, RevokeReason::StoreUnreachable)
    );
    assert!(!a.shared.is_leader());
    let again = tokio::time::timeout(10 * TIMING.ttl, a.next_granted())
        .await
        .expect("the election campaigns again");
    assert!(again > first, "{again} > {first}");
    assert!(!a.task.is_finished());
}

#[tokio::test(start_paused = true)]
async fn a_follower_holding_off_reads_again_and_takes_a_late_grant_of_its_own() {
    let store = memory();
    let a = node(&store, "a", true).await;
    a.next_granted().await;
    let b = node(&store, "b", true).await;
    while !matches!(
        b.events.recv_async().await.unwrap(),
        Event::LeaderChanged(Some(_))
    ) {}
    a.crash();
    // b's acquire at the lease's expiry fails: it holds off for a ttl from then.
    store.down.store(true, Ordering::Relaxed);
    tokio::time::sleep(TIMING.ttl + Duration::from_millis(100)).await;
    store.down.store(false, Ordering::Relaxed);
    while !matches!(
        b.events.recv_async().await.unwrap(),
        Event::LeaderChanged(None)
    ) {}
    // Its failed acquire runs now, after the read that found the lease free.
    let me = Candidate {
        id: "b".into(),
        host: "h".into(),
        pid: 1,
    };
    let late = store.acquire(&scope(), &me, TIMING.ttl).await.unwrap();
    assert!(matches!(late, Acquire::Granted { .. }));
    let ran = Instant::now();
    b.next_granted().await;
    assert!(
        Instant::now() - ran <= TIMING.renew_interval + Duration::from_millis(5),
        "led {:?} after its late grant, not at the next read",
        Instant::now() - ran
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_while_closing_ends_the_election_instead_of_campaigning_again() {
    let store = memory();
    let mut a = node(&store, "a", true).await;
    a.next_granted().await;
    // As `Election::close()` does; then the release panics.
    store.panic_next.store(true, Ordering::Relaxed);
    a.shared.close_now();
    a.close();
    let ended = tokio::time::timeout(10 * TIMING.ttl, &mut a.task).await;
    assert!(
        ended.is_ok(),
        "the engine campaigns again after the user closed the election"
    );
    assert_eq!(
        store.holder(&scope()),
        Some("a".into()),
        "expires by itself"
    );
}
