//! The store suite and Redis-specific behaviour against a real standalone redis-server.

mod suite;

use std::time::Duration;

use baton::{Election, Error, RevokeReason};
use baton_testkit::RedisServer;
use suite::WAIT;

fn clients(redis: &RedisServer) -> usize {
    let info = redis.cmd(&["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("connected_clients")
}

#[test]
fn one_leader_among_three() {
    let redis = RedisServer::start();
    suite::one_leader_among_three(&redis.url(), "one");
}

#[test]
fn close_hands_over_with_a_larger_token() {
    let redis = RedisServer::start();
    suite::close_hands_over_with_a_larger_token(&redis.url(), "close");
}

#[test]
fn resign_hands_over() {
    let redis = RedisServer::start();
    suite::resign_hands_over(&redis.url(), "resign");
}

#[test]
fn a_resign_request_reaches_the_leader() {
    let redis = RedisServer::start();
    suite::a_resign_request_reaches_the_leader(&redis.url(), "ask");
}

#[test]
fn tokens_grow_after_a_restart_without_persistence() {
    let redis = std::sync::Mutex::new(RedisServer::start());
    let url = redis.lock().unwrap().url();
    suite::tokens_grow_after_the_store_lost_its_keys(&url, "restart", &|| {
        redis.lock().unwrap().restart()
    });
}

#[test]
fn status_reads_the_holder() {
    let redis = RedisServer::start();
    suite::status_reads_the_holder(&redis.url(), "status");
}

#[test]
fn many_elections_share_a_connection() {
    let redis = RedisServer::start();
    suite::many_elections_share_a_connection(&redis.url(), "many", &|| clients(&redis));
}

#[test]
fn a_paused_store_makes_the_leader_step_down_then_recover() {
    let redis = RedisServer::start();
    let a = suite::election(&redis.url(), "outage");
    let token = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    redis.pause();
    let reason = loop {
        if let baton::Event::Revoked { token: t, reason } = events.recv_timeout(WAIT).unwrap() {
            assert_eq!(t, token);
            break reason;
        }
    };
    assert_eq!(reason, RevokeReason::StoreUnreachable);
    assert!(!a.is_leader());
    redis.resume();
    let again = a.wait_for_leadership(WAIT).unwrap();
    assert!(again > token);
}

#[test]
fn an_unreachable_store_is_reported_with_the_url() {
    let port = baton_testkit::free_port();
    let err = Election::builder(format!("redis://u:pw@127.0.0.1:{port}"), "x")
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::StoreUnreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{port}")) && !msg.contains("pw"),
        "{msg}"
    );
}

#[test]
fn bad_configuration_is_reported_before_connecting() {
    let err = Election::builder("redis://127.0.0.1:1", "a{b}")
        .ttl(Duration::from_millis(10))
        .build()
        .unwrap_err();
    let Error::Config(config) = err else {
        panic!("expected a configuration error, got {err:?}");
    };
    let settings: Vec<_> = config.problems.iter().map(|p| p.setting).collect();
    assert_eq!(settings, ["ttl", "election"]);
}

/// The `ACL SETUSER` line exactly as the README gives it to users.
fn acl_line() -> &'static str {
    include_str!("../README.md")
        .lines()
        .find(|l| l.starts_with("ACL SETUSER baton "))
        .expect("README.md shows the ACL SETUSER line")
}

#[test]
fn an_acl_user_limited_to_batons_keys_and_channels_works() {
    let redis = RedisServer::start();
    let args: Vec<&str> = acl_line().split_whitespace().collect();
    assert_eq!(redis.cmd(&args).trim(), "+OK");
    let url = format!("redis://baton:change-me@127.0.0.1:{}", redis.port());
    suite::close_hands_over_with_a_larger_token(&url, "acl");
    suite::status_reads_the_holder(&url, "acl-status");
    // The same user may not touch other keys.
    redis.cmd(&[
        "ACL", "SETUSER", "other", "on", ">pw", "~other:*", "&other:*", "+@all",
    ]);
    let err = Election::builder(
        format!("redis://other:pw@127.0.0.1:{}", redis.port()),
        "acl",
    )
    .build()
    .unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.to_lowercase().contains("noperm") && msg.contains("ACL SETUSER"),
        "{msg}"
    );
}

/// A user who may not subscribe still elects (handover then waits for expiry), and every
/// failed subscription is counted, not only logged.
#[test]
fn failed_subscriptions_are_counted() {
    let redis = RedisServer::start();
    redis.cmd(&[
        "ACL",
        "SETUSER",
        "deaf",
        "on",
        ">pw",
        "~baton:*",
        "resetchannels",
        "+@all",
    ]);
    let url = format!("redis://deaf:pw@127.0.0.1:{}", redis.port());
    let deaf = Election::builder(url, "deaf").build().unwrap();
    assert!(deaf.subscription_failures() >= 1);
    assert!(deaf.wait_for_leadership(WAIT).is_ok());
    let heard = Election::builder(redis.url(), "heard").build().unwrap();
    assert_eq!(heard.subscription_failures(), 0);
}

#[test]
fn a_listener_that_never_reads_does_not_starve_renewals() {
    let redis = RedisServer::start();
    let a = suite::election(&redis.url(), "deaf");
    let _never_read = a.events();
    let token = a.wait_for_leadership(WAIT).unwrap();
    // Several lease periods pass while events pile up unread.
    let until = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < until {
        assert_eq!(a.token(), Some(token), "leadership must hold throughout");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_grant_no_replica_acknowledged_is_never_reported() {
    let redis = RedisServer::start();
    let lonely = Election::builder(redis.url(), "replicated")
        .ttl(Duration::from_millis(600))
        .wait_for_replicas(1, Duration::from_millis(50))
        .build()
        .unwrap();
    // Without replicas every grant is given back: several attempts, never a leader.
    assert!(lonely.wait_for_leadership(Duration::from_secs(2)).is_err());
    assert!(!lonely.is_leader());
}

/// A grant kept because no replica acknowledged it is given back by `close()`, not left to
/// expire (here a minute): the next instance of a redeploy takes over at once.
#[test]
fn close_gives_back_a_grant_no_replica_acknowledged() {
    let redis = RedisServer::start();
    let lonely = Election::builder(redis.url(), "unacked")
        .ttl(Duration::from_secs(60))
        .wait_for_replicas(1, Duration::from_millis(50))
        .build()
        .unwrap();
    let holder = || {
        Election::builder(redis.url(), "unacked")
            .current_leader()
            .unwrap()
    };
    // The second grant proves the first went unacknowledged and was kept; 100ms later its
    // 50ms WAIT is over too, and the engine sits in its backoff (at least 1.5s) holding it.
    let deadline = std::time::Instant::now() + WAIT;
    let first = loop {
        if let Some(h) = holder() {
            break h.token;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "it never took the lease"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    while holder().is_some_and(|h| h.token == first) {
        assert!(std::time::Instant::now() < deadline, "it never tried again");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(!lonely.is_leader());
    lonely.close();
    assert!(
        holder().is_none(),
        "the unacknowledged grant outlived close()"
    );
}

/// TCP keepalive counts whole seconds: a sub-second connect_timeout must still connect.
#[test]
fn a_sub_second_connect_timeout_connects() {
    let redis = RedisServer::start();
    let e = Election::builder(redis.url(), "short")
        .connect_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    e.wait_for_leadership(WAIT).unwrap();
}

#[test]
fn renewals_are_counted_with_their_round_trips() {
    let redis = RedisServer::start();
    let ttl = Duration::from_millis(600);
    let e = Election::builder(redis.url(), "renewal-stats")
        .ttl(ttl)
        .build()
        .unwrap();
    e.wait_for_leadership(WAIT).unwrap();
    assert_eq!(e.renewal_stats().count, 0, "a grant is not a renewal");
    // A renewal every ttl / 3: no event announces one, so poll, bounded.
    let until = std::time::Instant::now() + WAIT;
    while e.renewal_stats().count < 3 {
        assert!(
            std::time::Instant::now() < until,
            "no 3 renewals within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = e.renewal_stats();
    assert!(stats.count >= 3, "{stats:?}");
    assert!(!stats.total.is_zero(), "round trips take time: {stats:?}");
}
