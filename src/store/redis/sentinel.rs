//! Redis behind Sentinel: the sentinels name the master, and they are asked again whenever the
//! store looks unreachable, so the shared connection follows a failover.
//!
//! URL: `redis+sentinel://[user:password@]host:port[,host:port...]/MASTER_NAME[/DB]`; the
//! credentials are the master's (sentinels are reached without them).

use std::sync::{Mutex, RwLock};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use redis::aio::ConnectionManager;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{ConnectionAddr, ProtocolVersion, PushInfo};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::classify;
use super::link::manager_config;
use crate::store::StoreError;

/// How often a burst of errors may re-ask the sentinels.
const RESOLVE_EVERY: Duration = Duration::from_millis(100);

pub(crate) const SCHEME: &str = "redis+sentinel://";

/// A parsed `redis+sentinel://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentinelUrl {
    pub sentinels: Vec<(String, u16)>,
    pub master: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
}

const FORMAT: &str =
    "use redis+sentinel://[user:password@]host:port[,host:port...]/MASTER_NAME[/DB]";

pub(crate) fn parse(url: &str) -> Result<SentinelUrl, String> {
    let shown = crate::store::redact(url);
    let bad = |why: &str| format!("{shown} {why}; {FORMAT}");
    let rest = url
        .strip_prefix(SCHEME)
        .ok_or_else(|| bad("is not a Sentinel URL"))?;
    let (auth, rest) = match rest.rsplit_once('@') {
        Some((auth, rest)) => (Some(auth), rest),
        None => (None, rest),
    };
    // Percent-encoded, as in redis:// URLs, so that ':' and '@' can appear in credentials.
    let decode = |s: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| bad("has credentials that are not UTF-8 once percent-decoded"))
    };
    let (username, password) = match auth.map(|a| a.split_once(':').unwrap_or(("", a))) {
        Some((user, pass)) => (
            Some(decode(user)?).filter(|u| !u.is_empty()),
            Some(decode(pass)?),
        ),
        None => (None, None),
    };
    let (hosts, path) = rest.split_once('/').ok_or_else(|| bad("names no master"))?;
    let (master, db) = match path.split_once('/') {
        Some((m, db)) => (
            m,
            db.parse()
                .map_err(|_| bad("has a database that is not a number"))?,
        ),
        None => (path, 0),
    };
    if master.is_empty() {
        return Err(bad("names no master"));
    }
    let sentinels = hosts
        .split(',')
        .map(|h| {
            let (host, port) = h.rsplit_once(':').unwrap_or((h, "26379"));
            let port = port
                .parse()
                .map_err(|_| bad(&format!("has a bad port in {h:?}")))?;
            if host.is_empty() {
                return Err(bad("has an empty host"));
            }
            Ok((host.to_string(), port))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(SentinelUrl {
        sentinels,
        master: master.to_string(),
        username,
        password,
        db,
    })
}

/// The connection to whichever node the sentinels name master.
pub(crate) struct Sentinel {
    client: tokio::sync::Mutex<SentinelClient>,
    current: RwLock<(String, ConnectionManager)>,
    push: mpsc::UnboundedSender<PushInfo>,
    timeout: Duration,
    last_resolve: Mutex<Option<Instant>>,
}

impl Sentinel {
    pub async fn connect(
        url: &SentinelUrl,
        push: mpsc::UnboundedSender<PushInfo>,
        timeout: Duration,
    ) -> Result<Sentinel, StoreError> {
        let addrs = url
            .sentinels
            .iter()
            .map(|(h, p)| ConnectionAddr::Tcp(h.clone(), *p));
        let mut builder =
            SentinelClientBuilder::new(addrs, &url.master, SentinelServerType::Master)
                .map_err(classify)?
                .set_client_to_redis_protocol(ProtocolVersion::RESP3)
                .set_client_to_redis_db(url.db);
        if let Some(user) = &url.username {
            builder = builder.set_client_to_redis_username(user);
        }
        if let Some(password) = &url.password {
            builder = builder.set_client_to_redis_password(password);
        }
        let mut client = builder.build().map_err(classify)?;
        let (addr, manager) = open_master(&mut client, &push, timeout).await?;
        Ok(Sentinel {
            client: tokio::sync::Mutex::new(client),
            current: RwLock::new((addr, manager)),
            push,
            timeout,
            last_resolve: Mutex::new(None),
        })
    }

    /// The connection to the master as last resolved.
    pub fn manager(&self) -> ConnectionManager {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    /// The master stopped answering: asks the sentinels again and opens a new connection even
    /// when they still name the same node.
    pub async fn reconnect(&self, channels: Vec<String>) -> Result<(), StoreError> {
        let mut client = self.client.lock().await;
        let (addr, mut manager) = open_master(&mut client, &self.push, self.timeout).await?;
        for channel in &channels {
            manager.subscribe(channel).await.map_err(classify)?;
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = (addr, manager);
        Ok(())
    }

    /// Asks the sentinels who is master now; on a change, connects there and re-subscribes
    /// `channels`. Rate-limited: a burst of failing requests asks once. True when it switched.
    pub async fn follow_master(&self, channels: Vec<String>) -> bool {
        if crate::mutant::active("sentinel-no-follow") {
            return false;
        }
        {
            let mut last = self.last_resolve.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < RESOLVE_EVERY) {
                return false;
            }
            *last = Some(Instant::now());
        }
        let mut client = self.client.lock().await;
        let Ok(resolved) = client.async_get_client().await else {
            return false;
        };
        let addr = resolved.get_connection_info().addr().to_string();
        if addr == self.current.read().unwrap_or_else(|p| p.into_inner()).0 {
            return false;
        }
        let Ok((addr, mut manager)) = open_master(&mut client, &self.push, self.timeout).await
        else {
            return false;
        };
        tracing::warn!(master = %addr, "Sentinel named a new master; following it");
        for channel in &channels {
            let _ = manager.subscribe(channel).await;
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = (addr, manager);
        true
    }
}

async fn open_master(
    client: &mut SentinelClient,
    push: &mpsc::UnboundedSender<PushInfo>,
    timeout: Duration,
) -> Result<(String, ConnectionManager), StoreError> {
    let master = client.async_get_client().await.map_err(classify)?;
    let addr = master.get_connection_info().addr().to_string();
    let manager = ConnectionManager::new_with_config(master, manager_config(push, timeout))
        .await
        .map_err(classify)?;
    Ok((addr, manager))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sentinel_urls() {
        let u = parse("redis+sentinel://u:pw@s1:26379,s2:26380/mymaster/2").unwrap();
        assert_eq!(u.sentinels, [("s1".into(), 26379), ("s2".into(), 26380)]);
        assert_eq!((u.master.as_str(), u.db), ("mymaster", 2));
        assert_eq!(
            (u.username.as_deref(), u.password.as_deref()),
            (Some("u"), Some("pw"))
        );
        let u = parse("redis+sentinel://a%3Ab:p%40w@s1/m").unwrap();
        assert_eq!(
            (u.username.as_deref(), u.password.as_deref()),
            (Some("a:b"), Some("p@w"))
        );
        let u = parse("redis+sentinel://:pw@s1/m").unwrap();
        assert_eq!(
            (u.sentinels[0].1, u.username, u.password.as_deref()),
            (26379, None, Some("pw"))
        );
    }

    #[test]
    fn bad_sentinel_urls_say_the_format() {
        for bad in [
            "redis+sentinel://s1:1",
            "redis+sentinel://s1:x/m",
            "redis+sentinel://s1/",
            "redis+sentinel://s1/m/x",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("MASTER_NAME"), "{bad}: {err}");
        }
        assert!(!parse("redis+sentinel://u:secret@s1/")
            .unwrap_err()
            .contains("secret"));
    }
}
