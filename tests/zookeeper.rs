//! The store suite and ZooKeeper-specific behaviour against real ZooKeeper servers: a
//! standalone server and a three-node ensemble (Debian's `zookeeper` package).
//!
//! `make test-zookeeper` runs these; `cargo test` without ZooKeeper installed can skip them
//! with `BATON_SKIP_ZOOKEEPER=1` (what `make test-rust` sets, since `test-zookeeper` runs them).

mod runners;
mod suite;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton::{Election, Event, RevokeReason};
use baton_testkit::{ZooKeeperEnsemble, ZooKeeperServer};
use suite::WAIT;

const BATON: &str = env!("CARGO_BIN_EXE_baton");

fn skip() -> bool {
    let skip = std::env::var("BATON_SKIP_ZOOKEEPER").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("skipped: BATON_SKIP_ZOOKEEPER=1 (make test-zookeeper runs this test)");
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

fn granted(events: &baton::Events) -> u64 {
    loop {
        if let Event::Granted { token } = events.recv_timeout(WAIT).expect("a grant") {
            return token;
        }
    }
}

fn with_ttl(url: &str, name: &str, ttl: Duration) -> Election {
    Election::builder(url, name)
        .ttl(ttl)
        .build()
        .expect("build election")
}

#[test]
fn one_leader_among_three() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    suite::one_leader_among_three(&zk.url(), "one");
}

#[test]
fn close_hands_over_with_a_larger_token() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    suite::close_hands_over_with_a_larger_token(&zk.url(), "close");
}

#[test]
fn resign_hands_over() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    suite::resign_hands_over(&zk.url(), "resign");
}

#[test]
fn a_resign_request_reaches_the_leader() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    suite::a_resign_request_reaches_the_leader(&zk.url(), "ask");
}

#[test]
fn status_reads_the_holder_under_a_chroot_with_odd_names() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    let url = format!("{}/apps/x", zk.url());
    suite::status_reads_the_holder(&url, "status");
    // ':' is fine in ZooKeeper, '/' and '%' are escaped: each name is its own election.
    suite::status_reads_the_holder(&url, "a/b:50%");
}

/// The suite's connection test, in ZooKeeper's terms: one session for reads and watches
/// (opened by `build()` with baton's default ttl) and one per distinct ttl, whatever the
/// number of elections.
#[test]
fn many_elections_share_two_sessions() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    let clients = || zk.metric("zk_num_alive_connections").expect("mntr answers") as usize;
    let before = clients();
    let elections: Vec<Election> = (0..50)
        .map(|i| suite::election(&zk.url(), &format!("many-{i}")))
        .collect();
    for e in &elections {
        e.wait_for_leadership(WAIT).unwrap();
    }
    let added = clients().saturating_sub(before);
    assert!(added <= 2, "{added} new connections for 50 elections");
}

#[test]
fn the_suite_passes_against_an_ensemble() {
    if skip() {
        return;
    }
    let zk = ZooKeeperEnsemble::start();
    let url = zk.url();
    suite::one_leader_among_three(&url, "one");
    suite::close_hands_over_with_a_larger_token(&url, "close");
    suite::resign_hands_over(&url, "resign");
    suite::a_resign_request_reaches_the_leader(&url, "ask");
    suite::status_reads_the_holder(&url, "status");
}

/// A leader process dies without a word (SIGKILL): its session expires `ttl` after the server
/// last heard from it, the node goes, and the waiting candidate's watch fires.
#[test]
fn a_killed_leader_process_is_replaced_at_session_expiry_with_a_larger_token() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    let ttl = Duration::from_secs(1);
    let mut leader = BatonRun::start(&zk.url(), "killed", "1s");
    let status = || {
        Election::builder(zk.url(), "killed")
            .current_leader()
            .unwrap()
    };
    let deadline = Instant::now() + WAIT;
    let first = loop {
        if let Some(s) = status() {
            break s;
        }
        assert!(Instant::now() < deadline, "baton run never led");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        first.lease_remaining, ttl,
        "the holder's ttl bounds its lease"
    );
    let b = with_ttl(&zk.url(), "killed", ttl);
    let events = b.events();
    while b.leader().is_none() {
        events.recv_timeout(WAIT).unwrap();
    }
    assert!(!b.is_leader());
    let killed = Instant::now();
    leader.kill();
    let token = granted(&events);
    let took = killed.elapsed();
    assert!(token > first.token, "{token} > {}", first.token);
    // Not before the session could expire, and soon after (a tick or two of the server).
    assert!(
        took >= ttl / 2,
        "took over after {took:?}, before the session expired"
    );
    assert!(took < ttl * 3, "took over after {took:?}");
}

/// Three `baton run` processes behave as on Redis: one command, takeover after SIGKILL at
/// session expiry under a larger token.
#[test]
fn three_baton_runs_run_one_command_and_a_killed_leaders_command_dies_with_it() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    runners::one_command_and_a_killed_leaders_command_dies_with_it(&zk.url(), "1s");
}

/// A graceful stop hands over at once: the lease (20s, the servers' longest session) is
/// longer than the test waits.
#[test]
fn three_baton_runs_hand_over_gracefully_without_waiting_for_the_lease() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    runners::a_graceful_stop_hands_over_without_waiting_for_the_lease(&zk.url(), "20s");
}

/// A leader whose connection breaks stops believing at once, not at its deadline, and leads
/// again only through a fresh grant (a larger token).
#[test]
fn a_disconnected_leader_stops_believing_at_once() {
    if skip() {
        return;
    }
    let mut zk = ZooKeeperServer::start();
    let ttl = Duration::from_secs(4);
    let a = with_ttl(&zk.url(), "cut", ttl);
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    let cut = Instant::now();
    zk.kill();
    assert_eq!(revoked(&events), (first, RevokeReason::LeaseLost));
    assert!(!a.is_leader());
    assert!(
        cut.elapsed() < ttl / 4,
        "belief ended {:?} after the disconnect",
        cut.elapsed()
    );
    zk.restart();
    let again = a.wait_for_leadership(WAIT).unwrap();
    assert!(again > first, "{again} > {first}");
}

/// Tokens are creation zxids: an ensemble leader change starts a new epoch (the high 32
/// bits), so a grant after it carries a larger token.
#[test]
fn tokens_grow_across_an_ensemble_leader_change() {
    if skip() {
        return;
    }
    let mut zk = ZooKeeperEnsemble::start();
    let url = zk.url();
    let a = with_ttl(&url, "epoch", Duration::from_secs(2));
    let first = a.wait_for_leadership(WAIT).unwrap();
    let old = zk.wait_for_leader();
    zk.servers[old].kill();
    let new = zk.wait_for_leader();
    assert_ne!(old, new);
    // Whatever the kill did to a's session, a grant follows under a larger token.
    let b = with_ttl(&url, "epoch", Duration::from_secs(2));
    a.close();
    let next = b.wait_for_leadership(WAIT).unwrap();
    assert!(next > first, "{next:#x} > {first:#x}");
    assert!(
        next >> 32 > first >> 32,
        "a new epoch: {next:#x} after {first:#x}"
    );
}

/// With `user:password@`, baton's nodes carry `CREATOR_ALL_ACL`: the same user works as
/// usual, another user is refused with an error that says what to do.
#[test]
fn digest_credentials_protect_the_leases() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    let alice = format!("zookeeper://alice:s3cret@127.0.0.1:{}", zk.port());
    suite::close_hands_over_with_a_larger_token(&alice, "acl");
    let a = suite::election(&alice, "acl");
    a.wait_for_leadership(WAIT).unwrap();
    let bob = format!("zookeeper://bob:other@127.0.0.1:{}", zk.port());
    let err = Election::builder(bob, "acl").current_leader().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("same user"), "{msg}");
    assert!(!msg.contains("s3cret") && !msg.contains("other@"), "{msg}");
}

/// A ttl the server will not grant as a session timeout is refused, never silently replaced
/// by the server's value (the engine's deadline would no longer bound the lease).
#[test]
fn a_ttl_outside_the_servers_session_limits_never_leads() {
    if skip() {
        return;
    }
    let zk = ZooKeeperServer::start();
    let short = with_ttl(
        &zk.url(),
        "short",
        baton_testkit::zookeeper::MIN_SESSION / 2,
    );
    assert!(short.wait_for_leadership(Duration::from_secs(2)).is_err());
    assert!(!short.is_leader());
    // The same store leads with a ttl the server grants.
    let fine = with_ttl(
        &zk.url(),
        "short",
        baton_testkit::zookeeper::MIN_SESSION * 2,
    );
    fine.wait_for_leadership(WAIT).unwrap();
}

/// `baton run` as a separate process (SIGKILL is the honest crash).
struct BatonRun(Child);

impl BatonRun {
    fn start(url: &str, election: &str, ttl: &str) -> Self {
        let mut cmd = Command::new(BATON);
        cmd.args(["run", "--store", url, "--election", election, "--ttl", ttl])
            .args(["--", "sleep", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        BatonRun(cmd.spawn().expect("start baton run"))
    }

    fn kill(&mut self) {
        let pgid = self.0.id() as i32;
        // SAFETY: kill(2) on the process group we created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

impl Drop for BatonRun {
    fn drop(&mut self) {
        self.kill();
    }
}
