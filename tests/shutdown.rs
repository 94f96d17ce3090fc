//! `baton::shutdown()` acts on the whole process, so it has a test binary of its own.

mod suite;

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
        // Released, not left to expire: the store holds no lease right after shutdown returns.
        let lease = format!("baton:{{{job}}}:lease");
        assert_eq!(redis.cmd(&["EXISTS", &lease]).trim(), ":0", "{job}");
    }
}
