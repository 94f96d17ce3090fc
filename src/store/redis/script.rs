//! The Lua scripts: called by SHA, and on NOSCRIPT sent whole with `EVAL` to the same node.
//!
//! The script cache is not replicated, so every promoted replica answers NOSCRIPT once. `EVAL`
//! is routed by the key like `EVALSHA` and caches the script on that node only: unlike
//! `SCRIPT LOAD`, which a Cluster client sends to every primary, it never waits on another
//! shard, so a dead shard cannot block renewals on healthy ones.

use redis::Cmd;

pub(super) struct Lua {
    hash: String,
    body: &'static str,
}

impl Lua {
    pub fn new(body: &'static str) -> Lua {
        Lua {
            hash: redis::Script::new(body).get_hash().to_string(),
            body,
        }
    }

    /// `EVALSHA` (or, with `whole`, `EVAL`) of this script on `keys` and `args`.
    pub fn cmd(&self, keys: &[String], args: &[String], whole: bool) -> Cmd {
        let mut cmd = if whole {
            let mut c = redis::cmd("EVAL");
            c.arg(self.body);
            c
        } else {
            let mut c = redis::cmd("EVALSHA");
            c.arg(&self.hash);
            c
        };
        cmd.arg(keys.len()).arg(keys).arg(args);
        cmd
    }
}

/// NOSCRIPT, matched by its error code alone: Valkey's message text differs from Redis'.
pub(super) fn is_noscript(e: &redis::RedisError) -> bool {
    e.code() == Some("NOSCRIPT")
}
