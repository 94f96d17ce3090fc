//! The statement connection of one PostgreSQL store: opened on first use, re-opened after it
//! closed, and replaced when it stops answering (a hung host sends no RST).
//!
//! One connection carries every election of the process: tokio-postgres pipelines concurrent
//! statements on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config};

use super::classify;
use super::tls::MakeRustls;
use super::url::PgTls;
use crate::clock;
use crate::store::StoreError;

struct Live {
    client: Arc<Client>,
    driver: JoinHandle<()>,
}

pub(super) struct Conn {
    config: Config,
    tls: MakeRustls,
    /// The URL's TLS options and host, to explain a failed handshake.
    tls_url: PgTls,
    host: String,
    current: Mutex<Option<Live>>,
    /// One connect at a time: concurrent elections wait for it instead of opening their own.
    connecting: tokio::sync::Mutex<()>,
    /// Clock nanos of the last answer of any kind on the current connection.
    last_answer: AtomicU64,
    /// Connections that closed or were replaced while in use: a leader cannot know whether
    /// its lease survived what closed them (a failover), and stops believing.
    pub drops: Arc<AtomicU64>,
    on_drop: Box<dyn Fn() + Send + Sync>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keepalive and a user timeout: a host that vanished turns into an I/O error within about
/// `timeout`; a host whose kernel still answers is caught by [`Conn::stalled`].
pub(super) fn tune(config: &mut Config, timeout: Duration) {
    let probe = (timeout / 3).max(Duration::from_secs(1));
    config
        .connect_timeout(timeout)
        .keepalives(true)
        .keepalives_idle(probe)
        .keepalives_interval(probe)
        .keepalives_retries(3)
        .tcp_user_timeout(timeout.max(Duration::from_secs(1)));
}

impl Conn {
    pub fn new(
        config: Config,
        tls: (MakeRustls, PgTls),
        host: String,
        on_drop: Box<dyn Fn() + Send + Sync>,
    ) -> Conn {
        Conn {
            config,
            tls: tls.0,
            tls_url: tls.1,
            host,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            last_answer: AtomicU64::new(clock::now_nanos()),
            drops: Arc::default(),
            on_drop,
        }
    }

    fn open_client(&self) -> Option<Arc<Client>> {
        lock(&self.current)
            .as_ref()
            .filter(|l| !l.client.is_closed())
            .map(|l| l.client.clone())
    }

    /// The open connection, or a new one.
    pub async fn client(self: &Arc<Self>) -> Result<Arc<Client>, StoreError> {
        if let Some(c) = self.open_client() {
            return Ok(c);
        }
        let _one = self.connecting.lock().await;
        if let Some(c) = self.open_client() {
            return Ok(c);
        }
        let (client, connection) = self.config.connect(self.tls.clone()).await.map_err(|e| {
            match super::tls::explain(&e, &self.tls_url, &self.host) {
                Some(why) => StoreError::Refused(why),
                None => classify(e),
            }
        })?;
        let client = Arc::new(client);
        let conn = Arc::downgrade(self);
        let driver = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "the PostgreSQL connection closed");
            }
            // Closed under us (not replaced): the next request opens a new one.
            if let Some(conn) = conn.upgrade() {
                conn.dropped();
            }
        });
        self.answered();
        *lock(&self.current) = Some(Live {
            client: client.clone(),
            driver,
        });
        Ok(client)
    }

    fn dropped(&self) {
        self.drops.fetch_add(1, Ordering::AcqRel);
        (self.on_drop)();
    }

    /// A reply (rows or a server error) came back: the connection is alive.
    pub fn answered(&self) {
        self.last_answer
            .fetch_max(clock::now_nanos(), Ordering::Relaxed);
    }

    /// A request sent at `sent` (clock nanos) got no answer in time: unless something answered
    /// since, the connection is dropped (its requests fail) and the next request opens another.
    pub fn stalled(&self, sent: u64) {
        if self.last_answer.load(Ordering::Relaxed) >= sent {
            return;
        }
        if let Some(live) = lock(&self.current).take() {
            tracing::warn!("the PostgreSQL connection stopped answering; replacing it");
            live.driver.abort();
            self.dropped();
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(live) = lock(&self.current).take() {
            live.driver.abort();
        }
    }
}
