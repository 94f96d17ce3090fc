//! One ZooKeeper session: the client, and a count of its connection breaks. A lease granted
//! under one count is not trusted once the count moved (single belief: a disconnect ends
//! belief at once, and only a fresh acquire that proves ownership restores it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use zookeeper_client::{Client, SessionState};

use super::url::ZkUrl;
use crate::store::StoreError;

/// Called on every session state change (disconnect, reconnect, expiry).
pub(crate) type OnChange = Arc<dyn Fn() + Send + Sync>;

pub(crate) struct Session {
    pub client: Client,
    breaks: Arc<AtomicU64>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Opens a session asking for `timeout`; the server may negotiate another value
    /// ([`Session::timeout`]).
    pub async fn open(
        url: &ZkUrl,
        timeout: Duration,
        connect_timeout: Duration,
        on_change: OnChange,
    ) -> Result<Arc<Session>, StoreError> {
        let mut connector = Client::connector()
            .with_session_timeout(timeout)
            .with_connection_timeout(connect_timeout);
        if let Some(digest) = &url.digest {
            connector = connector.with_auth("digest", digest.as_bytes());
        }
        let client =
            match tokio::time::timeout(connect_timeout, connector.connect(&url.hosts)).await {
                Ok(Ok(client)) => client,
                Ok(Err(e)) => return Err(super::classify(e, "connecting")),
                Err(_) => {
                    return Err(StoreError::Unreachable(format!(
                        "no ZooKeeper session within {connect_timeout:?}"
                    )))
                }
            };
        let breaks = Arc::new(AtomicU64::new(0));
        let mut states = client.state_watcher();
        let counted = breaks.clone();
        // Every change counts as a break: a disconnect and its reconnect may coalesce into a
        // single observed SyncConnected.
        let watcher = tokio::spawn(async move {
            loop {
                let state = states.changed().await;
                counted.fetch_add(1, Ordering::SeqCst);
                tracing::debug!(?state, "ZooKeeper session state changed");
                on_change();
                if state.is_terminated() {
                    return;
                }
            }
        });
        Ok(Arc::new(Session {
            client,
            breaks,
            watcher,
        }))
    }

    pub fn id(&self) -> i64 {
        self.client.session_id().0
    }

    /// The session timeout the server granted.
    pub fn timeout(&self) -> Duration {
        self.client.session_timeout()
    }

    /// How often the connection changed state since the session opened.
    pub fn breaks(&self) -> u64 {
        self.breaks.load(Ordering::SeqCst)
    }

    pub fn connected(&self) -> bool {
        self.client.state() == SessionState::SyncConnected
    }

    /// Expired, closed or refused: a new session is needed.
    pub fn dead(&self) -> bool {
        self.client.state().is_terminated()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}
