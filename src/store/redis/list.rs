//! Listing every election under a key prefix: `SCAN` for lease keys (on every master of a
//! Cluster), then one read script per lease, so that expired leases (they carry their expiry
//! in the hash and have no key TTL) are skipped exactly as `read` skips them.

use std::collections::BTreeMap;

use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::Value;

use super::{classify, holder, HolderReply, Live, RedisStore};
use crate::store::{Holder, StoreError};

/// Keys asked for per `SCAN` round trip: a hint to the server, not a limit.
const SCAN_COUNT: u32 = 1000;

/// `prefix` as a literal inside a Redis glob pattern (`*`, `?`, `[`, `]`, `\` escaped).
pub(crate) fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The election named by a lease key `<prefix>{<election>}:lease`, if it is one.
pub(crate) fn election_of<'k>(prefix: &str, key: &'k str) -> Option<&'k str> {
    let name = key
        .strip_prefix(prefix)?
        .strip_prefix('{')?
        .strip_suffix("}:lease")?;
    (!name.is_empty() && !name.contains(['{', '}'])).then_some(name)
}

fn scan(cursor: u64, pattern: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(SCAN_COUNT)
        .arg("TYPE")
        .arg("hash");
    cmd
}

fn scan_reply(v: Value) -> Result<(u64, Vec<String>), StoreError> {
    let (cursor, keys): (String, Vec<String>) = redis::from_redis_value(v)
        .map_err(|e| StoreError::Refused(format!("unexpected SCAN reply: {e}")))?;
    let cursor = cursor
        .parse()
        .map_err(|_| StoreError::Refused(format!("unexpected SCAN cursor {cursor:?}")))?;
    Ok((cursor, keys))
}

impl RedisStore {
    /// Every lease key under `prefix`, from every node that holds keys.
    async fn lease_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}{{*}}:lease", glob_escape(prefix));
        let mut keys = Vec::new();
        match self.link.live() {
            Live::Single(_) => {
                let mut cursor = 0;
                loop {
                    let reply = self.query(scan(cursor, &pattern)).await.map_err(classify)?;
                    let (next, found) = scan_reply(reply)?;
                    keys.extend(found);
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
            }
            Live::Cluster(mut c) => {
                // The first page from every master at once (the reply maps node address to
                // page); each node's cursor is then followed on that node alone.
                let all = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                let first = c
                    .route_command(scan(0, &pattern), all)
                    .await
                    .map_err(classify)?;
                let pages: Vec<(String, Value)> = redis::from_redis_value(first)
                    .map_err(|e| StoreError::Refused(format!("unexpected SCAN reply: {e}")))?;
                for (addr, page) in pages {
                    let (mut cursor, found) = scan_reply(page)?;
                    keys.extend(found);
                    let (host, port) = addr
                        .rsplit_once(':')
                        .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)))
                        .ok_or_else(|| {
                            StoreError::Refused(format!("unexpected node address {addr:?}"))
                        })?;
                    while cursor != 0 {
                        let node = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                            host: host.clone(),
                            port,
                        });
                        let reply = c
                            .route_command(scan(cursor, &pattern), node)
                            .await
                            .map_err(classify)?;
                        let (next, found) = scan_reply(reply)?;
                        keys.extend(found);
                        cursor = next;
                    }
                }
            }
        }
        Ok(keys)
    }

    /// Every election under `prefix` with a live lease, sorted by name.
    pub(crate) async fn list_leases(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, Holder)>, StoreError> {
        let mut found = BTreeMap::new();
        for key in self.lease_keys(prefix).await? {
            let Some(name) = election_of(prefix, &key) else {
                continue;
            };
            let reply: Option<HolderReply> = self
                .invoke(&self.read, std::slice::from_ref(&key), &[])
                .await?;
            if let Some(h) = reply.map(holder).transpose()? {
                found.insert(name.to_string(), h);
            }
        }
        Ok(found.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_the_prefix_are_literal() {
        assert_eq!(glob_escape("baton:"), "baton:");
        assert_eq!(glob_escape(r"a*b?c[d]e\f"), r"a\*b\?c\[d\]e\\f");
    }

    #[test]
    fn only_lease_keys_under_the_prefix_name_an_election() {
        assert_eq!(
            election_of("baton:", "baton:{nightly}:lease"),
            Some("nightly")
        );
        assert_eq!(election_of("b*:", "b*:{x}:lease"), Some("x"));
        for other in [
            "baton:{nightly}:token",
            "other:{nightly}:lease",
            "baton:{}:lease",
            "baton:nightly:lease",
            "baton:{a}b}:lease",
        ] {
            assert_eq!(election_of("baton:", other), None, "{other}");
        }
    }
}
