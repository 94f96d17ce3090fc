//! Release notifications: one connection of its own per store runs `LISTEN` on the table's
//! channel and wakes the elections named in each payload. It reconnects by itself; every
//! (re)connect wakes every election, since a release may have gone unheard meanwhile.
//!
//! A hung link sends no RST and a listening connection sends nothing, so nothing would show
//! that it stopped hearing: it is replaced when the statement connection drops or is replaced
//! (the same link), and when a ping every `timeout` gets no answer within `timeout`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Config};

use super::tls::MakeRustls;

use crate::store::Scope;

pub(super) type Watchers = Mutex<HashMap<Scope, Vec<Weak<Notify>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Wakes every election of the store.
pub(super) fn wake_all(watchers: &Watchers) {
    lock(watchers)
        .values()
        .flatten()
        .filter_map(Weak::upgrade)
        .for_each(|n| n.notify_one());
}

/// Wakes the elections a payload (`["prefix", "name"]`, from the release statement) names.
fn dispatch(watchers: &Watchers, payload: &str) {
    let Ok((prefix, name)) = serde_json::from_str::<(String, String)>(payload) else {
        return;
    };
    let scope = Scope { prefix, name };
    if let Some(list) = lock(watchers).get(&scope) {
        list.iter()
            .filter_map(Weak::upgrade)
            .for_each(|n| n.notify_one());
    }
}

pub(super) struct Listener {
    /// True while `LISTEN` is in force.
    pub ready: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Listener {
    /// `relisten` makes it reconnect; `timeout` spaces and limits its pings.
    pub fn start(
        config: Config,
        tls: MakeRustls,
        channel: String,
        watchers: Weak<Watchers>,
        relisten: Arc<Notify>,
        timeout: Duration,
    ) -> Listener {
        let (tx, ready) = watch::channel(false);
        let task = tokio::spawn(run(config, tls, channel, watchers, tx, relisten, timeout));
        Listener { ready, task }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    config: Config,
    tls: MakeRustls,
    channel: String,
    watchers: Weak<Watchers>,
    ready: watch::Sender<bool>,
    relisten: Arc<Notify>,
    timeout: Duration,
) {
    let listen = format!("LISTEN \"{}\"", channel.replace('"', "\"\""));
    let mut pause = Duration::from_millis(50);
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let pump = async {
                    loop {
                        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(AsyncMessage::Notification(n))) => match watchers.upgrade() {
                                Some(w) => dispatch(&w, n.payload()),
                                None => return,
                            },
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "the PostgreSQL LISTEN connection closed");
                                return;
                            }
                            None => return,
                        }
                    }
                };
                let subscribe = async {
                    client.batch_execute(&listen).await?;
                    ready.send_replace(true);
                    if let Some(w) = watchers.upgrade() {
                        wake_all(&w);
                    }
                    // Keeps the client (and with it the session) until the pump ends, or
                    // until a ping goes unanswered.
                    loop {
                        tokio::time::sleep(timeout).await;
                        let ping = tokio::time::timeout(timeout, client.simple_query(""));
                        if ping.await.is_err() {
                            tracing::warn!(
                                "the PostgreSQL LISTEN connection stopped answering; replacing it"
                            );
                            return Ok::<(), tokio_postgres::Error>(());
                        }
                    }
                };
                tokio::select! {
                    _ = pump => {}
                    r = subscribe => if let Err(e) = r {
                        tracing::warn!(error = %e, "LISTEN failed: handover waits for lease expiry until it works");
                    },
                    _ = relisten.notified() => {}
                }
                pause = Duration::from_millis(50);
            }
            Err(e) => {
                tracing::warn!(error = %e, "no PostgreSQL LISTEN connection: handover waits for lease expiry until it is back");
            }
        }
        ready.send_replace(false);
        let Some(w) = watchers.upgrade() else {
            return;
        };
        wake_all(&w);
        drop(w);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Drops an election's watcher list when its last watcher goes.
pub(super) struct WatchGuard {
    pub scope: Scope,
    pub watchers: Weak<Watchers>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        if let Some(w) = self.watchers.upgrade() {
            let mut w = lock(&w);
            if let Some(list) = w.get_mut(&self.scope) {
                list.retain(|n| n.strong_count() > 0);
                if list.is_empty() {
                    w.remove(&self.scope);
                }
            }
        }
    }
}
