//! `baton::shutdown()` acts on the whole process, so it has a test binary of its own.

mod suite;

use std::time::{Duration, Instant};

use baton::Election;
use baton_testkit::RedisServer;
use suite::WAIT;

#[test]
fn shutdown_releases_every_lease_of_the_process() {
    let redis = RedisServer::start();
    let jobs = ["report", "sweeper", "warmup"];
    let elections: Vec<Election> = jobs
        .iter()
        .map(|j| suite::election(&redis.url(), j))
        .collect();
    for e in &elections {
        e.wait_for_leadership(WAIT).unwrap();
    }
    baton::shutdown();
    for (e, job) in elections.iter().zip(jobs) {
        assert!(e.is_closed() && !e.is_leader());
        // Released, not left to expire: the lease ended right after shutdown returns (its key
        // stays, expired, so that a missing key means a store that lost it).
        let lease = format!("baton:{{{job}}}:lease");
        assert_eq!(redis.cmd(&["HGET", &lease, "expires"]).trim(), "0", "{job}");
    }
    shutdown_of_many_stuck_elections_returns_within_its_bound();
}

/// With the store stopped, every release hangs: shutdown still returns within its documented
/// bound, with every election closed and no belief left, however many elections there are.
/// (Called from the test above: shutdown acts on every election of the process, so the two
/// must not run in parallel.)
fn shutdown_of_many_stuck_elections_returns_within_its_bound() {
    let redis = RedisServer::start();
    let ttl = Duration::from_secs(6);
    let elections: Vec<Election> = (0..8)
        .map(|i| {
            Election::builder(redis.url(), format!("stuck-{i}"))
                .ttl(ttl)
                .build()
                .unwrap()
        })
        .collect();
    for e in &elections {
        e.wait_for_leadership(WAIT).unwrap();
    }
    redis.pause();
    // Let the renewals (every ttl / 3) go out and hang on the stopped server.
    std::thread::sleep(ttl / 3 + Duration::from_millis(300));
    let start = Instant::now();
    baton::shutdown();
    let took = start.elapsed();
    redis.resume();
    assert!(elections.iter().all(|e| e.is_closed() && !e.is_leader()));
    // One bound for all, not one per election (8 x 2.5s before).
    assert!(
        took < baton::SHUTDOWN_BOUND + Duration::from_secs(1),
        "shutdown took {took:?}"
    );
}
