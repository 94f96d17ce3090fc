//! What writes cost on the ZooKeeper ensemble: each is a quorum commit with a transaction-log
//! fsync, and the server applies one session's requests in order. A redeploy releases every
//! election of a process at once, so the last release waits behind the others, and so does
//! the woken follower's create behind its own; an expired session frees all its leases in one
//! write, and the takeovers' creates queue too. The checker's bounds add those bursts, measured on the
//! run's own ensemble and machine rather than assumed.

use std::time::{Duration, Instant};

use zookeeper_client::{Acls, Client, CreateMode};

/// The slowest of three bursts of `n` pipelined creates, and of `n` pipelined deletes, from
/// one session at `hosts`: (create, delete).
pub fn zookeeper_bursts(hosts: &str, n: usize) -> (Duration, Duration) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the commit probe");
    rt.block_on(async {
        let client = Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(hosts)
            .await
            .expect("the commit probe connects to the ensemble");
        let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
        let paths: Vec<String> = (0..n)
            .map(|i| format!("/baton-chaos-commit-probe-{i}"))
            .collect();
        let (mut create, mut delete) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..3 {
            // Each call sends its request at once; the futures only await the replies.
            let t = Instant::now();
            let sent: Vec<_> = paths
                .iter()
                .map(|p| client.create(p, b"", &options))
                .collect();
            for s in sent {
                s.await.expect("probe create");
            }
            create = create.max(t.elapsed());
            let t = Instant::now();
            let sent: Vec<_> = paths.iter().map(|p| client.delete(p, None)).collect();
            for s in sent {
                s.await.expect("probe delete");
            }
            delete = delete.max(t.elapsed());
        }
        (create, delete)
    })
}
