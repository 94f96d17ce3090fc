//! Redis standalone and Redis Cluster (DESIGN.md section 4).
//!
//! One multiplexed RESP3 connection per store carries both the scripts and the release
//! subscriptions; the connection re-subscribes by itself after a reconnect or a slot move.
//! Keys of one election share the hash tag `{<election>}`, so each script runs on one node.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, RedisError, Value};
use tokio::sync::{mpsc, Notify};

use super::{Acquire, Candidate, Holder, Renewal, Scope, Store, StoreError, StoreSpec, Watch};

const MIN_MAJOR_VERSION: u32 = 7;

/// Checks that `url` is a Redis URL the client can use.
pub(crate) fn validate_url(url: &str) -> Result<(), String> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some("redis" | "rediss") => {}
        Some("redis+sentinel") => return sentinel::parse(url).map(|_| ()),
        _ => {
            return Err(format!(
                "{} is not a Redis URL; use redis://[user:password@]host:port[/db], rediss:// for TLS, or a comma-separated list of cluster seeds",
                super::redact(url)
            ))
        }
    }
    url.into_connection_info().map(|_| ()).map_err(|e| {
        format!(
            "{} is not a valid Redis URL ({e}); use redis://[user:password@]host:port[/db]",
            super::redact(url)
        )
    })
}

mod cluster;
mod link;
mod list;
mod script;
mod sentinel;
pub(crate) use sentinel::SCHEME as SENTINEL_SCHEME;

use cluster::ClusterOrigin;
use link::{Link, Live, Origin};
use script::Lua;

type Watchers = Mutex<HashMap<String, Vec<Weak<Notify>>>>;

/// A Redis deployment: one shared connection and the release subscriptions of its elections.
pub(crate) struct RedisStore {
    link: Arc<Link>,
    watchers: Arc<Watchers>,
    /// Connection drops seen (Disconnection pushes).
    drops: Arc<AtomicU64>,
    acquire: Lua,
    renew: Lua,
    release: Lua,
    read: Lua,
    resign: Lua,
}

impl RedisStore {
    /// Connects to a standalone server, a Cluster (detected from the first seed's `HELLO`) or
    /// the master that Sentinel names.
    pub(crate) async fn connect(spec: &StoreSpec, timeout: Duration) -> Result<Self, StoreError> {
        let (push_tx, push_rx) = mpsc::unbounded_channel::<PushInfo>();
        let link = if spec.seeds[0].starts_with(SENTINEL_SCHEME) {
            let url = sentinel::parse(&spec.seeds[0]).map_err(StoreError::Refused)?;
            let sentinel = sentinel::Sentinel::connect(&url, push_tx.clone(), timeout).await?;
            check_version(&hello(&mut sentinel.manager()).await?)?;
            Link::new(Origin::Sentinel(Arc::new(sentinel)), None, push_tx, timeout)
        } else {
            Self::connect_direct(spec, push_tx, timeout).await?
        };
        let watchers: Arc<Watchers> = Arc::default();
        let drops: Arc<AtomicU64> = Arc::default();
        if let Some(name) = &spec.client_name {
            link.set_name(name.clone());
        }
        tokio::spawn(dispatch_pushes(
            push_rx,
            Arc::downgrade(&watchers),
            drops.clone(),
            Arc::downgrade(&link),
        ));
        Ok(RedisStore {
            link,
            watchers,
            drops,
            acquire: Lua::new(crate::mutant::script(include_str!("acquire.lua"))),
            renew: Lua::new(include_str!("renew.lua")),
            release: Lua::new(crate::mutant::script(include_str!("release.lua"))),
            read: Lua::new(include_str!("read.lua")),
            resign: Lua::new(include_str!("resign.lua")),
        })
    }

    /// A standalone server or a Cluster, told apart by the first seed's `HELLO`.
    async fn connect_direct(
        spec: &StoreSpec,
        push_tx: mpsc::UnboundedSender<PushInfo>,
        timeout: Duration,
    ) -> Result<Arc<Link>, StoreError> {
        let infos = spec
            .seeds
            .iter()
            .map(|s| {
                s.as_str()
                    .into_connection_info()
                    .map(|info| {
                        let settings = info
                            .redis_settings()
                            .clone()
                            .set_protocol(ProtocolVersion::RESP3);
                        info.set_redis_settings(settings)
                            .set_tcp_settings(link::tcp_settings(timeout))
                    })
                    .and_then(|info| with_tls(info, &spec.tls))
                    .map_err(|e| StoreError::Refused(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;

        if infos.len() == 1 {
            let client = redis::Client::open(infos[0].clone()).map_err(classify)?;
            let config = link::manager_config(&push_tx, timeout);
            let mut manager = ConnectionManager::new_with_config(client.clone(), config)
                .await
                .map_err(classify)?;
            let hello = hello(&mut manager).await?;
            check_version(&hello)?;
            if hello_field(&hello, "mode").as_deref() != Some("cluster") {
                let live = Some(Live::Single(manager));
                return Ok(Link::new(
                    Origin::Single(Box::new(client)),
                    live,
                    push_tx,
                    timeout,
                ));
            }
        }
        let cluster = ClusterOrigin::new(infos, spec.tls.clone(), push_tx.clone(), timeout);
        let live = Some(Live::Cluster(cluster.connect().await?));
        Ok(Link::new(
            Origin::Cluster(Box::new(cluster)),
            live,
            push_tx,
            timeout,
        ))
    }

    fn channels(&self) -> Vec<String> {
        self.watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Sharded pub/sub in a Cluster: the notification stays on the lease's shard.
    fn publish_command(&self) -> &'static str {
        if self.link.is_cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> redis::RedisResult<T> {
        let result = match self.link.live() {
            Live::Single(mut c) => cmd.query_async(&mut c).await,
            Live::Cluster(mut c) => cmd.query_async(&mut c).await,
        };
        // A server error is an answer too: the connection is alive.
        if result
            .as_ref()
            .map_or_else(|e| e.code().is_some(), |_| true)
        {
            self.link.answered();
        }
        result
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        lua: &Lua,
        keys: &[String],
        args: &[String],
    ) -> Result<T, StoreError> {
        let result = match self.query(lua.cmd(keys, args, false)).await {
            Err(e) if script::is_noscript(&e) => self.query(lua.cmd(keys, args, true)).await,
            other => other,
        };
        if let (Err(e), Some(s)) = (&result, self.link.sentinel()) {
            if retryable(e) && s.follow_master(self.channels()).await {
                self.link.rename();
            }
        }
        result.map_err(classify)
    }
}

/// `<prefix>{<election>}:<suffix>`: the hash tag keeps an election's keys on one Cluster slot.
pub(crate) fn key(scope: &Scope, suffix: &str) -> String {
    format!("{}{{{}}}:{}", scope.prefix, scope.name, suffix)
}

type HolderReply = (i64, String, String, String, String, String, i64);

/// A lease as the scripts report it. A field that does not parse is refused, never read as 0:
/// a token 0 would let a fenced resource accept a stale leader.
fn holder(reply: HolderReply) -> Result<Holder, StoreError> {
    let (_, candidate_id, host, pid, token, since, left) = reply;
    let bad = |field: &str, value: &str| {
        StoreError::Refused(format!(
            "the lease of {candidate_id:?} has an unreadable {field} {value:?}; something other than baton wrote baton's keys: delete the lease key or pick another key_prefix"
        ))
    };
    Ok(Holder {
        pid: pid.parse().map_err(|_| bad("pid", &pid))?,
        token: token
            .parse()
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| bad("token", &token))?,
        since_ms: since.parse().map_err(|_| bad("since", &since))?,
        remaining: Some(Duration::from_millis(left.max(0) as u64)),
        candidate_id,
        host,
    })
}

impl RedisStore {
    async fn acquire_as(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
        wary: bool,
    ) -> Result<Acquire, StoreError> {
        let keys = [key(scope, "lease"), key(scope, "token")];
        let args = [
            me.id.clone(),
            me.host.clone(),
            me.pid.to_string(),
            millis(ttl),
            u8::from(wary).to_string(),
        ];
        let reply: HolderReply = self.invoke(&self.acquire, &keys, &args).await?;
        if reply.0 == 2 {
            return Ok(Acquire::Absent);
        }
        let granted = reply.0 == 1;
        let h = holder(reply)?;
        Ok(Acquire::from_holder(granted, h))
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn acquire(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError> {
        self.acquire_as(scope, me, ttl, false).await
    }

    async fn acquire_wary(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError> {
        self.acquire_as(scope, me, ttl, true).await
    }

    async fn renew(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: u64,
        ttl: Duration,
    ) -> Result<Renewal, StoreError> {
        let keys = [key(scope, "lease")];
        let args = [me.id.clone(), token.to_string(), millis(ttl)];
        let renewed: i64 = self.invoke(&self.renew, &keys, &args).await?;
        Ok(match renewed {
            1 => Renewal::Renewed,
            2 => Renewal::ResignRequested,
            _ => Renewal::Lost,
        })
    }

    async fn release(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: Option<u64>,
    ) -> Result<bool, StoreError> {
        let keys = [key(scope, "lease")];
        let args = [
            me.id.clone(),
            token.map_or_else(|| "*".into(), |t| t.to_string()),
            self.publish_command().into(),
            key(scope, "released"),
        ];
        let released: i64 = self.invoke(&self.release, &keys, &args).await?;
        Ok(released == 1)
    }

    async fn read(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        let reply: Option<HolderReply> =
            self.invoke(&self.read, &[key(scope, "lease")], &[]).await?;
        reply.map(holder).transpose()
    }

    async fn request_resign(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        let keys = [key(scope, "lease")];
        let args = [self.publish_command().into(), key(scope, "released")];
        let reply: Option<HolderReply> = self.invoke(&self.resign, &keys, &args).await?;
        reply.map(holder).transpose()
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Holder)>, StoreError> {
        self.list_leases(prefix).await
    }

    async fn wait_replicas(
        &self,
        scope: &Scope,
        count: u32,
        timeout: Duration,
    ) -> Result<u32, StoreError> {
        let mut wait = redis::cmd("WAIT");
        wait.arg(count).arg(timeout.as_millis() as u64);
        let acked: i64 = self.on_key_node(scope, wait).await.map_err(classify)?;
        Ok(acked.max(0) as u32)
    }

    async fn eviction_risk(&self, scope: &Scope) -> Result<Option<String>, StoreError> {
        let mut info = redis::cmd("INFO");
        info.arg("memory");
        let text: String = self.on_key_node(scope, info).await.map_err(|e| {
            if e.code() == Some("NOPERM") {
                StoreError::Refused(format!(
                    "{e}; baton reads maxmemory-policy with INFO memory at build(): add +info to the ACL user (see `ACL SETUSER` in baton's README)"
                ))
            } else {
                classify(e)
            }
        })?;
        let policy = text
            .lines()
            .find_map(|l| l.strip_prefix("maxmemory_policy:"))
            .map(|p| p.trim().to_string());
        // volatile-* evicts only keys with a TTL, and baton's keys have none.
        Ok(policy.filter(|p| p.starts_with("allkeys-")))
    }

    fn stalled(&self, sent_nanos: u64) {
        // Once a new connection answers, every election tries again at once instead of
        // after its backoff: after a hang, nobody may lead until a follower asks.
        let watchers = Arc::downgrade(&self.watchers);
        self.link.stalled(sent_nanos, self.channels(), move || {
            if let Some(w) = watchers.upgrade() {
                wake_all(&w.lock().unwrap_or_else(|p| p.into_inner()));
            }
        });
    }

    async fn watch(&self, scope: &Scope) -> Result<Watch, StoreError> {
        let channel = key(scope, "released");
        let notify = Arc::new(Notify::new());
        let first = {
            let mut w = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
            let list = w.entry(channel.clone()).or_default();
            list.retain(|n| n.strong_count() > 0);
            list.push(Arc::downgrade(&notify));
            list.len() == 1
        };
        let guard = WatchGuard {
            channel: channel.clone(),
            link: self.link.clone(),
            watchers: Arc::downgrade(&self.watchers),
        };
        if first {
            let subscribed = match self.link.live() {
                Live::Single(mut c) => c.subscribe(&channel).await,
                Live::Cluster(mut c) => c.ssubscribe(&channel).await,
            };
            subscribed.map_err(classify)?;
        }
        Ok(Watch {
            notify,
            drops: self.drops.clone(),
            _guard: Box::new(guard),
        })
    }
}

impl RedisStore {
    /// One command on the node that serves the election's keys (any node when standalone).
    async fn on_key_node<T: redis::FromRedisValue>(
        &self,
        scope: &Scope,
        cmd: redis::Cmd,
    ) -> redis::RedisResult<T> {
        let result = match self.link.live() {
            Live::Single(mut c) => cmd.query_async(&mut c).await,
            Live::Cluster(mut c) => {
                let route = Route::with_key(key(scope, "lease"), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                c.route_command(cmd, routing)
                    .await
                    .and_then(|v| redis::from_redis_value(v).map_err(RedisError::from))
            }
        };
        if result.is_ok() {
            self.link.answered();
        }
        result
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

/// Unsubscribes from an election's channel when its last watcher goes.
struct WatchGuard {
    channel: String,
    link: Arc<Link>,
    watchers: Weak<Watchers>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let Some(watchers) = self.watchers.upgrade() else {
            return;
        };
        let last = {
            let mut w = watchers.lock().unwrap_or_else(|p| p.into_inner());
            let list = w.entry(self.channel.clone()).or_default();
            list.retain(|n| n.strong_count() > 0);
            let empty = list.is_empty();
            if empty {
                w.remove(&self.channel);
            }
            empty
        };
        if last {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let (live, channel) = (self.link.live(), std::mem::take(&mut self.channel));
                rt.spawn(async move {
                    let _ = match live {
                        Live::Single(mut c) => c.unsubscribe(&channel).await,
                        Live::Cluster(mut c) => c.sunsubscribe(&channel).await,
                    };
                });
            }
        }
    }
}

/// Routes release messages to the watchers of their channel; after a disconnect, wakes every
/// watcher so that leaders and followers check their lease at once.
async fn dispatch_pushes(
    mut rx: mpsc::UnboundedReceiver<PushInfo>,
    watchers: Weak<Watchers>,
    drops: Arc<AtomicU64>,
    link: Weak<Link>,
) {
    while let Some(push) = rx.recv().await {
        if push.kind == PushKind::Disconnection {
            // The client reconnects by itself, and a new connection has no name.
            if let Some(link) = link.upgrade() {
                link.rename();
            }
        }
        let Some(watchers) = watchers.upgrade() else {
            return;
        };
        let w = watchers.lock().unwrap_or_else(|p| p.into_inner());
        match push.kind {
            PushKind::Message | PushKind::SMessage => {
                let channel = push
                    .data
                    .first()
                    .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok());
                if let Some(list) = channel.and_then(|c| w.get(&c)) {
                    list.iter()
                        .filter_map(Weak::upgrade)
                        .for_each(|n| n.notify_one());
                }
            }
            PushKind::Disconnection => {
                drops.fetch_add(1, std::sync::atomic::Ordering::Release);
                wake_all(&w);
            }
            _ => {}
        }
    }
}

fn wake_all(watchers: &HashMap<String, Vec<Weak<Notify>>>) {
    watchers
        .values()
        .flatten()
        .filter_map(Weak::upgrade)
        .for_each(|n| n.notify_one());
}

/// Adds the CA and client certificate to a `rediss://` seed (a no-op without TLS material).
fn with_tls(
    info: redis::ConnectionInfo,
    tls: &super::tls::TlsPem,
) -> redis::RedisResult<redis::ConnectionInfo> {
    if tls.is_empty() {
        return Ok(info);
    }
    redis::Client::build_with_tls(info, tls.certificates()).map(|c| c.get_connection_info().clone())
}

async fn hello(conn: &mut ConnectionManager) -> Result<Value, StoreError> {
    redis::cmd("HELLO")
        .arg(3)
        .query_async(conn)
        .await
        .map_err(classify)
}

fn hello_field(hello: &Value, field: &str) -> Option<String> {
    let Value::Map(entries) = hello else {
        return None;
    };
    entries.iter().find_map(|(k, v)| {
        let k: String = redis::from_redis_value(k.clone()).ok()?;
        (k == field)
            .then(|| redis::from_redis_value(v.clone()).ok())
            .flatten()
    })
}

fn check_version(hello: &Value) -> Result<(), StoreError> {
    let version = hello_field(hello, "version").unwrap_or_default();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < MIN_MAJOR_VERSION {
        return Err(StoreError::Refused(format!(
            "the server runs Redis {version:?}; baton needs Redis {MIN_MAJOR_VERSION}.0 or later (sharded pub/sub, effect-replicated scripts): upgrade the server"
        )));
    }
    Ok(())
}

/// Connection trouble, a failover in progress, or a demoted master: worth a retry.
fn retryable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_cluster_error()
        || matches!(
            e.code(),
            Some("LOADING" | "TRYAGAIN" | "CLUSTERDOWN" | "MASTERDOWN" | "READONLY")
        )
}

/// Connection trouble is worth a retry; anything the server refused is not.
fn classify(e: RedisError) -> StoreError {
    if retryable(&e) {
        return StoreError::Unreachable(e.to_string());
    }
    if e.code() == Some("NOPERM") {
        return StoreError::Refused(format!(
            "{e}; the ACL user needs baton's keys and channels, see `ACL SETUSER` in baton's README"
        ));
    }
    StoreError::Refused(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_election_hash_tag() {
        let s = Scope {
            prefix: "baton:".into(),
            name: "nightly".into(),
        };
        assert_eq!(key(&s, "lease"), "baton:{nightly}:lease");
        assert_eq!(key(&s, "released"), "baton:{nightly}:released");
    }

    #[test]
    fn lease_fields_parse_or_are_refused() {
        let reply = |token: &str, left| {
            (
                0,
                "c".into(),
                "h".into(),
                "7".into(),
                token.into(),
                "1".into(),
                left,
            )
        };
        assert_eq!(
            holder(reply("9", 0)).unwrap().remaining,
            Some(Duration::ZERO)
        );
        let h = holder(reply("9", 1500)).unwrap();
        assert_eq!(h.remaining, Some(Duration::from_millis(1500)));
        assert_eq!((h.pid, h.token, h.since_ms), (7, 9, 1));
        for bad in ["", "x", "0", "-3"] {
            let err = holder(reply(bad, 5)).unwrap_err().to_string();
            assert!(err.contains("token") && err.contains("delete"), "{err}");
        }
    }

    #[test]
    fn version_check_names_the_fix() {
        let hello = Value::Map(vec![(
            Value::SimpleString("version".into()),
            Value::BulkString(b"6.2.14".to_vec()),
        )]);
        let err = check_version(&hello).unwrap_err().to_string();
        assert!(err.contains("6.2.14") && err.contains("upgrade"), "{err}");
    }
}
