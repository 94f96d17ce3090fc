//! The store suite and PostgreSQL-specific behaviour against real PostgreSQL servers
//! (Debian's `postgresql` package, started by testkit).
//!
//! `make test-sql` runs these; `cargo test` without PostgreSQL installed can skip them with
//! `BATON_SKIP_POSTGRES=1` (what `make test-rust` sets, since `test-sql` runs them).

mod suite;

#[path = "faults/freeze.rs"]
mod freeze;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton::{Election, Event, RevokeReason};
use baton_testkit::PostgresServer;
use freeze::FreezeProxy;
use suite::WAIT;

const BATON: &str = env!("CARGO_BIN_EXE_baton");
const SECOND: i64 = 1_000_000_000;

fn skip() -> bool {
    let skip = std::env::var("BATON_SKIP_POSTGRES").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("skipped: BATON_SKIP_POSTGRES=1 (make test-sql runs this test)");
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
    let pg = PostgresServer::start();
    suite::one_leader_among_three(&pg.url(), "one");
}

#[test]
fn close_hands_over_with_a_larger_token() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    suite::close_hands_over_with_a_larger_token(&pg.url(), "close");
}

#[test]
fn resign_hands_over() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    suite::resign_hands_over(&pg.url(), "resign");
}

#[test]
fn a_resign_request_reaches_the_leader() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    suite::a_resign_request_reaches_the_leader(&pg.url(), "ask");
}

#[test]
fn status_reads_the_holder_in_another_table_with_odd_names() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    suite::status_reads_the_holder(&pg.url(), "status");
    // Names are data, not identifiers: quotes and JSON-looking text are one election each.
    let url = format!("{}?table=app_leases", pg.url());
    suite::status_reads_the_holder(&url, "a'b\"c [\"x\", \"y\"]");
    assert_eq!(pg.sql("SELECT count(*) FROM app_leases"), "1");
}

/// Rows deleted by hand (the table truncated): the leader finds its lease gone at its next
/// renewal and the next grant still carries a larger token (the server clock's floor).
#[test]
fn tokens_grow_after_the_store_lost_its_rows() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    suite::tokens_grow_after_the_store_lost_its_keys(&pg.url(), "wiped", &|| {
        pg.sql("DELETE FROM baton_leases");
    });
}

/// The suite's connection test, in PostgreSQL's terms: one connection carries every
/// election's statements and one more listens for releases, whatever the number of elections.
#[test]
fn many_elections_share_two_connections() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    let url = pg.url();
    let before = pg.connections();
    let elections: Vec<Election> = (0..50)
        .map(|i| suite::election(&url, &format!("many-{i}")))
        .collect();
    for e in &elections {
        e.wait_for_leadership(WAIT).unwrap();
    }
    let added = pg.connections().saturating_sub(before);
    assert!(added <= 2, "{added} new connections for 50 elections");
}

/// A release keeps the row and its token: with the server's clock stepped back an hour (so
/// the clock floor is far below the last token), the next grant is exactly the last token + 1.
#[test]
fn tokens_count_on_across_a_release_even_when_the_server_clock_steps_back() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start_with_clock();
    let url = pg.url();
    let a = suite::election(&url, "counter");
    let events = a.events();
    a.wait_for_leadership(WAIT).unwrap();
    let first = suite::close_reporting_last_grant(&a, &events);
    assert_eq!(
        pg.sql(
            "SELECT coalesce(candidate, 'none'), token FROM baton_leases WHERE name = 'counter'"
        ),
        format!("none|{first}"),
        "a release clears the holder and keeps the token"
    );
    pg.clock().unwrap().step(-3600 * SECOND);
    let b = suite::election(&url, "counter");
    let second = b.wait_for_leadership(WAIT).unwrap();
    assert_eq!(second, first + 1);
}

/// Leases expire by the database server's clock, never a client's: with the server's clock
/// stepped a minute past the lease's expiry, the next statement finds the lease expired. The
/// leader's next renewal finds it lost, and a new grant (to the old leader or a newcomer)
/// follows under a larger token, all long before the 30s lease would end by the clients' clocks.
#[test]
fn leases_expire_by_the_servers_clock() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start_with_clock();
    let url = pg.url();
    let ttl = Duration::from_secs(30);
    let elect = || {
        Election::builder(&url, "clock")
            .ttl(ttl)
            .renew_interval(Duration::from_millis(500))
            .retry_interval(Duration::from_millis(100))
            .build()
            .expect("build election")
    };
    let a = elect();
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    pg.clock().unwrap().step(60 * SECOND);
    let c = elect();
    let start = Instant::now();
    let next = loop {
        match c.leader() {
            Some(l) if l.token > first => break l.token,
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
        assert!(
            start.elapsed() < WAIT,
            "no new grant after the server's clock step"
        );
    };
    assert!(next > first, "{next} > {first}");
    assert_eq!(revoked(&events), (first, RevokeReason::LeaseLost));
}

/// The least-privilege setup of docs/postgres.md, run verbatim: a user with exactly the
/// documented grants on a table its owner created runs elections; with one grant less,
/// `build()` fails and names the grants to add.
#[test]
fn the_documented_grants_are_enough() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    let setup = documented_block("grants").replace("change-me", "pw1");
    pg.sql(&setup);
    let url = pg.url_as("baton", "pw1");
    suite::close_hands_over_with_a_larger_token(&url, "grants");
    suite::a_resign_request_reaches_the_leader(&url, "grants-ask");
    suite::status_reads_the_holder(&url, "grants-status");
    assert_eq!(
        pg.sql("SELECT has_table_privilege('baton', 'baton_leases', 'DELETE')"),
        "f"
    );

    pg.sql("REVOKE UPDATE ON baton_leases FROM baton");
    // build() only reads; a resign request is an UPDATE like every state change.
    let err = Election::builder(&url, "grants")
        .request_resign()
        .unwrap_err()
        .to_string();
    assert!(err.contains("GRANT SELECT, INSERT, UPDATE"), "{err}");
}

/// `create_table=false` and no table: `build()` fails, naming the option and the DDL; the
/// DDL it prints is the one docs/postgres.md shows.
#[test]
fn a_missing_table_with_create_table_off_names_the_option_and_the_ddl() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    let url = format!("{}?create_table=false", pg.url());
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
    assert!(!err.contains(suite_password()), "{err}");
    assert!(
        pg.try_sql("SELECT 1 FROM baton_leases").is_err(),
        "nothing was created"
    );
    // Created on first use by default.
    suite::election(&pg.url(), "off")
        .wait_for_leadership(WAIT)
        .unwrap();
    assert_eq!(pg.sql("SELECT count(*) FROM baton_leases"), "1");
}

fn suite_password() -> &'static str {
    baton_testkit::postgres::PASSWORD
}

/// A restart of the database: the leader stops believing when its connection drops, and a
/// grant follows under a larger token once the server is back.
#[test]
fn a_database_restart_ends_belief_and_leadership_returns_with_a_larger_token() {
    if skip() {
        return;
    }
    let mut pg = PostgresServer::start();
    let a = with_ttl(&pg.url(), "restart", Duration::from_secs(5));
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    pg.restart();
    let (token, reason) = revoked(&events);
    assert_eq!(token, first);
    assert!(
        matches!(
            reason,
            RevokeReason::StoreUnreachable | RevokeReason::LeaseLost
        ),
        "{reason}"
    );
    let again = a.wait_for_leadership(WAIT).unwrap();
    assert!(again > first, "{again} > {first}");
}

/// A database that stops answering (SIGSTOP: connections stay open, nothing comes back): the
/// leader steps down at its deadline as unreachable, and leads again under a larger token
/// once the server runs again.
#[test]
fn a_paused_database_ends_leadership_at_the_deadline_and_it_returns() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    let a = with_ttl(&pg.url(), "paused", Duration::from_secs(1));
    let first = a.wait_for_leadership(WAIT).unwrap();
    let events = a.events();
    pg.pause();
    let revoked = revoked(&events);
    pg.resume();
    assert_eq!(revoked, (first, RevokeReason::StoreUnreachable));
    let again = a.wait_for_leadership(WAIT).unwrap();
    assert!(again > first, "{again} > {first}");
}

/// A follower's acquire that PostgreSQL runs after the follower gave up on it (suite): in the
/// chaos run's `store-pause`, such a grant left elections leaderless until it expired
/// (docs/chaos.md).
#[test]
fn a_grant_run_after_its_request_timed_out_is_taken_at_once() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    let proxy = FreezeProxy::start(pg.port());
    // No LISTEN: its reconnect would wake the follower into another read, hiding the wait.
    let held = pg
        .url()
        .replace(&format!(":{}/", pg.port()), &format!(":{}/", proxy.port()))
        + "?listen=false";
    suite::a_grant_run_after_its_request_timed_out_is_taken_at_once(
        &pg.url(),
        &held,
        "late",
        &|| proxy.hold(),
        &|within| proxy.let_through(within),
    );
}

/// Polls the server until `done` (no event tells when a backend waits for a lock).
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < until, "never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An acquire that waited for another transaction's lock on a free lease row, and found it
/// taken when that transaction committed: the acquire's fallback read of the holder runs on
/// the statement's snapshot, where the row was still free. It read a holder without a
/// candidate and panicked on baton's runtime thread, which ended the election for good.
#[test]
fn an_acquire_that_waited_for_a_lock_on_a_free_row_reads_the_new_holder() {
    if skip() {
        return;
    }
    // A panic on baton's runtime thread no longer ends the election (the engine recovers), so
    // the test also looks for the panic itself.
    static PANICKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("baton-runtime") {
            PANICKED.lock().unwrap().push(info.to_string());
        }
        previous(info);
    }));
    let pg = PostgresServer::start();
    let ttl = Duration::from_secs(1);
    let a = with_ttl(&pg.url(), "locked", ttl);
    a.wait_for_leadership(WAIT).unwrap();
    a.close();
    let mut other = pg.session();
    other.send(
        "BEGIN; UPDATE baton_leases SET candidate = 'other:1:1', host = 'other', pid = 1, \
         token = token + 1, since = now(), expires = clock_timestamp() + interval '3 seconds' \
         WHERE name = 'locked';",
    );
    let count = |sql: &str| {
        pg.sql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE {sql}"
        ))
    };
    wait_until("the other transaction holds the row", || {
        count("state = 'idle in transaction'") == "1"
    });
    let b = with_ttl(&pg.url(), "locked", ttl);
    let events = b.events();
    wait_until("the acquire waits for the row's lock", || {
        count("wait_event_type = 'Lock'") == "1"
    });
    other.send("COMMIT;");
    loop {
        let leader = b.leader().map(|l| l.candidate_id);
        if leader.as_deref() == Some("other:1:1") {
            break;
        }
        events
            .recv_timeout(WAIT)
            .expect("the follower sees the other holder");
    }
    b.wait_for_leadership(WAIT)
        .expect("the follower takes over at the other lease's expiry");
    let panicked = PANICKED.lock().unwrap().clone();
    assert!(
        panicked.is_empty(),
        "baton's runtime thread panicked: {panicked:?}"
    );
}

/// A leader process dies without a word (SIGKILL): the waiting candidate, asleep until the
/// lease's expiry by the holder's remaining time, takes over then, under a larger token.
#[test]
fn a_killed_leader_process_is_replaced_at_expiry_with_a_larger_token() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    let url = pg.url();
    let ttl = Duration::from_secs(1);
    let mut leader = BatonRun::start(&url, "killed", "1s");
    let status = || Election::builder(&url, "killed").current_leader().unwrap();
    let deadline = Instant::now() + WAIT;
    let first = loop {
        if let Some(s) = status() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "baton run never led; its stderr:\n{}",
            std::fs::read_to_string(run_log("killed")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let b = with_ttl(&url, "killed", ttl);
    let events = b.events();
    while b.leader().is_none() {
        events.recv_timeout(WAIT).unwrap();
    }
    assert!(!b.is_leader());
    leader.kill();
    let token = loop {
        if let Event::Granted { token } = events.recv_timeout(WAIT).expect("a grant") {
            break token;
        }
    };
    assert!(token > first.token, "{token} > {}", first.token);
}

/// Three `baton run` processes on a `postgres://` URL, as on Redis (tests/cli.rs): one
/// command at a time; SIGKILL of the leader's baton: its command dies and another takes over
/// at expiry under a larger token; SIGTERM of the next leader, with a one-minute lease: only
/// the release's NOTIFY explains the next start within WAIT.
#[test]
fn three_baton_runs_take_over_after_a_kill_and_hand_over_on_sigterm() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    let (tx, started) = std::sync::mpsc::channel();
    let mut runs: Vec<BatonRun> = (0..3)
        .map(|i| BatonRun::start_reporting(&pg.url(), "cli", "1s", i, &tx))
        .collect();
    let first = started.recv_timeout(WAIT).expect("one command starts");
    // baton alone: its watchdog, not this test, must take the command down.
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(runs[first.0].0.id() as i32, libc::SIGKILL) };
    let _ = runs[first.0].0.wait();
    let second = started
        .recv_timeout(WAIT)
        .expect("another starts after expiry");
    assert_ne!(second.0, first.0);
    assert!(second.1 > first.1, "{} > {}", second.1, first.1);
    let deadline = Instant::now() + WAIT;
    // SAFETY: signal 0 only checks that the process exists.
    while unsafe { libc::kill(first.2, 0) } == 0 {
        assert!(
            Instant::now() < deadline,
            "the killed baton's command outlived it"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(started.try_recv().is_err(), "one command at a time");
    drop(runs);

    let (tx, started) = std::sync::mpsc::channel();
    let mut runs: Vec<BatonRun> = (0..3)
        .map(|i| BatonRun::start_reporting(&pg.url(), "cli-term", "1m", i, &tx))
        .collect();
    let first = started.recv_timeout(WAIT).expect("one command starts");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(runs[first.0].0.id() as i32, libc::SIGTERM) };
    let _ = runs[first.0].0.wait();
    let second = started
        .recv_timeout(WAIT)
        .expect("handover long before the one-minute lease expired");
    assert!(second.1 > first.1, "{} > {}", second.1, first.1);
}

/// `listen=false` (a pooler in transaction mode): no push, followers take over at expiry.
#[test]
fn without_listen_a_release_is_found_at_expiry() {
    if skip() {
        return;
    }
    let pg = PostgresServer::start();
    let url = format!("{}?listen=false", pg.url());
    let a = suite::election(&url, "nolisten");
    let first = a.wait_for_leadership(WAIT).unwrap();
    let b = suite::election(&url, "nolisten");
    let before = pg.connections();
    a.close();
    let next = b.wait_for_leadership(WAIT).unwrap();
    assert!(next > first);
    assert!(
        pg.connections() <= before,
        "no LISTEN connection was opened"
    );
}

/// The SQL block of docs/postgres.md that follows `<!-- baton:NAME -->`.
fn documented_block(name: &str) -> String {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/postgres.md"))
        .expect("docs/postgres.md");
    let marker = format!("<!-- baton:{name} -->");
    let after = docs
        .split_once(&marker)
        .unwrap_or_else(|| panic!("docs/postgres.md has no {marker}"))
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

/// `baton run` as a separate process (SIGKILL is the honest crash).
struct BatonRun(Child);

/// Where `BatonRun::start` writes that run's stderr, to show when it never leads.
fn run_log(election: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("baton-run-{}-{election}.log", std::process::id()))
}

impl BatonRun {
    fn start(url: &str, election: &str, ttl: &str) -> Self {
        let mut cmd = Command::new(BATON);
        cmd.args(["run", "--store", url, "--election", election, "--ttl", ttl])
            .args(["--", "sleep", "1000"])
            // Shown when it never leads (a rare failure not reproduced since).
            .env("BATON_LOG", "baton=debug,info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(run_log(election)).expect("baton run's log file"))
            .process_group(0);
        BatonRun(cmd.spawn().expect("start baton run"))
    }

    /// A run whose command reports `started TOKEN PID` on its stdout, sent as (id, token, pid).
    fn start_reporting(
        url: &str,
        election: &str,
        ttl: &str,
        id: usize,
        tx: &std::sync::mpsc::Sender<(usize, u64, i32)>,
    ) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(BATON)
            .args(["run", "--store", url, "--election", election, "--ttl", ttl])
            .args(["--grace", "300ms", "--", "sh", "-c"])
            .arg("echo started $BATON_FENCING_TOKEN $$; exec sleep 600")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start baton run");
        let stdout = child.stdout.take().unwrap();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.first() == Some(&"started") {
                    let _ = tx.send((id, f[1].parse().unwrap(), f[2].parse().unwrap()));
                }
            }
        });
        BatonRun(child)
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
