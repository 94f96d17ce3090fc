//! The one background thread: a current-thread tokio runtime that runs only baton's I/O,
//! started on first use and shared by every election of the process, with one connection
//! per store.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::ThreadId;
use std::time::Duration;

use crate::election::Control;
use crate::store::{Store, StoreError, StoreSpec};
use crate::Error;

struct Runtime {
    handle: tokio::runtime::Handle,
    thread: ThreadId,
    stores: tokio::sync::Mutex<HashMap<String, Weak<dyn Store>>>,
    elections: Mutex<Vec<Weak<Control>>>,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

fn get() -> Result<&'static Runtime, Error> {
    RUNTIME
        .get_or_init(start)
        .as_ref()
        .map_err(|e| Error::Runtime(e.clone()))
}

fn start() -> Result<Runtime, String> {
    // Several crates may race to install a TLS provider; whichever wins is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("baton-runtime".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => {
                    let _ = tx.send(Ok(rt.handle().clone()));
                    rt.block_on(std::future::pending::<()>());
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        })
        .map_err(|e| format!("could not start baton's runtime thread: {e}"))?;
    let handle = rx
        .recv()
        .map_err(|_| "baton's runtime thread died while starting".to_string())?
        .map_err(|e| format!("could not build baton's runtime: {e}"))?;
    Ok(Runtime {
        handle,
        thread: thread.thread().id(),
        stores: tokio::sync::Mutex::default(),
        elections: Mutex::default(),
    })
}

/// Whether the caller runs on baton's runtime thread (where blocking would deadlock).
pub(crate) fn on_runtime_thread() -> bool {
    RUNTIME
        .get()
        .and_then(|r| r.as_ref().ok())
        .is_some_and(|r| r.thread == std::thread::current().id())
}

/// Runs `fut` on the runtime thread and blocks the calling thread until it finishes.
pub(crate) fn block_on<F>(fut: F) -> Result<F::Output, Error>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = get()?;
    if on_runtime_thread() {
        return Err(Error::OnRuntimeThread);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.handle.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| Error::Runtime("a task on baton's runtime thread panicked".into()))
}

/// The shared connection to `spec`, connecting on first use (must run on the runtime).
pub(crate) async fn store(spec: &StoreSpec, timeout: Duration) -> Result<Arc<dyn Store>, Error> {
    let rt = get()?;
    let mut stores = rt.stores.lock().await;
    if let Some(store) = stores.get(&spec.url).and_then(Weak::upgrade) {
        return Ok(store);
    }
    let connect = tokio::time::timeout(timeout, crate::store::connect(spec, timeout)).await;
    let store = match connect {
        Ok(Ok(store)) => store,
        Ok(Err(StoreError::Refused(detail))) => return Err(Error::Store(detail)),
        Ok(Err(StoreError::Unreachable(detail))) => {
            return Err(Error::StoreUnreachable {
                url: spec.redacted(),
                detail,
            })
        }
        Err(_) => {
            return Err(Error::StoreUnreachable {
                url: spec.redacted(),
                detail: format!(
                    "no connection within connect_timeout ({})",
                    crate::config::fmt(timeout)
                ),
            })
        }
    };
    stores.retain(|_, s| s.strong_count() > 0);
    stores.insert(spec.url.clone(), Arc::downgrade(&store));
    Ok(store)
}

pub(crate) fn register(control: &Arc<Control>) {
    if let Ok(rt) = get() {
        let mut elections = rt.elections.lock().unwrap_or_else(|p| p.into_inner());
        elections.retain(|c| c.strong_count() > 0);
        elections.push(Arc::downgrade(control));
    }
}

/// Closes every election of this process, releasing every lease it holds, and waits until
/// the releases are confirmed (a couple of seconds at most when the store is unreachable).
/// Elections built afterwards work as usual. Call it on the way out of `main` or from a
/// shutdown hook; dropping each `Election` does the same one by one.
pub fn shutdown() {
    let Some(Ok(rt)) = RUNTIME.get() else {
        return;
    };
    let controls: Vec<Arc<Control>> = {
        let mut elections = rt.elections.lock().unwrap_or_else(|p| p.into_inner());
        let live = elections.iter().filter_map(Weak::upgrade).collect();
        elections.clear();
        live
    };
    // Ask all at once, then wait: the releases run concurrently on the runtime.
    let waits: Vec<_> = controls
        .iter()
        .filter_map(|c| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            c.commands
                .send(crate::election::engine::Command::Close(tx))
                .ok()
                .map(|_| (rx, c.reply_timeout))
        })
        .collect();
    if on_runtime_thread() {
        return;
    }
    for (rx, timeout) in waits {
        let _ = rx.recv_timeout(timeout);
    }
}
