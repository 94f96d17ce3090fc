//! The store suite behind Redis Sentinel, and a failover the election follows.

mod suite;

use std::time::{Duration, Instant};

use baton_testkit::RedisSentinel;
use suite::WAIT;

#[test]
fn the_store_suite_passes_behind_sentinel_and_follows_a_failover() {
    let mut sentinel = RedisSentinel::start();
    let url = sentinel.url();
    suite::one_leader_among_three(&url, "one");
    suite::close_hands_over_with_a_larger_token(&url, "close");
    suite::status_reads_the_holder(&url, "status");
    suite::a_resign_request_reaches_the_leader(&url, "ask");

    // The replica acknowledges grants, so waiting for it still elects a leader.
    let replicated = baton::Election::builder(&url, "replicated")
        .ttl(Duration::from_millis(600))
        .wait_for_replicas(1, Duration::from_millis(150))
        .build()
        .unwrap();
    replicated.wait_for_leadership(WAIT).unwrap();
    replicated.close();

    let a = suite::election(&url, "failover");
    let before = a.wait_for_leadership(WAIT).unwrap();
    sentinel.fail_over();
    // The election keeps (or regains) leadership on the promoted replica.
    let deadline = Instant::now() + Duration::from_secs(30);
    let lease = "baton:{failover}:lease";
    while !(a.is_leader() && sentinel.replica.cmd(&["EXISTS", lease]).trim() == ":1") {
        assert!(Instant::now() < deadline, "no leader on the new master");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(a.token().unwrap() >= before);
    let status = baton::Election::builder(&url, "failover")
        .current_leader()
        .unwrap()
        .unwrap();
    assert_eq!(status.candidate_id, a.candidate_id());
}
