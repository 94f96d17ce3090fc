//! Faults users meet that the easy ones (SIGKILL, a restart that sends RST) do not show, each
//! against real servers: a store that stops answering without closing the socket, eviction, a
//! replica wait on a shared connection, a close or resign while a request hangs, a Cluster
//! shard that cannot load scripts, and lease data baton did not write.

mod suite;

#[path = "faults/freeze.rs"]
mod freeze;

use std::time::{Duration, Instant};

use baton::{Election, Error, Event, RevokeReason};
use baton_testkit::{RedisCluster, RedisSentinel, RedisServer};
use freeze::FreezeProxy;
use suite::WAIT;

fn election(url: &str, name: &str, ttl: Duration) -> Election {
    Election::builder(url, name)
        .ttl(ttl)
        .build()
        .expect("build")
}

/// The next `Revoked` within `within`, if any.
fn revoked_within(events: &baton::Events, within: Duration) -> Option<(u64, RevokeReason)> {
    let until = Instant::now() + within;
    loop {
        match events.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(Event::Revoked { token, reason }) => return Some((token, reason)),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// The next `Granted` within `within`, if any.
fn granted_within(events: &baton::Events, within: Duration) -> Option<u64> {
    let until = Instant::now() + within;
    loop {
        match events.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(Event::Granted { token }) => return Some(token),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// A connection that stops answering without an RST (a hung or powered-off host) is replaced
/// within about a ttl, and leadership returns over the new connection.
#[test]
fn a_silent_connection_is_replaced_and_leadership_returns() {
    let redis = RedisServer::start();
    let proxy = FreezeProxy::start(redis.port());
    let ttl = Duration::from_millis(800);
    let a = election(&proxy.url(), "silent", ttl);
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    let before = proxy.connections();
    proxy.freeze();
    let (token, reason) = revoked_within(&events, 2 * ttl).expect("the leader steps down");
    assert_eq!((token, reason), (first, RevokeReason::StoreUnreachable));
    // Leadership returns within 2 x ttl of the step-down (plus the lease's own expiry).
    let again = granted_within(&events, 4 * ttl).expect("leadership returns on a new connection");
    assert!(again > first);
    assert!(proxy.connections() > before, "a new connection was opened");
}

/// A follower whose request got no answer tries again as soon as its connection is replaced,
/// not after its retry backoff: the store answers again, and maybe nobody leads (a Cluster
/// master hung until a replica took over left elections leaderless that long, docs/chaos.md).
#[test]
fn a_follower_tries_again_as_soon_as_its_silent_connection_is_replaced() {
    let redis = RedisServer::start();
    let proxy = FreezeProxy::start(redis.port());
    let ttl = Duration::from_secs(2);
    // A backoff of 450-900ms, which the attempt after the replacement must not wait out.
    let retry = Duration::from_millis(900);
    let build = |url: &str| {
        Election::builder(url, "replaced")
            .ttl(ttl)
            .renew_interval(Duration::from_secs(1))
            .retry_interval(retry)
            .build()
            .expect("build")
    };
    let a = build(&redis.url());
    a.wait_for_leadership(WAIT).unwrap();
    let b = build(&proxy.url());
    let events = b.events();
    while b.leader().is_none() {
        events
            .recv_timeout(WAIT)
            .expect("the follower sees the leader");
    }
    let before = proxy.connections();
    // The follower hears nothing (the release's message included); its acquire at the
    // lease's expiry gets no answer, and its connection is replaced.
    proxy.freeze();
    a.close();
    assert!(
        proxy.accepted_more_than(before, WAIT),
        "the follower's silent connection is replaced"
    );
    let wait = Duration::from_millis(300);
    granted_within(&events, wait).unwrap_or_else(|| {
        panic!("the follower did not lead within {wait:?} of its new connection: it waited out its backoff")
    });
}

/// A follower's acquire that Redis runs after the follower gave up on it (suite).
#[test]
fn a_grant_run_after_its_request_timed_out_is_taken_at_once() {
    let redis = RedisServer::start();
    let proxy = FreezeProxy::start(redis.port());
    suite::a_grant_run_after_its_request_timed_out_is_taken_at_once(
        &redis.url(),
        &proxy.url(),
        "late",
        &|| proxy.hold(),
        &|within| proxy.let_through(within),
    );
}

/// A SIGSTOPped Sentinel master answers nothing and sends no RST: the connection is given up,
/// the sentinels are asked again, and leadership returns on the promoted replica.
#[test]
fn a_stopped_sentinel_master_is_left_for_the_promoted_replica() {
    let sentinel = RedisSentinel::start();
    let ttl = Duration::from_millis(800);
    let a = election(&sentinel.url(), "stopped-master", ttl);
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    sentinel.master.pause();
    let replica = sentinel.replica.port();
    let start = Instant::now();
    while sentinel.master_port() != replica {
        assert!(start.elapsed() < Duration::from_secs(30), "no promotion");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (token, _) = revoked_within(&events, 2 * ttl).expect("the leader steps down");
    assert_eq!(token, first);
    let again = granted_within(&events, 2 * ttl + Duration::from_secs(3))
        .expect("leadership returns on the promoted replica");
    assert!(again > first);
    sentinel.master.resume();
}

/// Under a volatile-* eviction policy the lease is never evicted (it has no TTL), so memory
/// pressure cannot hand a live leader's lease to another candidate.
#[test]
fn eviction_under_volatile_ttl_never_takes_a_live_lease() {
    let redis =
        RedisServer::start_with(&["--maxmemory", "4mb", "--maxmemory-policy", "volatile-ttl"]);
    let ttl = Duration::from_secs(2);
    let a = election(&redis.url(), "evict", ttl);
    a.wait_for_leadership(WAIT).unwrap();
    let b = election(&redis.url(), "evict", ttl);
    let (a_events, b_events) = (a.events(), b.events());
    // Volatile junk with long TTLs: volatile-ttl evicts the shortest TTL first.
    let fill = "for i = 1, 400 do redis.call('SET', 'junk:' .. ARGV[1] .. ':' .. i, string.rep('x', 1024), 'PX', 600000) end";
    let mut evicted = 0;
    for batch in 0..200 {
        let _ = redis.cmd(&["EVAL", fill, "0", &batch.to_string()]);
        evicted = stat(&redis, "evicted_keys");
        if evicted >= 2000 {
            break;
        }
    }
    assert!(
        evicted > 0,
        "the server evicted nothing; the test needs memory pressure"
    );
    assert_eq!(redis.cmd(&["EXISTS", "baton:{evict}:lease"]).trim(), ":1");
    assert_eq!(
        revoked_within(&a_events, ttl),
        None,
        "the leader kept its lease"
    );
    assert!(a.is_leader());
    assert_eq!(granted_within(&b_events, Duration::ZERO), None);
    assert!(!b.is_leader());
}

fn stat(redis: &RedisServer, field: &str) -> u64 {
    redis
        .cmd(&["INFO", "stats"])
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Under allkeys-*, nothing protects a key: build() refuses by name, unless accepted.
#[test]
fn allkeys_eviction_is_refused_at_build_unless_accepted() {
    let redis =
        RedisServer::start_with(&["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"]);
    let err = Election::builder(redis.url(), "allkeys")
        .build()
        .unwrap_err();
    let Error::Config(config) = &err else {
        panic!("expected a configuration error, got {err:?}");
    };
    assert_eq!(config.problems[0].setting, "allow_eviction");
    let msg = err.to_string();
    for needle in [
        "maxmemory-policy",
        "allkeys-lru",
        "noeviction",
        "allow_eviction(true)",
    ] {
        assert!(msg.contains(needle), "{needle} missing from: {msg}");
    }
    let accepted = Election::builder(redis.url(), "allkeys")
        .allow_eviction(true)
        .build()
        .unwrap();
    accepted.wait_for_leadership(WAIT).unwrap();
}

/// `WAIT` blocks the connection it runs on: one election's replica wait must not hold back
/// another election's renewals.
#[test]
fn one_elections_replica_wait_never_delays_anothers_renewals() {
    // No replica: every WAIT runs to its timeout.
    let redis = RedisServer::start();
    let waiting = Election::builder(redis.url(), "waits")
        .ttl(Duration::from_secs(3))
        .wait_for_replicas(1, Duration::from_millis(900))
        .build()
        .unwrap();
    let quick = election(&redis.url(), "quick", Duration::from_millis(600));
    quick.wait_for_leadership(WAIT).unwrap();
    let events = quick.events();
    assert_eq!(
        revoked_within(&events, Duration::from_secs(4)),
        None,
        "a renewal waited behind another election's WAIT"
    );
    assert!(!waiting.is_leader(), "no replica acknowledged its grant");
}

/// `close()` and `resign()` end belief at once, even while a renewal hangs on a stopped store,
/// and a resign that cannot be confirmed says so instead of claiming the election is closed.
#[test]
fn close_and_resign_end_belief_at_once_on_a_stuck_store() {
    let redis = RedisServer::start();
    let ttl = Duration::from_secs(6);
    let a = election(&redis.url(), "stuck-close", ttl);
    let b = election(&redis.url(), "stuck-resign", ttl);
    a.wait_for_leadership(WAIT).unwrap();
    b.wait_for_leadership(WAIT).unwrap();
    redis.pause();
    // Let the next renewals (every ttl / 3) go out and hang on the stopped server.
    std::thread::sleep(ttl / 3 + Duration::from_millis(300));
    assert!(a.is_leader() && b.is_leader(), "deadlines are still ahead");
    let err = b.resign().unwrap_err();
    assert!(
        matches!(err, Error::Timeout { what: "resign", .. }),
        "{err:?}"
    );
    assert!(!b.is_leader());
    a.close();
    assert!(!a.is_leader());
    assert!(a.is_closed());
    redis.resume();
}

/// A Cluster node that lost its script cache (a promoted replica) gets the script on that node
/// only: a shard that does not answer cannot stall renewals on a healthy one.
#[test]
fn cluster_script_reload_touches_only_the_keys_node() {
    let cluster = RedisCluster::start();
    let ttl = Duration::from_millis(900);
    let a = election(&cluster.url(), "noscript", ttl);
    a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    let home = cluster.master_for("baton:{noscript}:lease");
    let other = (0..100)
        .map(|i| cluster.master_for(&format!("other-{i}")))
        .find(|&m| m != home)
        .expect("another master");
    cluster.nodes[other].cmd(&["CLIENT", "PAUSE", "4000", "ALL"]);
    cluster.nodes[home].cmd(&["SCRIPT", "FLUSH"]);
    assert_eq!(
        revoked_within(&events, 3 * ttl),
        None,
        "renewals stalled on another shard"
    );
    assert!(a.is_leader());
}

/// Lease data that baton did not write is refused, never read as token 0 (which a fenced
/// resource would take for the oldest leader of all).
#[test]
fn unreadable_lease_fields_are_refused() {
    let redis = RedisServer::start();
    let far = (std::time::SystemTime::now() + Duration::from_secs(600))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    redis.cmd(&[
        "HSET",
        "baton:{bogus}:lease",
        "candidate",
        "someone",
        "host",
        "h",
        "pid",
        "1",
        "token",
        "not-a-number",
        "since",
        "1",
        "expires",
        &far,
    ]);
    let err = Election::builder(redis.url(), "bogus")
        .current_leader()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("token") && msg.contains("not-a-number"),
        "{msg}"
    );
}

/// Lua numbers are exact below 2^53: a counter beyond it is refused, never repeated.
#[test]
fn a_token_counter_past_2_pow_53_is_refused_not_repeated() {
    let redis = RedisServer::start();
    redis.cmd(&["SET", "baton:{big}:token", "9007199254740993"]);
    let a = election(&redis.url(), "big", Duration::from_millis(600));
    assert!(a.wait_for_leadership(Duration::from_secs(2)).is_err());
    assert_eq!(
        redis.cmd(&["GET", "baton:{big}:token"]).trim_end(),
        "9007199254740993",
        "no token was issued"
    );
}

/// Candidate ids carry 64 random bits.
#[test]
fn candidate_ids_carry_a_64_bit_nonce() {
    let e = Election::builder("memory://ids", "ids").build().unwrap();
    let nonce = e.candidate_id().rsplit(':').next().unwrap();
    assert_eq!(nonce.len(), 16, "{}", e.candidate_id());
    assert!(u64::from_str_radix(nonce, 16).is_ok());
}

/// A leader whose connection drops (the server died or restarted, maybe without its data)
/// stops believing at once, not at its deadline: a follower may win the lease the moment the
/// server is back.
#[test]
fn a_dropped_connection_ends_belief_at_once() {
    let mut redis = RedisServer::start();
    let ttl = Duration::from_secs(6);
    let a = election(&redis.url(), "dropped", ttl);
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    redis.kill();
    let (token, reason) =
        revoked_within(&events, ttl / 3).expect("belief ends with the connection");
    assert_eq!((token, reason), (first, RevokeReason::StoreUnreachable));
    assert!(!a.is_leader());
    redis.restart();
    assert!(granted_within(&events, 3 * ttl).expect("leads again") > first);
}

/// With `resign_on_request(false)`, a resign request is reported and the leader keeps its lease
/// until the application resigns, so that its work stops before anyone else can start.
#[test]
fn a_deferred_resign_request_is_reported_and_waits_for_resign() {
    let redis = RedisServer::start();
    let ttl = Duration::from_millis(900);
    let a = Election::builder(redis.url(), "deferred")
        .ttl(ttl)
        .resign_on_request(false)
        .build()
        .unwrap();
    let token = a.wait_for_leadership(WAIT).unwrap();
    let b = election(&redis.url(), "deferred", ttl);
    let (a_events, b_events) = (a.events(), b.events());
    Election::builder(redis.url(), "deferred")
        .request_resign()
        .unwrap()
        .expect("the leader was asked");
    let asked = loop {
        match a_events.recv_timeout(WAIT).expect("an event") {
            Event::ResignRequested { token } => break token,
            _ => continue,
        }
    };
    assert_eq!(asked, token);
    // Still leading, across renewals, until it resigns itself.
    assert_eq!(revoked_within(&a_events, 2 * ttl), None);
    assert!(a.is_leader() && !b.is_leader());
    a.resign().unwrap();
    assert!(granted_within(&b_events, WAIT).expect("b takes over") > token);
}

/// Leader `name` reaches `redis` through a proxy, a follower directly (two connections); once
/// the follower has seen the leader's lease, the proxy freezes (the leader keeps believing
/// until its deadline, never told) and `lose` makes the store lose the lease. The follower
/// must not lead while the leader still believes, and someone must lead once that belief ran
/// out: the follower, or the old leader, back on a new connection and knowing it stepped down.
fn lost_lease_is_not_taken_while_its_holder_believes(
    redis: &mut RedisServer,
    name: &str,
    lose: impl FnOnce(&mut RedisServer),
) {
    let proxy = FreezeProxy::start(redis.port());
    let ttl = Duration::from_secs(2);
    let leader = election(&proxy.url(), name, ttl);
    let first = leader.wait_for_leadership(WAIT).unwrap();
    let follower = election(&redis.url(), name, ttl);
    let until = Instant::now() + WAIT;
    while follower.leader().is_none() {
        assert!(Instant::now() < until, "the follower never saw the leader");
        std::thread::sleep(Duration::from_millis(5));
    }
    proxy.freeze();
    lose(redis);
    let until = Instant::now() + 4 * ttl;
    let mut led_again = false;
    while Instant::now() < until && !led_again {
        let (old, new) = (leader.token(), follower.is_leader());
        assert!(
            !(new && old.is_some()),
            "the follower took the lost lease while the cut-off leader still believed"
        );
        led_again = new || old.is_some_and(|t| t > first);
        std::thread::sleep(Duration::from_micros(200));
    }
    assert!(led_again, "nobody leads once the old lease has run out");
}

/// A server that comes back without its data (no persistence, or a failover to a replica that
/// missed the write): after the dropped connection, a follower that saw another holder waits
/// one ttl before taking a lease it finds free.
#[test]
fn a_follower_waits_out_the_old_lease_after_the_store_lost_it() {
    let mut redis = RedisServer::start();
    lost_lease_is_not_taken_while_its_holder_believes(&mut redis, "lost-lease", |r| {
        r.kill();
        r.restart();
    });
}

/// A flush (or a `DEL` by hand), with a message on the election's channel that wakes the
/// follower at once and no dropped connection: the follower finds no record of the lease at
/// all (a release leaves one) and waits as after a restart.
#[test]
fn a_follower_does_not_take_a_lease_the_store_lost_without_a_drop() {
    let mut redis = RedisServer::start();
    lost_lease_is_not_taken_while_its_holder_believes(&mut redis, "flushed", |r| {
        r.cmd(&["FLUSHALL"]);
        r.cmd(&["PUBLISH", "baton:{flushed}:released", "flushed"]);
    });
}
