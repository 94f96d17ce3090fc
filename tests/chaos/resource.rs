//! The fenced resource: a redis-server of its own (never faulted) whose one Lua script accepts
//! a write only with a token at least as large as the largest it has accepted.
//!
//! It keeps what the checker needs: counts of accepted and rejected writes, every rejection
//! (the newest 10,000), the list of "epochs" (each first write under a larger token, with its
//! writer), and conflicts: a write accepted under the current largest token from a candidate
//! other than the one that first wrote it (a token handed out twice).

use std::time::Duration;

const SCRIPT: &str = r#"
local tok = tonumber(ARGV[1])
local maxs = redis.call('GET', KEYS[1])
local max = tonumber(maxs or '-1')
if tok < max then
  redis.call('HINCRBY', KEYS[3], 'rejected', 1)
  redis.call('RPUSH', KEYS[5], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. maxs)
  redis.call('LTRIM', KEYS[5], -10000, -1)
  return 0
end
if tok == max then
  if redis.call('GET', KEYS[2]) ~= ARGV[2] then
    redis.call('HINCRBY', KEYS[3], 'conflicts', 1)
  end
else
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('RPUSH', KEYS[4], ARGV[1] .. ' ' .. ARGV[2])
end
redis.call('HINCRBY', KEYS[3], 'accepted', 1)
return 1
"#;

fn keys(name: &str) -> [String; 5] {
    ["max", "owner", "stats", "epochs", "rejected"].map(|k| format!("fence:{{{name}}}:{k}"))
}

/// A candidate's connection to the resource (one for all its elections).
pub struct Fence {
    conn: redis::Connection,
    script: redis::Script,
}

impl Fence {
    pub fn connect(url: &str) -> redis::RedisResult<Fence> {
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_with_timeout(Duration::from_secs(2))?;
        conn.set_read_timeout(Some(Duration::from_secs(5)))?;
        conn.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(Fence {
            conn,
            script: redis::Script::new(SCRIPT),
        })
    }

    /// Writes under `token` for election `name`; true if the resource accepted it.
    pub fn write(&mut self, name: &str, token: u64, candidate: &str) -> redis::RedisResult<bool> {
        let mut inv = self.script.prepare_invoke();
        for k in &keys(name) {
            inv.key(k);
        }
        inv.arg(token).arg(candidate);
        let accepted: i64 = inv.invoke(&mut self.conn)?;
        Ok(accepted == 1)
    }
}

/// What the resource saw during one phase.
#[derive(Debug, Default, Clone)]
pub struct FenceReport {
    pub accepted: u64,
    pub rejected: u64,
    pub conflicts: u64,
    /// (token, candidate id) of each first write under a larger token, in order.
    pub epochs: Vec<(u64, String)>,
    /// (token, candidate id, largest token seen) of each rejected write.
    pub rejections: Vec<(u64, String, u64)>,
}

pub fn read(url: &str, name: &str) -> redis::RedisResult<FenceReport> {
    let mut conn = redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(5))?;
    let k = keys(name);
    let stats: std::collections::HashMap<String, u64> =
        redis::cmd("HGETALL").arg(&k[2]).query(&mut conn)?;
    let epochs: Vec<String> = redis::cmd("LRANGE")
        .arg(&k[3])
        .arg(0)
        .arg(-1)
        .query(&mut conn)?;
    let rejections: Vec<String> = redis::cmd("LRANGE")
        .arg(&k[4])
        .arg(0)
        .arg(-1)
        .query(&mut conn)?;
    let num = |s: Option<&str>| s.and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(FenceReport {
        accepted: stats.get("accepted").copied().unwrap_or(0),
        rejected: stats.get("rejected").copied().unwrap_or(0),
        conflicts: stats.get("conflicts").copied().unwrap_or(0),
        epochs: epochs
            .iter()
            .map(|e| {
                let mut p = e.split(' ');
                (num(p.next()), p.next().unwrap_or("").to_string())
            })
            .collect(),
        rejections: rejections
            .iter()
            .map(|e| {
                let mut p = e.split(' ');
                let tok = num(p.next());
                let cand = p.next().unwrap_or("").to_string();
                (tok, cand, num(p.next()))
            })
            .collect(),
    })
}
