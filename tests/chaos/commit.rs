//! What one write costs on the ZooKeeper ensemble: a quorum commit, with each server's
//! transaction-log fsync. A graceful handover there is two of them (the release's delete, the
//! follower's create), so the checker's handover bound adds two, measured on the run's own
//! ensemble and machine rather than assumed.

use std::time::{Duration, Instant};

use zookeeper_client::{Acls, Client, CreateMode};

/// The 90th percentile of `n` create-then-delete writes (each timed alone) at `hosts`.
pub fn zookeeper_write(hosts: &str, n: usize) -> Duration {
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
        let mut times = Vec::with_capacity(2 * n);
        for i in 0..n {
            let path = format!("/baton-chaos-commit-probe-{i}");
            let t = Instant::now();
            client
                .create(&path, b"", &options)
                .await
                .expect("probe create");
            times.push(t.elapsed());
            let t = Instant::now();
            client.delete(&path, None).await.expect("probe delete");
            times.push(t.elapsed());
        }
        times.sort();
        times[times.len() * 9 / 10]
    })
}
