//! An in-process store (`memory://NAME`): for tests and local runs, and for the engine's
//! deterministic tests on tokio's paused clock. It follows the Redis scripts' rules, token
//! floor included; faults are switched on by the crate's own tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Acquire, Candidate, Holder, Renewal, Scope, Store, StoreError, Watch};

/// Checks a `memory://NAME` URL: the name says which in-process store elections share.
pub(crate) fn validate_url(url: &str) -> Result<(), String> {
    let name = url.split_once("://").map_or("", |(_, n)| n);
    if name.is_empty() || name.contains(['/', '@', ',']) {
        return Err(format!(
            "{url} is not a memory store URL; use memory://NAME (for example memory://tests): elections of one process on the same NAME share one in-process store"
        ));
    }
    Ok(())
}

#[derive(Clone)]
struct Lease {
    holder: Candidate,
    token: u64,
    since_ms: u64,
    expires: Instant,
    resign: bool,
}

#[derive(Default)]
struct State {
    leases: HashMap<Scope, Lease>,
    tokens: HashMap<Scope, u64>,
    watchers: HashMap<Scope, Vec<Arc<Notify>>>,
}

impl State {
    fn live(&mut self, scope: &Scope) -> Option<&mut Lease> {
        if self.leases.get(scope)?.expires <= Instant::now() {
            self.leases.remove(scope);
            return None;
        }
        self.leases.get_mut(scope)
    }

    fn wake(&self, scope: &Scope) {
        for n in self.watchers.get(scope).into_iter().flatten() {
            n.notify_one();
        }
    }
}

#[derive(Default)]
pub(crate) struct MemoryStore {
    state: Mutex<State>,
    /// Every request fails as unreachable while set.
    pub down: AtomicBool,
    /// Every request takes this long (milliseconds) before it is applied.
    pub latency_ms: AtomicU64,
    /// Requests served, for cost assertions.
    pub requests: AtomicU64,
    /// The next request panics (a bug in a store's code), then this clears.
    #[cfg(test)]
    pub panic_next: AtomicBool,
}

/// Wall-clock microseconds: the token floor, as the Redis script takes it from `TIME`.
fn wall_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl MemoryStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn enter(&self) -> Result<(), StoreError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let latency = self.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        if self.down.load(Ordering::Relaxed) {
            return Err(StoreError::Unreachable("memory store is down".into()));
        }
        #[cfg(test)]
        if self.panic_next.swap(false, Ordering::Relaxed) {
            panic!("a store bug, on purpose");
        }
        Ok(())
    }

    /// Forgets every key, as a restart without persistence would.
    #[cfg(test)]
    pub fn wipe(&self) {
        let mut s = self.state();
        s.leases.clear();
        s.tokens.clear();
    }

    /// The current holder's candidate id, if any.
    #[cfg(test)]
    pub fn holder(&self, scope: &Scope) -> Option<String> {
        self.state().live(scope).map(|l| l.holder.id.clone())
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
        let mut s = self.state();
        if let Some(l) = s.live(scope) {
            if l.holder.id != me.id {
                return Ok(Acquire::Held(holder_of(l)));
            }
        }
        let now_us = wall_micros();
        let last = s.tokens.get(scope).copied().unwrap_or(0);
        let token = (last + 1).max(now_us);
        s.tokens.insert(scope.clone(), token);
        let since_ms = now_us / 1000;
        let lease = Lease {
            holder: me.clone(),
            token,
            since_ms,
            expires: Instant::now() + ttl,
            resign: false,
        };
        s.leases.insert(scope.clone(), lease);
        Ok(Acquire::Granted { token, since_ms })
    }

    async fn renew(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: u64,
        ttl: Duration,
    ) -> Result<Renewal, StoreError> {
        self.enter().await?;
        let mut s = self.state();
        Ok(match s.live(scope) {
            Some(l) if l.holder.id == me.id && l.token == token => {
                l.expires = Instant::now() + ttl;
                if l.resign {
                    Renewal::ResignRequested
                } else {
                    Renewal::Renewed
                }
            }
            _ => Renewal::Lost,
        })
    }

    async fn release(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.enter().await?;
        let mut s = self.state();
        let ours = s
            .live(scope)
            .is_some_and(|l| l.holder.id == me.id && token.is_none_or(|t| l.token == t));
        if ours {
            s.leases.remove(scope);
            s.wake(scope);
        }
        Ok(ours)
    }

    async fn read(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        self.enter().await?;
        Ok(self.state().live(scope).map(|l| holder_of(l)))
    }

    async fn wait_replicas(&self, _: &Scope, count: u32, _: Duration) -> Result<u32, StoreError> {
        self.enter().await?;
        Ok(count)
    }

    async fn watch(&self, scope: &Scope) -> Result<Watch, StoreError> {
        let notify = Arc::new(Notify::new());
        let mut s = self.state();
        let list = s.watchers.entry(scope.clone()).or_default();
        list.retain(|n| Arc::strong_count(n) > 1);
        list.push(notify.clone());
        Ok(Watch {
            notify,
            drops: Arc::default(),
            _guard: Box::new(()),
        })
    }

    async fn request_resign(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        self.enter().await?;
        let mut s = self.state();
        let Some(l) = s.live(scope) else {
            return Ok(None);
        };
        l.resign = true;
        let holder = holder_of(l);
        s.wake(scope);
        Ok(Some(holder))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Holder)>, StoreError> {
        self.enter().await?;
        let mut s = self.state();
        let scopes: Vec<Scope> = s
            .leases
            .keys()
            .filter(|k| k.prefix == prefix)
            .cloned()
            .collect();
        let mut found = BTreeMap::new();
        for scope in scopes {
            if let Some(l) = s.live(&scope) {
                found.insert(scope.name.clone(), holder_of(l));
            }
        }
        Ok(found.into_iter().collect())
    }
}
