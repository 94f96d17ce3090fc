//! The suite every store must pass, written against the public API. Each case takes the store
//! URL and a fresh election name, so one server can serve several cases in a row.

// Each test binary uses a different subset of the suite.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use baton::{Election, Event, RevokeReason};

pub const WAIT: Duration = Duration::from_secs(10);
const TTL: Duration = Duration::from_millis(600);

pub fn election(url: &str, name: &str) -> Election {
    Election::builder(url, name)
        .ttl(TTL)
        .build()
        .expect("build election")
}

/// Closes `e` and returns the token of its last grant, from `events` (subscribed before its
/// first grant was awaited): on a loaded machine a leader may step down (a slow listener
/// connection counts as a drop) and be granted again before the close.
pub fn close_reporting_last_grant(e: &Election, events: &baton::Events) -> u64 {
    e.close();
    let mut last = None;
    // The events end once the election closed.
    while let Ok(event) = events.recv_timeout(WAIT) {
        if let Event::Granted { token } = event {
            last = Some(token);
        }
    }
    last.expect("the election led before its close")
}

fn revoked(e: &baton::Events) -> (u64, RevokeReason) {
    loop {
        match e.recv_timeout(WAIT).expect("a revocation") {
            Event::Revoked { token, reason } => return (token, reason),
            _ => continue,
        }
    }
}

fn granted(e: &baton::Events) -> u64 {
    loop {
        match e.recv_timeout(WAIT).expect("a grant") {
            Event::Granted { token } => return token,
            _ => continue,
        }
    }
}

/// Three candidates, one leader; the others see who it is.
pub fn one_leader_among_three(url: &str, name: &str) {
    let nodes: Vec<Election> = (0..3).map(|_| election(url, name)).collect();
    let seen: Vec<_> = nodes.iter().map(|n| n.events()).collect();
    // Everyone learns who leads; exactly that candidate believes it does.
    for (node, events) in nodes.iter().zip(&seen) {
        while node.leader().is_none() {
            events
                .recv_timeout(WAIT)
                .expect("the candidate observes a leader");
        }
    }
    let leader = nodes[0].leader().unwrap();
    for node in &nodes {
        let seen = node.leader().unwrap();
        assert_eq!(
            (&seen.candidate_id, seen.token),
            (&leader.candidate_id, leader.token)
        );
        assert!(seen.lease_remaining <= TTL);
        assert_eq!(node.is_leader(), node.candidate_id() == leader.candidate_id);
        assert_eq!(node.token(), node.is_leader().then_some(leader.token));
    }
    let leading = nodes.iter().filter(|n| n.is_leader()).count();
    assert_eq!(leading, 1);
}

/// Closing the leader hands over at once (no TTL wait) under a larger token.
pub fn close_hands_over_with_a_larger_token(url: &str, name: &str) {
    let a = election(url, name);
    let ta = a.wait_for_leadership(WAIT).unwrap();
    let b = election(url, name);
    let events = b.events();
    while b.leader().is_none() {
        events.recv_timeout(WAIT).unwrap();
    }
    let start = Instant::now();
    a.close();
    let tb = granted(&events);
    assert!(tb > ta, "{tb} > {ta}");
    // Far below the TTL: the release woke b instead of its expiry timer.
    assert!(start.elapsed() < TTL, "handover took {:?}", start.elapsed());
}

/// A resigning leader steps down at once and another candidate takes over.
pub fn resign_hands_over(url: &str, name: &str) {
    let a = election(url, name);
    let ta = a.wait_for_leadership(WAIT).unwrap();
    let b = election(url, name);
    let a_events = a.events();
    let b_events = b.events();
    a.resign().unwrap();
    assert!(!a.is_leader());
    assert_eq!(revoked(&a_events), (ta, RevokeReason::Resigned));
    assert!(granted(&b_events) > ta);
}

/// The store loses the election's keys: the leader notices at its next renewal, and the next
/// grant (to whoever wins it) still carries a larger token.
pub fn tokens_grow_after_the_store_lost_its_keys(url: &str, name: &str, wipe: &dyn Fn()) {
    let a = election(url, name);
    let ta = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    let b = election(url, name);
    let b_events = b.events();
    wipe();
    let (token, reason) = revoked(&events);
    assert_eq!(token, ta);
    // A restart may also fail a renewal or two before the lease is found missing.
    assert!(
        matches!(
            reason,
            RevokeReason::LeaseLost | RevokeReason::StoreUnreachable
        ),
        "{reason}"
    );
    let next = loop {
        match (events.try_recv(), b_events.try_recv()) {
            (Some(Event::Granted { token }), _) | (_, Some(Event::Granted { token })) => {
                break token
            }
            (None, None) => std::thread::sleep(Duration::from_millis(5)),
            _ => {}
        }
    };
    assert!(next > ta, "{next} > {ta}");
}

/// `current_leader` reads the lease straight from the store.
pub fn status_reads_the_holder(url: &str, name: &str) {
    let reader = || Election::builder(url, name).current_leader().unwrap();
    assert_eq!(reader(), None);
    let a = election(url, name);
    let token = a.wait_for_leadership(WAIT).unwrap();
    let status = reader().expect("a leader");
    assert_eq!(status.candidate_id, a.candidate_id());
    assert_eq!(status.token, token);
    assert_eq!(status.pid, std::process::id());
    assert!(status.lease_remaining > Duration::ZERO && status.lease_remaining <= TTL);
    a.close();
    assert_eq!(reader(), None);
}

/// Many elections in one process: each has its own leader, over one shared connection.
pub fn many_elections_share_a_connection(url: &str, name: &str, clients: &dyn Fn() -> usize) {
    let before = clients();
    let elections: Vec<Election> = (0..50)
        .map(|i| election(url, &format!("{name}-{i}")))
        .collect();
    for e in &elections {
        e.wait_for_leadership(WAIT).unwrap();
    }
    let added = clients().saturating_sub(before);
    assert!(added <= 1, "{added} new connections for 50 elections");
}

/// Anyone can ask the leader to hand over (`baton resign`): the leader resigns through its own
/// release path and another candidate takes over; nobody's lease is deleted by the asker.
pub fn a_resign_request_reaches_the_leader(url: &str, name: &str) {
    let ask = || Election::builder(url, name).request_resign().unwrap();
    assert_eq!(ask(), None, "nobody leads yet");
    let a = election(url, name);
    let ta = a.wait_for_leadership(WAIT).unwrap();
    let b = election(url, name);
    let (a_events, b_events) = (a.events(), b.events());
    while b.leader().is_none() {
        b_events.recv_timeout(WAIT).unwrap();
    }
    let start = Instant::now();
    let asked = ask().expect("the leader was asked");
    assert_eq!(
        (asked.candidate_id.as_str(), asked.token),
        (a.candidate_id(), ta)
    );
    assert_eq!(revoked(&a_events), (ta, RevokeReason::Resigned));
    assert!(granted(&b_events) > ta);
    // A push, not the leader's next renewal or the lease's expiry.
    assert!(
        start.elapsed() < TTL / 3,
        "handover took {:?}",
        start.elapsed()
    );
}

/// A request the store runs after baton stopped waiting for it, as one stuck in a paused
/// server's socket buffer runs when the server resumes. The follower reaches the store at
/// `held_url`, through a proxy that `hold()` makes keep back what the follower sends, and
/// `let_through` lets reach the server once the follower gave up on that connection (it
/// returns whether the server answered). The leader leaves (the follower, held, does not hear
/// the release); the follower's acquire at the lease's expiry times out, and runs only after
/// the follower read the store again: a grant it never heard of, which its reads before
/// showed free. It takes that lease again at once when a later read shows it, instead of
/// leaving the election leaderless until it runs out.
pub fn a_grant_run_after_its_request_timed_out_is_taken_at_once(
    url: &str,
    held_url: &str,
    name: &str,
    hold: &dyn Fn(),
    let_through: &dyn Fn(Duration) -> bool,
) {
    let ttl = Duration::from_secs(2);
    let build = |url: &str| {
        Election::builder(url, name)
            .ttl(ttl)
            .renew_interval(ttl / 8)
            .build()
            .expect("build election")
    };
    let a = build(url);
    let first = a.wait_for_leadership(WAIT).unwrap();
    let b = build(held_url);
    let events = b.events();
    while b.leader().is_none() {
        events
            .recv_timeout(WAIT)
            .expect("the follower sees the leader");
    }
    hold();
    a.close();
    // The follower read the store after giving up on its acquire: it saw the lease free (and,
    // on a store where it does not hold off, took it).
    let mut granted = None;
    while granted.is_none() {
        match events.recv_timeout(WAIT).expect("the follower reads again") {
            Event::Granted { token } => granted = Some(token),
            Event::LeaderChanged(l)
                if l.as_ref().map(|l| l.candidate_id.as_str()) != Some(a.candidate_id()) =>
            {
                break
            }
            _ => {}
        }
    }
    assert!(
        let_through(WAIT),
        "the follower's acquire, held until after its next read, ran"
    );
    let late = Instant::now();
    let token = granted.unwrap_or_else(|| loop {
        let left = (ttl / 2).saturating_sub(late.elapsed());
        match events.recv_timeout(left) {
            Ok(Event::Granted { token }) => break token,
            Ok(_) => continue,
            Err(_) => panic!(
                "the follower did not lead within {:?} of its late grant: it waited for that grant to expire",
                ttl / 2
            ),
        }
    });
    assert!(token > first, "{token} > {first}");
}
