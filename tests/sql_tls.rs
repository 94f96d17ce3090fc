//! TLS to PostgreSQL (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) and MariaDB (`ssl-mode`,
//! `ssl-ca`, `ssl-cert`, `ssl-key`) against real servers that the test starts with a private
//! CA and certificates it makes (testkit's `TlsFiles`). The server certificate is issued for
//! `localhost` only, so that `127.0.0.1` is a host name it does not hold.
//!
//! `make test-sql` runs these; `BATON_SKIP_POSTGRES=1` / `BATON_SKIP_MYSQL=1` skip each half
//! (what `make test-rust` sets).

use std::time::{Duration, Instant};

use baton::{Election, Event};
use baton_testkit::{MariaDbServer, PostgresServer, TlsFiles};

const WAIT: Duration = Duration::from_secs(10);

fn skip(var: &str) -> bool {
    let skip = std::env::var(var).is_ok_and(|v| v == "1");
    if skip {
        eprintln!("skipped: {var}=1 (make test-sql runs this test)");
    }
    skip
}

fn granted(e: &baton::Events) -> u64 {
    loop {
        if let Event::Granted { token } = e.recv_timeout(WAIT).expect("a grant") {
            return token;
        }
    }
}

/// Waits until `read` returns something other than `first` (a renewal moved the expiry).
fn until_changed(first: &str, read: impl Fn() -> String, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = read();
        if now != first {
            return;
        }
        assert!(Instant::now() < deadline, "{what} stayed {first:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn build_err(url: &str, name: &str) -> String {
    Election::builder(url, name)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map(|_| ())
        .expect_err("build() must fail")
        .to_string()
}

fn leads(url: &str, name: &str) -> Election {
    let e = Election::builder(url, name)
        .ttl(Duration::from_secs(2))
        .build()
        .unwrap_or_else(|e| panic!("build over {url}: {e}"));
    e.wait_for_leadership(WAIT).expect("leadership");
    e
}

fn path(files: &TlsFiles, name: &str) -> String {
    files.path(name).display().to_string()
}

fn pg_localhost(pg: &PostgresServer) -> String {
    pg.url().replace("@127.0.0.1:", "@localhost:")
}

/// verify-full with the right CA and a client certificate: acquire, renew, and a handover
/// pushed over the `LISTEN` connection; every connection baton opened is TLS and shows the
/// client certificate.
#[test]
fn pg_verify_full_elects_renews_and_pushes_a_handover_over_tls() {
    if skip("BATON_SKIP_POSTGRES") {
        return;
    }
    let files = TlsFiles::create_for("DNS:localhost");
    let pg = PostgresServer::start_tls(&files);
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
        pg_localhost(&pg),
        path(&files, "ca.crt"),
        path(&files, "client.crt"),
        path(&files, "client.key")
    );
    // A ttl far beyond WAIT: only the release's NOTIFY can hand over in time.
    let build = || {
        Election::builder(&url, "tls")
            .ttl(Duration::from_secs(60))
            .renew_interval(Duration::from_millis(200))
            .retry_interval(Duration::from_millis(100))
            .build()
            .unwrap_or_else(|e| panic!("build: {e}"))
    };
    let a = build();
    let ta = a.wait_for_leadership(WAIT).expect("leadership");
    let expires = || pg.sql("SELECT expires FROM baton_leases WHERE name = 'tls'");
    until_changed(&expires(), expires, "the lease's expiry (no renewal)");
    let b = build();
    let events = b.events();
    while b.leader().is_none() {
        events.recv_timeout(WAIT).expect("b sees the leader");
    }
    // The statement connection and the LISTEN connection, both TLS with our certificate.
    let clients = pg.tcp_clients_tls();
    assert!(clients.len() >= 2, "{clients:?}");
    for (ssl, dn) in &clients {
        assert!(ssl, "a plaintext connection: {clients:?}");
        assert_eq!(dn, "/CN=baton test client", "{clients:?}");
    }
    a.close();
    let tb = granted(&events);
    assert!(tb > ta, "{tb} > {ta}");
}

/// What each mode verifies: a wrong CA and a host the certificate does not hold fail
/// `build()` with the setting to change; verify-ca accepts the host; require encrypts
/// without a CA, as does the default (prefer) when the server offers TLS.
#[test]
fn pg_modes_verify_what_libpq_says() {
    if skip("BATON_SKIP_POSTGRES") {
        return;
    }
    let files = TlsFiles::create_for("DNS:localhost");
    let other = TlsFiles::create();
    let pg = PostgresServer::start_tls(&files);
    let ca = path(&files, "ca.crt");

    let err = build_err(
        &format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            pg_localhost(&pg),
            path(&other, "ca.crt")
        ),
        "wrong-ca",
    );
    assert!(err.contains("not signed by a CA in sslrootcert="), "{err}");
    assert!(err.contains("set sslrootcert to the PEM file"), "{err}");

    let err = build_err(
        &format!("{}?sslmode=verify-full&sslrootcert={ca}", pg.url()),
        "wrong-host",
    );
    assert!(err.contains("not issued for the host 127.0.0.1"), "{err}");
    assert!(err.contains("sslmode=verify-ca"), "{err}");
    assert!(!err.contains(baton_testkit::postgres::PASSWORD), "{err}");

    let _ca_only = leads(
        &format!("{}?sslmode=verify-ca&sslrootcert={ca}", pg.url()),
        "ca-only",
    );
    let _encrypted = leads(&format!("{}?sslmode=require", pg.url()), "require");
    let _default = leads(&pg.url(), "prefer");
    let clients = pg.tcp_clients_tls();
    assert!(clients.len() >= 3, "{clients:?}");
    assert!(clients.iter().all(|(ssl, _)| *ssl), "{clients:?}");
}

/// A server without TLS: require fails and says how to turn TLS on; prefer connects.
#[test]
fn pg_require_against_a_server_without_tls_fails_clearly() {
    if skip("BATON_SKIP_POSTGRES") {
        return;
    }
    let pg = PostgresServer::start();
    let err = build_err(&format!("{}?sslmode=require", pg.url()), "no-tls");
    assert!(err.contains("does not offer TLS"), "{err}");
    assert!(err.contains("ssl=on"), "{err}");
    let _plain = leads(&format!("{}?sslmode=prefer", pg.url()), "prefer");
    let clients = pg.tcp_clients_tls();
    assert!(
        !clients.is_empty() && clients.iter().all(|(ssl, _)| !ssl),
        "{clients:?}"
    );
}

fn my_localhost(db: &MariaDbServer) -> String {
    db.url().replace("@127.0.0.1:", "@localhost:")
}

/// VERIFY_IDENTITY with the right CA and a client certificate, for a user the server admits
/// only with a certificate signed by its CA (`REQUIRE X509`): acquire, renew, release and a
/// larger token for the next leader.
#[test]
fn mariadb_verify_identity_elects_renews_and_hands_over_over_tls() {
    if skip("BATON_SKIP_MYSQL") {
        return;
    }
    let files = TlsFiles::create_for("DNS:localhost");
    let db = MariaDbServer::start_tls(&files);
    db.sql("ALTER USER 'admin'@'127.0.0.1' REQUIRE X509");
    let base = format!(
        "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
        my_localhost(&db),
        path(&files, "ca.crt")
    );
    // Without the client certificate the server refuses the user.
    let err = build_err(&base, "tls");
    assert!(err.contains("1045"), "{err}");
    let url = format!(
        "{base}&ssl-cert={}&ssl-key={}",
        path(&files, "client.crt"),
        path(&files, "client.key")
    );
    let build = || {
        Election::builder(&url, "tls")
            .ttl(Duration::from_secs(1))
            .renew_interval(Duration::from_millis(200))
            .retry_interval(Duration::from_millis(100))
            .build()
            .unwrap_or_else(|e| panic!("build: {e}"))
    };
    let a = build();
    let ta = a.wait_for_leadership(WAIT).expect("leadership");
    let expires = || db.sql("SELECT expires_us FROM baton_leases WHERE name = 'tls'");
    until_changed(&expires(), expires, "the lease's expiry (no renewal)");
    let b = build();
    let events = b.events();
    a.close();
    let holder = || db.sql("SELECT coalesce(candidate, '') FROM baton_leases WHERE name = 'tls'");
    assert_ne!(
        holder(),
        a.candidate_id(),
        "the release did not clear the row"
    );
    let tb = granted(&events);
    assert!(tb > ta, "{tb} > {ta}");
}

/// A wrong CA and a host the certificate does not hold fail `build()` with the setting to
/// change; REQUIRED and the default (PREFERRED) encrypt without a CA for a user the server
/// admits only over TLS (`REQUIRE SSL`).
#[test]
fn mariadb_modes_verify_what_mysql_says() {
    if skip("BATON_SKIP_MYSQL") {
        return;
    }
    let files = TlsFiles::create_for("DNS:localhost");
    let other = TlsFiles::create();
    let db = MariaDbServer::start_tls(&files);
    db.sql("ALTER USER 'admin'@'127.0.0.1' REQUIRE SSL");
    let ca = path(&files, "ca.crt");

    let err = build_err(
        &format!(
            "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
            my_localhost(&db),
            path(&other, "ca.crt")
        ),
        "wrong-ca",
    );
    assert!(err.contains("not signed by a CA in ssl-ca="), "{err}");
    assert!(err.contains("set ssl-ca to the PEM file"), "{err}");

    let err = build_err(&format!("{}?ssl-ca={ca}", db.url()), "wrong-host");
    assert!(err.contains("not issued for the host 127.0.0.1"), "{err}");
    assert!(!err.contains(baton_testkit::mysql::PASSWORD), "{err}");

    let _encrypted = leads(&format!("{}?ssl-mode=REQUIRED", db.url()), "required");
    let _default = leads(&db.url(), "preferred");
    // The server refuses this user in plaintext: the modes above did encrypt.
    let err = build_err(&format!("{}?ssl-mode=DISABLED", db.url()), "plain");
    assert!(err.contains("1045"), "{err}");
}

/// A server without TLS: REQUIRED fails and says how to turn TLS on; PREFERRED connects.
#[test]
fn mariadb_required_against_a_server_without_tls_fails_clearly() {
    if skip("BATON_SKIP_MYSQL") {
        return;
    }
    let db = MariaDbServer::start();
    let err = build_err(&format!("{}?ssl-mode=REQUIRED", db.url()), "no-tls");
    assert!(err.contains("does not offer TLS"), "{err}");
    assert!(err.contains("--ssl-cert"), "{err}");
    let _plain = leads(&format!("{}?ssl-mode=PREFERRED", db.url()), "preferred");
}
