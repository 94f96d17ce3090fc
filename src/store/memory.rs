//! An in-memory store on tokio's clock, for deterministic engine tests with a paused clock.
//! It follows the Redis scripts' rules; faults are switched on by the test.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Acquire, Candidate, Holder, Scope, Store, StoreError, Watch};

#[derive(Clone)]
struct Lease {
    holder: Candidate,
    token: u64,
    since_ms: u64,
    expires: Instant,
}

#[derive(Default)]
pub(crate) struct MemoryStore {
    leases: Mutex<HashMap<Scope, Lease>>,
    tokens: Mutex<HashMap<Scope, u64>>,
    watchers: Mutex<HashMap<Scope, Vec<Arc<Notify>>>>,
    /// Every request fails as unreachable while set.
    pub down: AtomicBool,
    /// Every request takes this long (milliseconds) before it is applied.
    pub latency_ms: AtomicU64,
    /// Requests served, for cost assertions.
    pub requests: AtomicU64,
}

impl MemoryStore {
    async fn enter(&self) -> Result<(), StoreError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let latency = self.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        if self.down.load(Ordering::Relaxed) {
            return Err(StoreError::Unreachable("memory store is down".into()));
        }
        Ok(())
    }

    fn live(&self, scope: &Scope) -> Option<Lease> {
        let mut leases = self.leases.lock().unwrap();
        match leases.get(scope) {
            Some(l) if l.expires > Instant::now() => Some(l.clone()),
            Some(_) => {
                leases.remove(scope);
                None
            }
            None => None,
        }
    }

    /// Forgets every key, as a restart without persistence would.
    pub fn wipe(&self) {
        self.leases.lock().unwrap().clear();
        self.tokens.lock().unwrap().clear();
    }

    /// The current holder's candidate id, if any.
    pub fn holder(&self, scope: &Scope) -> Option<String> {
        self.live(scope).map(|l| l.holder.id)
    }
}

fn holder_of(l: &Lease) -> Holder {
    Holder {
        candidate_id: l.holder.id.clone(),
        host: l.holder.host.clone(),
        pid: l.holder.pid,
        token: l.token,
        since_ms: l.since_ms,
        remaining: Some(l.expires.saturating_duration_since(Instant::now())),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn acquire(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError> {
        self.enter().await?;
        if let Some(l) = self.live(scope) {
            if l.holder.id != me.id {
                return Ok(Acquire::Held(holder_of(&l)));
            }
        }
        let mut tokens = self.tokens.lock().unwrap();
        let token = tokens.entry(scope.clone()).or_insert(0);
        *token += 1;
        let lease = Lease {
            holder: me.clone(),
            token: *token,
            since_ms: 0,
            expires: Instant::now() + ttl,
        };
        self.leases.lock().unwrap().insert(scope.clone(), lease);
        Ok(Acquire::Granted {
            token: *token,
            since_ms: 0,
        })
    }

    async fn renew(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: u64,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.enter().await?;
        let mut leases = self.leases.lock().unwrap();
        match leases.get_mut(scope) {
            Some(l) if l.expires > Instant::now() && l.holder.id == me.id && l.token == token => {
                l.expires = Instant::now() + ttl;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, scope: &Scope, me: &Candidate, token: u64) -> Result<bool, StoreError> {
        self.enter().await?;
        let ours = self
            .live(scope)
            .is_some_and(|l| l.holder.id == me.id && l.token == token);
        if ours {
            self.leases.lock().unwrap().remove(scope);
            for n in self
                .watchers
                .lock()
                .unwrap()
                .get(scope)
                .into_iter()
                .flatten()
            {
                n.notify_one();
            }
        }
        Ok(ours)
    }

    async fn read(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        self.enter().await?;
        Ok(self.live(scope).as_ref().map(holder_of))
    }

    async fn wait_replicas(&self, _: &Scope, count: u32, _: Duration) -> Result<u32, StoreError> {
        self.enter().await?;
        Ok(count)
    }

    async fn watch(&self, scope: &Scope) -> Result<Watch, StoreError> {
        let notify = Arc::new(Notify::new());
        self.watchers
            .lock()
            .unwrap()
            .entry(scope.clone())
            .or_default()
            .push(notify.clone());
        Ok(Watch {
            notify,
            _guard: Box::new(()),
        })
    }
}
