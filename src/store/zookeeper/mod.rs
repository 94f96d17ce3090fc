//! ZooKeeper (DESIGN.md section 4b): `zookeeper://[user:password@]host:port[,host:port...][/chroot]`.
//!
//! Client: the `zookeeper-client` crate (kezhuw), an async client written for async Rust
//! (no callbacks, one-shot watchers as futures, session state as a watch channel, digest auth,
//! ZooKeeper 3.5+ `create2` so a create returns the node's `Stat`). Its tasks run on baton's
//! runtime thread (it spawns on the current tokio runtime); socket readiness comes from the
//! `async-io` reactor thread it brings, which runs no baton code.
//!
//! Model:
//! - The lease of election `name` under `key_prefix` is the EPHEMERAL node
//!   `<chroot>/baton/<prefix>/<name>`, each segment percent-escaped (`/`, `%` and control
//!   characters; an empty segment is `%`, `.` and `..` are escaped), under persistent parents
//!   baton creates. Its data is JSON: candidate id, host, pid, the holder's ttl and a `resign`
//!   marker. The grant time is the node's `ctime` (the server's clock).
//! - The node is owned by a session whose timeout equals the election's ttl: the server ends
//!   the lease `ttl` after it last heard from us, which is what the engine's deadline (counted
//!   from the *sent* time of the last answered request) assumes. One session per distinct ttl;
//!   a server that negotiates another timeout is refused with its limits named.
//! - Token: the node's creation zxid (`czxid`). A zxid is `epoch << 32 | counter`: every
//!   ensemble leader starts a new, larger epoch, and within an epoch the counter grows with
//!   each committed write, so a node created later has a larger czxid, across leader changes.
//!   Remaining assumption: the ensemble keeps its transaction log (a wiped data directory
//!   restarts zxids at zero).
//! - Single belief: a renewal is `sync` + `getData` pipelined (the `sync` makes the server
//!   we talk to catch up with the leader, so a follower cut off from the quorum cannot vouch
//!   for us) and holds only while the node is owned by our session under our token and the
//!   session's connection never broke since the grant. Any disconnect wakes the leader, whose
//!   renewal then answers `Lost` without a round trip: leadership is regained only by a fresh
//!   acquire (which deletes and re-creates a leftover node of ours, so the token grows).
//! - Followers: a held lease reports `remaining = the holder's ttl` (an upper bound: the
//!   exact expiry is the server's secret) and each follower keeps one `exists` watch on the
//!   node, so a release or a session expiry (both delete the node) wakes it at once; an idle
//!   follower sends nothing but its session's pings.

mod session;
pub(crate) mod url;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use zookeeper_client::{Acls, CreateMode, Error as ZkError, Stat};

use super::{Acquire, Candidate, Holder, Renewal, Scope, Store, StoreError, StoreSpec, Watch};
use session::{OnChange, Session};
use url::ZkUrl;

/// The session timeout asked for by the session that `build()` opens (baton's default ttl):
/// elections with that ttl need no session of their own.
const FIRST_SESSION: Duration = Duration::from_secs(10);

/// Checks that `url` is a ZooKeeper URL baton can use.
pub(crate) fn validate_url(url: &str) -> Result<(), String> {
    url::parse(url).map(|_| ())
}

/// What the lease node holds.
#[derive(Serialize, Deserialize)]
struct LeaseData {
    candidate: String,
    host: String,
    pid: u32,
    ttl_ms: u64,
    #[serde(default)]
    resign: bool,
}

/// A grant this store made: trusted while its session's connection never broke.
struct Grant {
    session: i64,
    breaks: u64,
}

type Watchers = Mutex<Vec<Weak<Notify>>>;

/// A ZooKeeper ensemble: its sessions (one per ttl) and the watchers of its elections.
pub(crate) struct ZkStore(Arc<Inner>);

impl std::ops::Deref for ZkStore {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

pub(crate) struct Inner {
    url: ZkUrl,
    connect_timeout: Duration,
    /// Sessions by the timeout the server granted, in milliseconds.
    sessions: tokio::sync::Mutex<HashMap<u64, Arc<Session>>>,
    grants: Mutex<HashMap<u64, Grant>>,
    /// Creates in flight, by lease path: their node may not be in `grants` yet.
    creating: Arc<Mutex<HashMap<String, usize>>>,
    watchers: Arc<Watchers>,
    /// Refusals by ttl in milliseconds: a server that would not grant a session timeout is
    /// not asked again at every attempt.
    refused: Mutex<HashMap<u64, String>>,
    /// Parent nodes known to exist.
    dirs: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ZkStore {
    /// Opens the first session (so that `build()` reports a bad host, port or password).
    pub(crate) async fn connect(spec: &StoreSpec, timeout: Duration) -> Result<Self, StoreError> {
        let url = url::parse(&spec.seeds[0]).map_err(StoreError::Refused)?;
        let store = Inner {
            url,
            connect_timeout: timeout,
            sessions: Default::default(),
            grants: Default::default(),
            creating: Default::default(),
            refused: Default::default(),
            watchers: Arc::default(),
            dirs: Default::default(),
        };
        store.any_session().await?;
        Ok(ZkStore(Arc::new(store)))
    }
}

impl Inner {
    fn on_change(&self) -> OnChange {
        let watchers = Arc::downgrade(&self.watchers);
        Arc::new(move || {
            if let Some(w) = watchers.upgrade() {
                lock(&w)
                    .iter()
                    .filter_map(Weak::upgrade)
                    .for_each(|n| n.notify_one());
            }
        })
    }

    async fn open(&self, timeout: Duration) -> Result<Arc<Session>, StoreError> {
        Session::open(&self.url, timeout, self.connect_timeout, self.on_change()).await
    }

    /// Any live session, for reads and watches.
    async fn any_session(&self) -> Result<Arc<Session>, StoreError> {
        let mut sessions = self.sessions.lock().await;
        sessions.retain(|_, s| !s.dead());
        if let Some(s) = sessions.values().next() {
            return Ok(s.clone());
        }
        let s = self.open(FIRST_SESSION).await?;
        sessions.insert(s.timeout().as_millis() as u64, s.clone());
        Ok(s)
    }

    /// The session whose timeout is `ttl`, opened on first use.
    async fn lease_session(&self, ttl: Duration) -> Result<Arc<Session>, StoreError> {
        let ms = ttl.as_millis() as u64;
        if let Some(refusal) = lock(&self.refused).get(&ms) {
            return Err(StoreError::Refused(refusal.clone()));
        }
        let mut sessions = self.sessions.lock().await;
        if let Some(s) = sessions.get(&ms).filter(|s| !s.dead()) {
            return Ok(s.clone());
        }
        sessions.remove(&ms);
        let s = self.open(Duration::from_millis(ms)).await?;
        let granted = s.timeout().as_millis() as u64;
        if granted != ms {
            let limit = if granted > ms {
                format!("its minSessionTimeout is {granted}ms")
            } else {
                format!("its maxSessionTimeout is {granted}ms")
            };
            let refusal = format!(
                "ttl {ms}ms: the ZooKeeper server will not grant that session timeout ({limit}; by default tickTime x 2 to tickTime x 20); baton needs a session timeout equal to ttl, so set ttl within the server's limits or change minSessionTimeout/maxSessionTimeout in zoo.cfg"
            );
            lock(&self.refused).insert(ms, refusal.clone());
            return Err(StoreError::Refused(refusal));
        }
        sessions.insert(ms, s.clone());
        Ok(s)
    }

    /// The live session for `ttl` if one is open.
    async fn session_for(&self, ttl: Duration) -> Option<Arc<Session>> {
        let ms = ttl.as_millis() as u64;
        self.sessions
            .lock()
            .await
            .get(&ms)
            .filter(|s| !s.dead())
            .cloned()
    }

    fn acls(&self) -> Acls<'static> {
        if self.url.digest.is_some() {
            Acls::creator_all()
        } else {
            Acls::anyone_all()
        }
    }

    fn dir(&self, prefix: &str) -> String {
        format!("{}/baton/{}", self.url.chroot, url::segment(prefix))
    }

    fn path(&self, scope: &Scope) -> String {
        format!("{}/{}", self.dir(&scope.prefix), url::segment(&scope.name))
    }

    async fn ensure_dir(&self, s: &Session, dir: &str, again: bool) -> Result<(), StoreError> {
        if !again && lock(&self.dirs).contains(dir) {
            return Ok(());
        }
        let options = CreateMode::Persistent.with_acls(self.acls());
        s.client
            .mkdir(dir, &options)
            .await
            .map_err(|e| classify(e, dir))?;
        lock(&self.dirs).insert(dir.to_string());
        Ok(())
    }

    fn holder(&self, path: &str, data: &[u8], stat: &Stat) -> Result<Holder, StoreError> {
        let lease: LeaseData = serde_json::from_slice(data).map_err(|e| {
            StoreError::Refused(format!(
                "the lease node {path} holds data baton cannot read ({e}); something other than baton wrote it: delete the node or pick another key_prefix"
            ))
        })?;
        Ok(Holder {
            candidate_id: lease.candidate,
            host: lease.host,
            pid: lease.pid,
            token: stat.czxid as u64,
            since_ms: stat.ctime.max(0) as u64,
            remaining: Some(Duration::from_millis(lease.ttl_ms)),
        })
    }

    fn forget(&self, token: u64) {
        lock(&self.grants).remove(&token);
    }
}

/// Connection trouble is worth a retry; a refusal (ACL, bad path) is not.
fn classify(e: ZkError, what: &str) -> StoreError {
    match e {
        ZkError::NoAuth => StoreError::Refused(format!(
            "ZooKeeper refused access to {what}: the node's ACL belongs to another user; give every baton process the same user:password in the zookeeper:// URL, or delete the nodes under <chroot>/baton"
        )),
        ZkError::AuthFailed => StoreError::Refused(
            "ZooKeeper refused the credentials in the zookeeper:// URL; fix user:password".into(),
        ),
        ZkError::BadArguments(_) | ZkError::InvalidAcl | ZkError::Unimplemented => {
            StoreError::Refused(format!("ZooKeeper refused a request on {what}: {e}"))
        }
        e => StoreError::Unreachable(format!("ZooKeeper: {e} ({what})")),
    }
}

#[async_trait]
impl Store for ZkStore {
    async fn acquire(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError> {
        let s = self.lease_session(ttl).await?;
        let (dir, path) = (self.dir(&scope.prefix), self.path(scope));
        self.ensure_dir(&s, &dir, false).await?;
        let data = serde_json::to_vec(&LeaseData {
            candidate: me.id.clone(),
            host: me.host.clone(),
            pid: me.pid,
            ttl_ms: ttl.as_millis() as u64,
            resign: false,
        })
        .expect("lease data serializes");
        let options = CreateMode::Ephemeral.with_acls(self.acls());
        for _ in 0..4 {
            let breaks = s.breaks();
            let _creating = Creating::new(&self.creating, &path);
            match s.client.create(&path, &data, &options).await {
                Ok((stat, _)) => {
                    let token = stat.czxid as u64;
                    let grant = Grant {
                        session: s.id(),
                        breaks,
                    };
                    lock(&self.grants).insert(token, grant);
                    return Ok(Acquire::Granted {
                        token,
                        since_ms: stat.ctime.max(0) as u64,
                    });
                }
                Err(ZkError::NoNode) => self.ensure_dir(&s, &dir, true).await?,
                Err(ZkError::NodeExists) => match s.client.get_data(&path).await {
                    Ok((data, stat)) => {
                        let holder = self.holder(&path, &data, &stat)?;
                        // Elections of this process with the same ttl share the session: a
                        // node of ours is a leftover when it is this candidate's (an acquire
                        // whose answer was lost) or no election trusts it any more (a grant
                        // that ended at a disconnect).
                        let trusted = lock(&self.grants).contains_key(&holder.token)
                            || lock(&self.creating).get(&path).is_some_and(|n| *n > 1);
                        let leftover = stat.ephemeral_owner == s.id()
                            && (holder.candidate_id == me.id || !trusted);
                        if !leftover {
                            return Ok(Acquire::Held(holder));
                        }
                        // Re-created, so that the grant is proven now, under a larger token.
                        self.forget(holder.token);
                        match s.client.delete(&path, Some(stat.version)).await {
                            Ok(()) | Err(ZkError::NoNode | ZkError::BadVersion) => {}
                            Err(e) => return Err(classify(e, &path)),
                        }
                    }
                    Err(ZkError::NoNode) => {}
                    Err(e) => return Err(classify(e, &path)),
                },
                Err(e) => return Err(classify(e, &path)),
            }
        }
        Err(StoreError::Unreachable(format!(
            "the lease node {path} kept changing while baton tried to acquire it"
        )))
    }

    async fn renew(
        &self,
        scope: &Scope,
        _me: &Candidate,
        token: u64,
        ttl: Duration,
    ) -> Result<Renewal, StoreError> {
        let grant = lock(&self.grants)
            .get(&token)
            .map(|g| (g.session, g.breaks));
        let Some((session, breaks)) = grant else {
            return Ok(Renewal::Lost);
        };
        let intact = |s: &Session| s.id() == session && s.breaks() == breaks && s.connected();
        let Some(s) = self.session_for(ttl).await.filter(|s| intact(s)) else {
            self.forget(token);
            return Ok(Renewal::Lost);
        };
        let path = self.path(scope);
        let sync = s.client.sync(&path);
        let read = s.client.get_data(&path);
        let (synced, read) = tokio::join!(sync, read);
        let answer = synced.and(read);
        let renewal = match answer {
            Ok((data, stat))
                if stat.ephemeral_owner == session && stat.czxid as u64 == token && intact(&s) =>
            {
                let lease: Option<LeaseData> = serde_json::from_slice(&data).ok();
                if lease.is_some_and(|l| l.resign) {
                    Renewal::ResignRequested
                } else {
                    Renewal::Renewed
                }
            }
            Ok(_) | Err(ZkError::NoNode) => Renewal::Lost,
            // A broken connection ends belief: only a fresh acquire restores it.
            Err(ZkError::ConnectionLoss | ZkError::SessionExpired | ZkError::SessionMoved) => {
                Renewal::Lost
            }
            Err(e) => return Err(classify(e, &path)),
        };
        if renewal == Renewal::Lost {
            self.forget(token);
        }
        Ok(renewal)
    }

    async fn release(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: Option<u64>,
    ) -> Result<bool, StoreError> {
        if let Some(t) = token {
            self.forget(t);
        }
        let path = self.path(scope);
        let s = self.any_session().await?;
        let (data, stat) = match s.client.get_data(&path).await {
            Ok(found) => found,
            Err(ZkError::NoNode) => return Ok(false),
            Err(e) => return Err(classify(e, &path)),
        };
        let holder = self.holder(&path, &data, &stat)?;
        let ours = holder.candidate_id == me.id && token.is_none_or(|t| t == holder.token);
        if !ours {
            return Ok(false);
        }
        self.forget(holder.token);
        // The version pins the node we read: a node re-created since is someone else's grant.
        match s.client.delete(&path, Some(stat.version)).await {
            Ok(()) => Ok(true),
            Err(ZkError::NoNode | ZkError::BadVersion) => Ok(false),
            Err(e) => Err(classify(e, &path)),
        }
    }

    async fn read(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        let path = self.path(scope);
        let s = self.any_session().await?;
        match s.client.get_data(&path).await {
            Ok((data, stat)) => self.holder(&path, &data, &stat).map(Some),
            Err(ZkError::NoNode) => Ok(None),
            Err(e) => Err(classify(e, &path)),
        }
    }

    /// A ZooKeeper write is acknowledged by a quorum before it is answered.
    async fn wait_replicas(&self, _: &Scope, count: u32, _: Duration) -> Result<u32, StoreError> {
        Ok(count)
    }

    async fn watch(&self, scope: &Scope) -> Result<Watch, StoreError> {
        let notify = Arc::new(Notify::new());
        {
            let mut w = lock(&self.watchers);
            w.retain(|n| n.strong_count() > 0);
            w.push(Arc::downgrade(&notify));
        }
        let s = self.any_session().await?;
        let path = self.path(scope);
        let (_, watcher) = s
            .client
            .check_and_watch_stat(&path)
            .await
            .map_err(|e| classify(e, &path))?;
        let task = tokio::spawn(rearm(
            Arc::downgrade(&self.0),
            Arc::downgrade(&notify),
            s,
            path,
            watcher,
        ));
        Ok(Watch {
            // A disconnect already ends belief through renew (the session's state).
            drops: Arc::default(),
            notify,
            _guard: Box::new(AbortOnDrop(task)),
        })
    }

    async fn request_resign(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        let path = self.path(scope);
        let s = self.any_session().await?;
        for _ in 0..4 {
            let (data, stat) = match s.client.get_data(&path).await {
                Ok(found) => found,
                Err(ZkError::NoNode) => return Ok(None),
                Err(e) => return Err(classify(e, &path)),
            };
            let holder = self.holder(&path, &data, &stat)?;
            let mut lease: LeaseData = serde_json::from_slice(&data).expect("read by holder()");
            lease.resign = true;
            let marked = serde_json::to_vec(&lease).expect("lease data serializes");
            // The data watch of the holder (and of every follower) fires on this write.
            match s.client.set_data(&path, &marked, Some(stat.version)).await {
                Ok(_) => return Ok(Some(holder)),
                Err(ZkError::BadVersion) => continue,
                Err(ZkError::NoNode) => return Ok(None),
                Err(e) => return Err(classify(e, &path)),
            }
        }
        Err(StoreError::Unreachable(format!(
            "the lease node {path} kept changing while baton marked it for a resign"
        )))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Holder)>, StoreError> {
        let dir = self.dir(prefix);
        let s = self.any_session().await?;
        let names = match s.client.list_children(&dir).await {
            Ok(names) => names,
            Err(ZkError::NoNode) => return Ok(Vec::new()),
            Err(e) => return Err(classify(e, &dir)),
        };
        let mut found = BTreeMap::new();
        for child in names {
            let path = format!("{dir}/{child}");
            match s.client.get_data(&path).await {
                Ok((data, stat)) => {
                    found.insert(url::unsegment(&child), self.holder(&path, &data, &stat)?);
                }
                Err(ZkError::NoNode) => {}
                Err(e) => return Err(classify(e, &path)),
            }
        }
        Ok(found.into_iter().collect())
    }
}

/// Counts a create in flight for its path until dropped (also when the acquire is abandoned).
struct Creating {
    map: Arc<Mutex<HashMap<String, usize>>>,
    path: String,
}

impl Creating {
    fn new(map: &Arc<Mutex<HashMap<String, usize>>>, path: &str) -> Self {
        *lock(map).entry(path.to_string()).or_default() += 1;
        Creating {
            map: map.clone(),
            path: path.to_string(),
        }
    }
}

impl Drop for Creating {
    fn drop(&mut self) {
        let mut map = lock(&self.map);
        if let Some(n) = map.get_mut(&self.path) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.path);
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps one `exists` watch on a lease node (ZooKeeper watches fire once): after each event,
/// re-arms, then wakes the election, so that anything after the wake-up fires again.
async fn rearm(
    store: Weak<Inner>,
    notify: Weak<Notify>,
    mut s: Arc<Session>,
    path: String,
    first: zookeeper_client::OneshotWatcher,
) {
    let mut watcher = Some(first);
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(w) = watcher.take() {
            w.changed().await;
        }
        if s.dead() {
            let Some(store) = store.upgrade() else {
                return;
            };
            match store.any_session().await {
                Ok(fresh) => s = fresh,
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                    continue;
                }
            }
        }
        match s.client.check_and_watch_stat(&path).await {
            Ok((_, w)) => {
                watcher = Some(w);
                pause = Duration::from_millis(10);
            }
            Err(_) => {
                // Session events wake the election meanwhile.
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        }
        match notify.upgrade() {
            Some(n) => n.notify_one(),
            None => return,
        }
    }
}
