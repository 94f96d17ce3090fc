//! Building a Cluster connection that does not wait on a silent node.
//!
//! The client library builds a connection by connecting to every seed and then every node of
//! the slot map, and asks nodes for the map one at a time, waiting out each silent one. A
//! SIGSTOPped master among them stalls every new connection for the whole connect timeout, so a
//! replacement could never finish until the hung node died. Instead, every known node is probed
//! at once with a short limit; only nodes that answered seed the new connection, and it is built
//! only once no silent node still serves slots, that is once the Cluster has promoted a replica.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::Value;
use redis::{AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, ProtocolVersion, PushInfo};
use tokio::sync::mpsc;

use super::{classify, link};
use crate::store::tls::TlsPem;
use crate::store::StoreError;

/// How often the slot map is asked again while a silent node still serves slots.
const POLL: Duration = Duration::from_millis(100);

type Addr = (String, u16);

/// The seeds and every node seen since, to probe when the connection must be replaced.
pub(super) struct ClusterOrigin {
    seeds: Vec<ConnectionInfo>,
    known: Mutex<Vec<Addr>>,
    tls: TlsPem,
    push: mpsc::UnboundedSender<PushInfo>,
    timeout: Duration,
}

impl ClusterOrigin {
    pub fn new(
        seeds: Vec<ConnectionInfo>,
        tls: TlsPem,
        push: mpsc::UnboundedSender<PushInfo>,
        timeout: Duration,
    ) -> ClusterOrigin {
        ClusterOrigin {
            seeds,
            known: Mutex::new(Vec::new()),
            tls,
            push,
            timeout,
        }
    }

    /// The first connection, from the seeds as given; remembers the nodes of its slot map.
    pub async fn connect(&self) -> Result<ClusterConnection, StoreError> {
        let client = self.client(self.seeds.clone(), self.timeout)?;
        let mut conn = client.get_async_connection().await.map_err(classify)?;
        let slots: Value = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query_async(&mut conn)
            .await
            .map_err(classify)?;
        let host = addr_of(&self.seeds[0]).0;
        self.remember(&parse_slots(&slots, &host));
        Ok(conn)
    }

    /// A new connection seeded only by nodes that answer, built once every master of the slot
    /// map answers. Runs until then; the caller bounds it.
    pub async fn reconnect(&self) -> Result<ClusterConnection, StoreError> {
        if crate::mutant::active("cluster-seeds-only") {
            return self.connect().await;
        }
        let limit = probe_limit(self.timeout);
        let mut probes = tokio::task::JoinSet::new();
        for info in self.candidates() {
            probes.spawn(async move {
                let answer = probe(&info, limit).await;
                (info, answer)
            });
        }
        let mut live: Vec<(ConnectionInfo, MultiplexedConnection)> = Vec::new();
        let mut last_error = None;
        while let Some(joined) = probes.join_next().await {
            match joined {
                Ok((info, Ok(conn))) => live.push((info, conn)),
                Ok((_, Err(e))) => last_error = Some(e),
                Err(e) => last_error = Some(StoreError::Unreachable(e.to_string())),
            }
        }
        if live.is_empty() {
            return Err(last_error.unwrap_or_else(|| {
                StoreError::Unreachable("no Redis Cluster node answered".into())
            }));
        }
        let answered: HashSet<Addr> = live.iter().map(|(info, _)| addr_of(info)).collect();
        loop {
            let mut map = None;
            for (info, conn) in &mut live {
                if let Ok(Ok(slots)) = tokio::time::timeout(limit, cluster_slots(conn)).await {
                    map = Some(parse_slots(&slots, &addr_of(info).0));
                    break;
                }
            }
            let map = map.ok_or_else(|| {
                StoreError::Unreachable("no Redis Cluster node returned its slot map".into())
            })?;
            self.remember(&map);
            let silent: Vec<&Addr> = map
                .iter()
                .map(|s| &s.master)
                .filter(|m| !answered.contains(*m))
                .collect();
            if silent.is_empty() {
                break;
            }
            tracing::debug!(node = ?silent[0], "a silent node still serves slots; waiting for a promotion");
            tokio::time::sleep(POLL).await;
        }
        let seeds = live.into_iter().map(|(info, _)| info).collect();
        let client = self.client(seeds, limit)?;
        client.get_async_connection().await.map_err(classify)
    }

    /// `connect_limit` bounds each node's connection set-up: a node that went silent after the
    /// probe costs a replacement that long, not the whole timeout.
    fn client(
        &self,
        seeds: Vec<ConnectionInfo>,
        connect_limit: Duration,
    ) -> Result<ClusterClient, StoreError> {
        let mut builder = ClusterClientBuilder::new(seeds)
            .use_protocol(ProtocolVersion::RESP3)
            .push_sender(self.push.clone())
            .connection_timeout(connect_limit)
            .response_timeout(self.timeout)
            .tcp_settings(link::tcp_settings(self.timeout))
            .retries(2);
        // Every node connection, also to nodes found later, trusts the same CA and presents
        // the same client certificate as the seeds.
        if !self.tls.is_empty() {
            builder = builder.certs(self.tls.certificates());
        }
        builder.build().map_err(classify)
    }

    fn candidates(&self) -> Vec<ConnectionInfo> {
        let mut seen: HashSet<Addr> = HashSet::new();
        let mut out = Vec::new();
        for info in &self.seeds {
            if seen.insert(addr_of(info)) {
                out.push(info.clone());
            }
        }
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for addr in known {
            if seen.insert(addr.clone()) {
                out.push(with_addr(&self.seeds[0], &addr));
            }
        }
        out
    }

    fn remember(&self, map: &[SlotRange]) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        for node in map.iter().flat_map(|s| s.nodes.iter()) {
            if !known.contains(node) {
                known.push(node.clone());
            }
        }
    }
}

/// Long enough for a node that answers, far shorter than the connect timeout.
fn probe_limit(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_millis(100), Duration::from_millis(500))
}

async fn probe(
    info: &ConnectionInfo,
    limit: Duration,
) -> Result<MultiplexedConnection, StoreError> {
    let client = redis::Client::open(info.clone()).map_err(classify)?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(limit))
        .set_response_timeout(Some(limit));
    let connect = client.get_multiplexed_async_connection_with_config(&config);
    match tokio::time::timeout(limit, connect).await {
        Ok(conn) => conn.map_err(classify),
        Err(_) => Err(StoreError::Unreachable(format!(
            "Redis Cluster node {:?} did not answer within {limit:?}",
            addr_of(info)
        ))),
    }
}

async fn cluster_slots(conn: &mut MultiplexedConnection) -> redis::RedisResult<Value> {
    redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await
}

/// One range of `CLUSTER SLOTS`: its master and every node listed for it.
#[derive(Debug, PartialEq)]
struct SlotRange {
    master: Addr,
    nodes: Vec<Addr>,
}

/// Parses `CLUSTER SLOTS`; an empty or unknown host ("" or "?") means the node that answered.
fn parse_slots(value: &Value, answered_by: &str) -> Vec<SlotRange> {
    let Value::Array(ranges) = value else {
        return Vec::new();
    };
    ranges
        .iter()
        .filter_map(|range| {
            let Value::Array(fields) = range else {
                return None;
            };
            let nodes: Vec<Addr> = fields
                .iter()
                .skip(2)
                .filter_map(|node| node_addr(node, answered_by))
                .collect();
            Some(SlotRange {
                master: nodes.first()?.clone(),
                nodes,
            })
        })
        .collect()
}

fn node_addr(node: &Value, answered_by: &str) -> Option<Addr> {
    let Value::Array(parts) = node else {
        return None;
    };
    let host = match parts.first()? {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        _ => return None,
    };
    let port = match parts.get(1)? {
        Value::Int(p) => u16::try_from(*p).ok()?,
        _ => return None,
    };
    let host = if host.is_empty() || host == "?" {
        answered_by.to_string()
    } else {
        host
    };
    Some((host, port))
}

fn addr_of(info: &ConnectionInfo) -> Addr {
    match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            (host.clone(), *port)
        }
        ConnectionAddr::Unix(path) => (path.display().to_string(), 0),
        #[allow(unreachable_patterns)]
        _ => (String::new(), 0),
    }
}

/// A seed's settings (credentials, TLS, protocol) for another node of the same Cluster.
fn with_addr(seed: &ConnectionInfo, (host, port): &Addr) -> ConnectionInfo {
    let addr = match seed.addr() {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host: host.clone(),
            port: *port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(host.clone(), *port),
    };
    seed.clone().set_addr(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ])
    }

    #[test]
    fn slots_name_each_range_master_first_and_fill_in_unknown_hosts() {
        let slots = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node("10.0.0.1", 7000),
                node("10.0.0.4", 7003),
            ]),
            Value::Array(vec![Value::Int(5461), Value::Int(10922), node("", 7001)]),
            Value::Array(vec![Value::Int(10923), Value::Int(16383), node("?", 7002)]),
        ]);
        let map = parse_slots(&slots, "127.0.0.1");
        let masters: Vec<_> = map.iter().map(|s| s.master.clone()).collect();
        assert_eq!(
            masters,
            vec![
                ("10.0.0.1".to_string(), 7000),
                ("127.0.0.1".to_string(), 7001),
                ("127.0.0.1".to_string(), 7002)
            ]
        );
        assert_eq!(map[0].nodes.len(), 2);
    }

    #[test]
    fn a_reply_that_is_not_a_slot_map_names_no_node() {
        assert!(parse_slots(&Value::Nil, "h").is_empty());
        let bad = Value::Array(vec![Value::Array(vec![Value::Int(0), Value::Int(1)])]);
        assert!(parse_slots(&bad, "h").is_empty());
    }

    #[test]
    fn probes_are_short_but_not_too_short() {
        assert_eq!(
            probe_limit(Duration::from_secs(5)),
            Duration::from_millis(500)
        );
        assert_eq!(
            probe_limit(Duration::from_millis(300)),
            Duration::from_millis(100)
        );
        assert_eq!(
            probe_limit(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
    }
}
