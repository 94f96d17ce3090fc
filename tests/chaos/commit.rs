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

/// The slowest of three graceful handovers of `n` elections, played on the ensemble as a
/// redeploy plays them: one session holds `n` ephemeral nodes and releases them all at once
/// (each a read, then a delete pinned to the version read), while `followers` sessions watch
/// every node and, when its watch fires, create it (the losers read the winner's node and
/// watch again). Measured from the first release's send to the last node's winning create.
pub fn zookeeper_handover(hosts: &str, n: usize, followers: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the handover probe");
    rt.block_on(async {
        let connect = || async {
            Client::connector()
                .with_session_timeout(Duration::from_secs(10))
                .connect(hosts)
                .await
                .expect("the handover probe connects to the ensemble")
        };
        let holder = connect().await;
        let mut watchers = Vec::new();
        for _ in 0..followers {
            watchers.push(connect().await);
        }
        let paths: Vec<String> = (0..n)
            .map(|i| format!("/baton-chaos-handover-probe-{i}"))
            .collect();
        let mut worst = Duration::ZERO;
        for _ in 0..3 {
            for p in &paths {
                match holder.delete(p, None).await {
                    Ok(()) | Err(zookeeper_client::Error::NoNode) => {}
                    Err(e) => panic!("handover probe: clearing {p}: {e}"),
                }
                holder
                    .create(p, b"", &ephemeral())
                    .await
                    .expect("handover probe: the holder's create");
            }
            let mut takes = tokio::task::JoinSet::new();
            for w in &watchers {
                for p in &paths {
                    let (_, fired) = w
                        .check_and_watch_stat(p)
                        .await
                        .expect("handover probe: a follower's watch");
                    let (w, p) = (w.clone(), p.clone());
                    takes.spawn(async move {
                        fired.changed().await;
                        match w.create(&p, b"", &ephemeral()).await {
                            Ok(_) => Some(Instant::now()),
                            Err(zookeeper_client::Error::NodeExists) => {
                                let _ = w.get_data(&p).await;
                                let _ = w.check_and_watch_stat(&p).await;
                                None
                            }
                            Err(e) => panic!("handover probe: a follower's create: {e}"),
                        }
                    });
                }
            }
            let start = Instant::now();
            let mut releases = tokio::task::JoinSet::new();
            for p in &paths {
                let (h, p) = (holder.clone(), p.clone());
                releases.spawn(async move {
                    let (_, stat) = h.get_data(&p).await.expect("handover probe: release read");
                    h.delete(&p, Some(stat.version))
                        .await
                        .expect("handover probe: release delete");
                });
            }
            releases.join_all().await;
            for taken in takes.join_all().await.into_iter().flatten() {
                worst = worst.max(taken - start);
            }
        }
        worst
    })
}

fn ephemeral() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Ephemeral.with_acls(Acls::anyone_all())
}
