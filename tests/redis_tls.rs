//! TLS with a private CA and a required client certificate, and the connection's client name,
//! against a real redis-server that the test starts with certificates it makes.

use std::time::{Duration, Instant};

use baton::{Election, ElectionBuilder, Event};
use baton_testkit::TlsRedis;

const WAIT: Duration = Duration::from_secs(10);

fn builder(redis: &TlsRedis, name: &str) -> ElectionBuilder {
    Election::builder(redis.url(), name)
        .ttl(Duration::from_millis(600))
        .connect_timeout(Duration::from_secs(2))
}

fn with_client_cert(redis: &TlsRedis, name: &str) -> ElectionBuilder {
    let f = &redis.files;
    builder(redis, name)
        .tls_ca_pem(f.pem("ca.crt"))
        .tls_client_cert_pem(f.pem("client.crt"), f.pem("client.key"))
}

fn granted(e: &baton::Events) -> u64 {
    loop {
        if let Event::Granted { token } = e.recv_timeout(WAIT).expect("a grant") {
            return token;
        }
    }
}

/// Waits until `CLIENT LIST` shows a TLS client named `name`.
fn until_named(redis: &TlsRedis, name: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let names = redis.tls_client_names();
        if names.iter().any(|n| n == name) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no TLS client named {name:?} in CLIENT LIST; names: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_private_ca_and_a_client_certificate_reach_the_server() {
    let redis = TlsRedis::start("yes");
    // The system's trust roots do not know the test CA.
    let err = builder(&redis, "no-ca").build().unwrap_err();
    assert!(
        matches!(err, baton::Error::StoreUnreachable { .. }),
        "{err}"
    );
    // The CA alone is not enough: the server requires a client certificate.
    let err = builder(&redis, "no-cert")
        .tls_ca_pem(redis.files.pem("ca.crt"))
        .build()
        .unwrap_err();
    assert!(
        matches!(err, baton::Error::StoreUnreachable { .. }),
        "{err}"
    );

    let election = with_client_cert(&redis, "tls")
        .build()
        .expect("build over TLS");
    let token = granted(&election.events());
    assert!(token > 0);
    assert!(election.is_leader());
}

#[test]
fn the_connection_carries_its_client_name_also_after_a_restart() {
    let mut redis = TlsRedis::start("optional");
    let election = with_client_cert(&redis, "named")
        .client_name("baton:orders")
        .build()
        .expect("build over TLS");
    let events = election.events();
    granted(&events);
    until_named(&redis, "baton:orders");

    // A restart drops the connection; the client reconnects by itself, without a name of its
    // own, and baton names it again.
    redis.server.restart();
    granted(&events);
    until_named(&redis, "baton:orders");
    assert!(!redis.tls_client_names().iter().any(|n| n.is_empty()));
}

#[test]
fn the_default_client_name_says_baton_host_and_pid() {
    let redis = TlsRedis::start("optional");
    let election = with_client_cert(&redis, "default-name").build().unwrap();
    granted(&election.events());
    let suffix = format!(":{}", std::process::id());
    let deadline = Instant::now() + WAIT;
    while !redis
        .tls_client_names()
        .iter()
        .any(|n| n.starts_with("baton:") && n.ends_with(&suffix))
    {
        assert!(Instant::now() < deadline, "{:?}", redis.tls_client_names());
        std::thread::sleep(Duration::from_millis(20));
    }
}
