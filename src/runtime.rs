//! The one background thread: a current-thread tokio runtime that runs only baton's I/O,
//! started on first use and shared by every election of the process, with one connection
//! per store. A process forked after the runtime started gets a runtime of its own on first
//! use in the child (the parent's thread does not exist there).

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::election::engine::RELEASE_TIMEOUT;
use crate::election::Control;
use crate::store::{Store, StoreError, StoreSpec};
use crate::{fork, Error};

struct Runtime {
    handle: tokio::runtime::Handle,
    generation: u64,
    stores: tokio::sync::Mutex<HashMap<StoreSpec, Weak<dyn Store>>>,
    elections: Mutex<Vec<Weak<Control>>>,
}

static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

thread_local! {
    static ON_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

/// The longest [`shutdown`] waits: every election's release runs at once, each bounded by the
/// release timeout, plus a little slack for the reply.
pub const SHUTDOWN_BOUND: Duration = Duration::from_millis(2_500);

/// The runtime's slot, locked across a `fork()` (see `fork.rs`).
pub(crate) fn hold_for_fork() -> Box<dyn std::any::Any> {
    Box::new(RUNTIME.lock().unwrap_or_else(|p| p.into_inner()))
}

fn get() -> Result<Arc<Runtime>, Error> {
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = slot.as_ref() {
        if rt.generation == fork::generation() {
            return Ok(rt.clone());
        }
        // Forked: the parent's runtime thread is not here. Its state must not be dropped in
        // the child (dropping connections could touch the parent's sockets' state).
        std::mem::forget(slot.take());
    }
    let rt = Arc::new(start().map_err(Error::Runtime)?);
    *slot = Some(rt.clone());
    Ok(rt)
}

fn start() -> Result<Runtime, String> {
    // Several crates may race to install a TLS provider; whichever wins is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    fork::watch();
    let generation = fork::generation();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("baton-runtime".into())
        .spawn(move || {
            ON_RUNTIME.with(|on| on.set(true));
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
        generation,
        stores: tokio::sync::Mutex::default(),
        elections: Mutex::default(),
    })
}

/// Whether the caller runs on baton's runtime thread (where blocking would deadlock).
pub(crate) fn on_runtime_thread() -> bool {
    ON_RUNTIME.with(Cell::get)
}

/// Runs `fut` on the runtime thread and blocks the calling thread until it finishes.
pub(crate) fn block_on<F>(fut: F) -> Result<F::Output, Error>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if on_runtime_thread() {
        return Err(Error::OnRuntimeThread);
    }
    let rt = get()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.handle.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| Error::Runtime("a task on baton's runtime thread panicked".into()))
}

/// The shared connection to `spec`, connecting on first use; with `dedicated`, a connection
/// of its own that no other election uses (must run on the runtime).
pub(crate) async fn store(
    spec: &StoreSpec,
    timeout: Duration,
    dedicated: bool,
) -> Result<Arc<dyn Store>, Error> {
    let rt = get()?;
    let mut stores = rt.stores.lock().await;
    if !dedicated {
        if let Some(store) = stores.get(spec).and_then(Weak::upgrade) {
            return Ok(store);
        }
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
    if !dedicated {
        stores.retain(|_, s| s.strong_count() > 0);
        stores.insert(spec.clone(), Arc::downgrade(&store));
    }
    Ok(store)
}

pub(crate) fn register(control: &Arc<Control>) {
    if let Ok(rt) = get() {
        let mut elections = rt.elections.lock().unwrap_or_else(|p| p.into_inner());
        elections.retain(|c| c.strong_count() > 0);
        elections.push(Arc::downgrade(control));
    }
}

/// Closes every election of this process, releasing every lease it holds. Leadership ends at
/// once; the releases run concurrently, and the call returns when all are confirmed or after
/// [`SHUTDOWN_BOUND`] (2.5s) at most, whatever the number of elections: an unconfirmed lease
/// expires by itself. Elections built afterwards work as usual. Call it on the way out of
/// `main` or from a shutdown hook; dropping each `Election` does the same one by one.
pub fn shutdown() {
    let rt = {
        let slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(rt) if rt.generation == fork::generation() => rt.clone(),
            _ => return,
        }
    };
    let controls: Vec<Arc<Control>> = {
        let mut elections = rt.elections.lock().unwrap_or_else(|p| p.into_inner());
        let live = elections.iter().filter_map(Weak::upgrade).collect();
        elections.clear();
        live
    };
    let acks: Vec<_> = controls.iter().filter_map(|c| c.start_close()).collect();
    let until = Instant::now() + SHUTDOWN_BOUND.max(RELEASE_TIMEOUT);
    for ack in acks {
        let _ = ack.recv_timeout(until.saturating_duration_since(Instant::now()));
    }
}
