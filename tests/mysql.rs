//! The store suite and MySQL-specific behaviour against real MariaDB servers (Debian's
//! `mariadb-server` package, 10.11, started by testkit).
//!
//! `make test-sql` runs these; `cargo test` without MariaDB installed can skip them with
//! `BATON_SKIP_MYSQL=1` (what `make test-rust` sets, since `test-sql` runs them).
//!
//! MySQL has no push: the suite's cases that time a handover against the ttl do not apply;
//! their MySQL versions below check the same outcome (a larger token) without the bound.

mod suite;

#[allow(dead_code)]
#[path = "chaos/proxy.rs"]
mod proxy;

#[path = "faults/freeze.rs"]
mod freeze;

use std::time::{Duration, Instant};

use baton::{Election, Event, RevokeReason};
use baton_testkit::MariaDbServer;
use suite::WAIT;

fn skip() -> bool {
    let skip = std::env::var("BATON_SKIP_MYSQL").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("skipped: BATON_SKIP_MYSQL=1 (make test-sql runs this test)");
    }
    skip
}

fn revoked(events: &baton::Events) -> (u64, RevokeReason) {
    loop {
        if let Event::Revoked { token, reason } = events.recv_timeout(WAIT).expect("a revocation") {
            return (token, reason);
        }
    }
}

/// A follower's acquire that MariaDB runs after the follower gave up on it (suite).
#[test]
fn a_grant_run_after_its_request_timed_out_is_taken_at_once() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    let proxy = freeze::FreezeProxy::start(db.port());
    let held = db
        .url()
        .replace(&format!(":{}/", db.port()), &format!(":{}/", proxy.port()));
    suite::a_grant_run_after_its_request_timed_out_is_taken_at_once(
        &db.url(),
        &held,
        "late",
        &|| proxy.hold(),
        &|within| proxy.let_through(within),
    );
}

#[test]
fn one_leader_among_three() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    suite::one_leader_among_three(&db.url(), "one");
}

#[test]
fn resign_hands_over() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    suite::resign_hands_over(&db.url(), "resign");
}

#[test]
fn status_reads_the_holder_in_another_table_with_odd_names() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    suite::status_reads_the_holder(&db.url(), "status");
    let url = format!(
        "{}?table=app_leases",
        db.url().replace("mysql://", "mariadb://")
    );
    suite::status_reads_the_holder(&url, "a'b\"c `x` Ünï");
    assert_eq!(db.sql("SELECT COUNT(*) FROM app_leases"), "1");
}

#[test]
fn tokens_grow_after_the_store_lost_its_rows() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    suite::tokens_grow_after_the_store_lost_its_keys(&db.url(), "wiped", &|| {
        db.sql("DELETE FROM baton_leases");
    });
}

/// A close releases at once (the row keeps its token); the follower, with no push to wake
/// it, takes over when the lease it last saw would have expired, under a larger token.
#[test]
fn close_hands_over_with_a_larger_token_and_the_row_keeps_it() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    let url = db.url();
    let a = suite::election(&url, "close");
    let events = a.events();
    a.wait_for_leadership(WAIT).unwrap();
    let first = suite::close_reporting_last_grant(&a, &events);
    // Read before another candidate exists: one built earlier may already hold the row.
    assert_eq!(
        db.sql("SELECT COALESCE(candidate, 'none'), token FROM baton_leases WHERE name = 'close'"),
        format!("none\t{first}"),
        "a release clears the holder and keeps the token"
    );
    let b = suite::election(&url, "close");
    let next = b.wait_for_leadership(WAIT).unwrap();
    assert!(next > first, "{next} > {first}");
}

/// `baton resign` on MySQL: the leader sees the mark at its next renewal and resigns.
#[test]
fn a_resign_request_reaches_the_leader_at_its_next_renewal() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    let url = db.url();
    let ask = || Election::builder(&url, "ask").request_resign().unwrap();
    assert_eq!(ask(), None, "nobody leads yet");
    let a = suite::election(&url, "ask");
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    let b = suite::election(&url, "ask");
    let asked = ask().expect("the leader was asked");
    assert_eq!(
        (asked.candidate_id.as_str(), asked.token),
        (a.candidate_id(), first)
    );
    assert_eq!(revoked(&events), (first, RevokeReason::Resigned));
    let next = b.wait_for_leadership(WAIT).unwrap();
    assert!(next > first, "{next} > {first}");
}

/// A restart of the database while leading: the leader stops believing when it finds its
/// connection dropped (the restarted or failed-over server may have lost its row), long before
/// its 30 s deadline, and leads again under a larger token once the server is back.
#[test]
fn a_database_restart_ends_belief_at_the_drop_and_leadership_returns_with_a_larger_token() {
    if skip() {
        return;
    }
    let mut db = MariaDbServer::start();
    let a = Election::builder(db.url(), "restart")
        .ttl(Duration::from_secs(30))
        .renew_interval(Duration::from_millis(500))
        .retry_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    db.restart();
    // WAIT (10 s) is a third of the deadline: a revocation within it is the drop's.
    let (token, reason) = revoked(&events);
    assert_eq!((token, reason), (first, RevokeReason::StoreUnreachable));
    let again = a.wait_for_leadership(WAIT).unwrap();
    assert!(again > first, "{again} > {first}");
}

/// Connections that stop answering without an RST (a hung or powered-off host), again and
/// again, under the followers of eight elections (one process, one link) while their leaders
/// (another process, a healthy link) go on. A request that gets no answer gives its connection
/// up, never to be reused; so when the leaders hand over, the followers take every election
/// over new connections at the released leases' expiry (no push on MySQL).
#[test]
fn hung_connections_are_replaced_so_followers_still_take_over() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    let ttl = Duration::from_secs(1);
    let link = proxy::Proxy::start(db.port());
    let via_link = db
        .url()
        .replace(&format!(":{}/", db.port()), &format!(":{}/", link.port()));
    let build = |url: &str, i: usize| {
        Election::builder(url, format!("hung-{i}"))
            .ttl(ttl)
            .build()
            .unwrap()
    };
    let leaders: Vec<Election> = (0..8).map(|i| build(&db.url(), i)).collect();
    let firsts: Vec<u64> = leaders
        .iter()
        .map(|e| e.wait_for_leadership(WAIT).unwrap())
        .collect();
    let followers: Vec<Election> = (0..8).map(|i| build(&via_link, i)).collect();
    for f in &followers {
        let events = f.events();
        while f.leader().is_none() {
            events
                .recv_timeout(WAIT)
                .expect("the follower sees the leader");
        }
    }
    // Each round hangs the connections open now; the followers' next attempts (once a ttl,
    // at the leases' expiry) run into them.
    for _ in 0..4 {
        link.hang();
        std::thread::sleep(2 * ttl);
    }
    assert!(
        leaders.iter().all(Election::is_leader),
        "the leaders' link is healthy"
    );
    let events: Vec<_> = followers.iter().map(|f| f.events()).collect();
    let closed = Instant::now();
    drop(leaders);
    for (i, (events, first)) in events.iter().zip(&firsts).enumerate() {
        // The released lease's expiry (a ttl), the follower's attempt, and a ttl of allowance.
        let left = (closed + 3 * ttl).saturating_duration_since(Instant::now());
        let token = loop {
            match events.recv_timeout(left) {
                Ok(Event::Granted { token }) => break token,
                Ok(_) => continue,
                Err(_) => panic!("election {i}: the follower did not take over within 3 x ttl"),
            }
        };
        assert!(token > *first, "{token} > {first}");
    }
}

/// The least-privilege setup of docs/mysql.md, run verbatim: a user with exactly the
/// documented grants runs elections; with one grant less, the error names the grants.
#[test]
fn the_documented_grants_are_enough() {
    if skip() {
        return;
    }

    let db = MariaDbServer::start();
    db.sql(&documented_block("grants").replace("change-me", "pw1"));
    let url = db.url_as("baton", "pw1");
    // A close, not a resign: without a push, a follower wakes at the released lease's expiry,
    // which a resigning leader's one-ttl hold-back races (it may take the lease back first).
    let a = suite::election(&url, "grants");
    let first = a.wait_for_leadership(WAIT).unwrap();
    let b = suite::election(&url, "grants");
    a.close();
    let next = b.wait_for_leadership(WAIT).unwrap();
    assert!(next > first, "{next} > {first}");
    suite::status_reads_the_holder(&url, "grants-status");
    db.sql("REVOKE UPDATE ON baton.baton_leases FROM 'baton'@'%'");
    let err = Election::builder(&url, "grants")
        .request_resign()
        .unwrap_err()
        .to_string();
    assert!(err.contains("GRANT SELECT, INSERT, UPDATE"), "{err}");
}

/// `create_table=false` and no table: `build()` fails, naming the option and the DDL that
/// docs/mysql.md shows.
#[test]
fn a_missing_table_with_create_table_off_names_the_option_and_the_ddl() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    let url = format!("{}?create_table=false", db.url());
    let err = Election::builder(&url, "off")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("create_table=false"), "{err}");
    let ddl = documented_block("ddl");
    assert!(
        err.contains(ddl.trim().trim_end_matches(';')),
        "{err}\nvs docs:\n{ddl}"
    );
    assert!(
        db.try_sql("SELECT 1 FROM baton_leases").is_err(),
        "nothing was created"
    );
    suite::election(&db.url(), "off")
        .wait_for_leadership(WAIT)
        .unwrap();
    assert_eq!(db.sql("SELECT COUNT(*) FROM baton_leases"), "1");
}

/// Leases are timed by the server: what a reader sees left is at most the ttl.
#[test]
fn lease_left_is_bounded_by_the_ttl() {
    if skip() {
        return;
    }
    let db = MariaDbServer::start();
    let ttl = Duration::from_secs(3);
    let a = Election::builder(db.url(), "left")
        .ttl(ttl)
        .build()
        .unwrap();
    a.wait_for_leadership(WAIT).unwrap();
    let seen = Election::builder(db.url(), "left")
        .current_leader()
        .unwrap()
        .expect("a leader");
    assert!(seen.lease_remaining > Duration::ZERO && seen.lease_remaining <= ttl);
}

/// The SQL block of docs/mysql.md that follows `<!-- baton:NAME -->`.
fn documented_block(name: &str) -> String {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/mysql.md"))
        .expect("docs/mysql.md");
    let marker = format!("<!-- baton:{name} -->");
    let after = docs
        .split_once(&marker)
        .unwrap_or_else(|| panic!("docs/mysql.md has no {marker}"))
        .1;
    let body = after
        .split_once("```sql\n")
        .expect("a ```sql block after the marker")
        .1;
    body.split_once("```")
        .expect("the block's end")
        .0
        .to_string()
}
