//! The connection of one Redis store, replaced when it stops answering.
//!
//! A hung or powered-off host sends no RST: the socket stays open and requests wait forever,
//! and the client libraries treat a response timeout as a retry on the same socket. The engine
//! reports each request that got no answer in time ([`Link::stalled`]); when nothing at all
//! came back on the connection since that request was sent, the connection is replaced: a new
//! socket, the Sentinel master asked again, or a Cluster connection from the nodes that answer
//! (`cluster.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::PushInfo;
use tokio::sync::mpsc;

use super::classify;
use super::cluster::ClusterOrigin;
use super::sentinel::Sentinel;
use crate::clock;
use crate::store::StoreError;

/// The connection to use for the next request.
#[derive(Clone)]
pub(super) enum Live {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Where a replacement connection comes from.
pub(super) enum Origin {
    Single(Box<redis::Client>),
    Sentinel(Arc<Sentinel>),
    Cluster(Box<ClusterOrigin>),
}

pub(super) struct Link {
    origin: Origin,
    /// The current connection (Sentinel keeps its own, following the master).
    live: Mutex<Option<Live>>,
    push: mpsc::UnboundedSender<PushInfo>,
    timeout: Duration,
    /// Clock nanos of the last reply of any kind on the current connection.
    last_answer: AtomicU64,
    replacing: AtomicBool,
    /// The connection's name in `CLIENT LIST`, sent again on every new connection.
    name: OnceLock<String>,
}

impl Link {
    pub fn new(
        origin: Origin,
        live: Option<Live>,
        push: mpsc::UnboundedSender<PushInfo>,
        timeout: Duration,
    ) -> Arc<Link> {
        Arc::new(Link {
            origin,
            live: Mutex::new(live),
            push,
            timeout,
            last_answer: AtomicU64::new(clock::now_nanos()),
            replacing: AtomicBool::new(false),
            name: OnceLock::new(),
        })
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self.origin, Origin::Cluster(_))
    }

    pub fn sentinel(&self) -> Option<&Sentinel> {
        match &self.origin {
            Origin::Sentinel(s) => Some(s),
            _ => None,
        }
    }

    pub fn live(&self) -> Live {
        if let Origin::Sentinel(s) = &self.origin {
            return Live::Single(s.manager());
        }
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .expect("a direct link always has a connection")
    }

    /// Names the connection now and after every reconnect or replacement.
    pub fn set_name(self: &Arc<Self>, name: String) {
        if self.name.set(name).is_ok() {
            self.rename();
        }
    }

    /// Sends `CLIENT SETNAME` on the current connection (in a Cluster, to every node), retrying
    /// until it lands: the redis crate has no hook that names each new connection it opens,
    /// so this runs after the first connect, after each Disconnection push (the client has
    /// already begun its reconnect by then) and after a replacement.
    pub fn rename(self: &Arc<Self>) {
        if self.name.get().is_none() {
            return;
        }
        let link = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(50);
            loop {
                let Some(link) = link.upgrade() else {
                    return;
                };
                let Some(name) = link.name.get() else {
                    return;
                };
                let cmd = redis::cmd("CLIENT").arg("SETNAME").arg(name).clone();
                let result: redis::RedisResult<()> = match link.live() {
                    Live::Single(mut c) => cmd.query_async(&mut c).await,
                    Live::Cluster(mut c) => cmd.query_async(&mut c).await,
                };
                match result {
                    Ok(()) => return,
                    // The server refused the name itself: trying again will not help.
                    Err(e) if e.code().is_some() => {
                        tracing::warn!(error = %e, "the Redis server refused baton's client name");
                        return;
                    }
                    Err(_) => {}
                }
                drop(link);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        });
    }

    /// A reply (success or a server error) came back: the connection is alive.
    pub fn answered(&self) {
        self.last_answer
            .fetch_max(clock::now_nanos(), Ordering::Relaxed);
    }

    /// A request sent at `sent` (clock nanos) got no answer in time. Replaces the connection
    /// unless something answered since, re-subscribing `channels` on the new one, and then
    /// calls `replaced`.
    pub fn stalled(
        self: &Arc<Self>,
        sent: u64,
        channels: Vec<String>,
        replaced: impl FnOnce() + Send + 'static,
    ) {
        if crate::mutant::active("no-health-check") {
            return;
        }
        // In a Cluster, other nodes' answers say nothing about the one that went silent: the
        // slot map is refreshed from the seeds on every stall (one at a time).
        let answered = !self.is_cluster() && self.last_answer.load(Ordering::Relaxed) >= sent;
        if answered || self.replacing.swap(true, Ordering::AcqRel) {
            return;
        }
        let link = self.clone();
        tokio::spawn(async move {
            tracing::warn!("the Redis connection stopped answering; replacing it");
            match tokio::time::timeout(link.timeout, link.replace(channels)).await {
                Ok(Ok(())) => {
                    link.answered();
                    link.rename();
                    tracing::info!("replaced the Redis connection");
                    replaced();
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "could not replace the Redis connection yet")
                }
                Err(_) => {
                    tracing::warn!("could not replace the Redis connection within connect_timeout")
                }
            }
            link.replacing.store(false, Ordering::Release);
        });
    }

    async fn replace(&self, channels: Vec<String>) -> Result<(), StoreError> {
        let live = match &self.origin {
            Origin::Sentinel(s) => return s.reconnect(channels).await,
            Origin::Single(client) => {
                let config = manager_config(&self.push, self.timeout);
                let mut manager = ConnectionManager::new_with_config((**client).clone(), config)
                    .await
                    .map_err(classify)?;
                for channel in &channels {
                    manager.subscribe(channel).await.map_err(classify)?;
                }
                Live::Single(manager)
            }
            Origin::Cluster(cluster) => {
                let mut conn = cluster.reconnect().await?;
                for channel in &channels {
                    conn.ssubscribe(channel).await.map_err(classify)?;
                }
                Live::Cluster(conn)
            }
        };
        *self.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(live);
        Ok(())
    }
}

/// Keepalive and a user timeout: a host that vanished (power loss, a cut link) turns into an
/// I/O error within about `timeout`, which makes the client reconnect by itself. A host whose
/// kernel still answers (a stopped or stalled server) is caught by [`Link::stalled`] instead.
pub(super) fn tcp_settings(timeout: Duration) -> TcpSettings {
    // Keepalive counts whole seconds (a zero is EINVAL).
    let probe = (timeout / 3).max(Duration::from_secs(1));
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(probe)
        .with_interval(probe)
        .with_retries(3);
    TcpSettings::default()
        .set_nodelay(true)
        .set_keepalive(keepalive)
        .set_user_timeout(timeout.max(Duration::from_secs(1)))
}

/// One reconnecting connection to one node, re-subscribing after each reconnect.
pub(super) fn manager_config(
    push: &mpsc::UnboundedSender<PushInfo>,
    timeout: Duration,
) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(None)
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500))
        .set_push_sender(push.clone())
        .set_automatic_resubscription()
}
