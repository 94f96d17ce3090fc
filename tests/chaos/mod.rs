//! baton's fault-injection harness and safety checker (issue 6), shared by the short run in
//! `tests/chaos.rs` (part of `cargo test`) and the long run in `examples/chaos.rs`
//! (`make chaos`). docs/chaos.md explains how to run it and how to read the summary.
//!
//! - `candidate`: the candidate process (samples `is_leader()`, writes to the fenced resource)
//! - `record`: the JSON lines a candidate streams to the harness, and the clock they carry
//! - `harness`: starts stores, proxies and candidates, injects faults, collects the history
//! - `faults`: the fault kinds and what each one records
//! - `proxy`: the TCP proxy that cuts, resets and slows one candidate's link
//! - `resource`: the fenced resource (a Lua script on a redis-server of its own)
//! - `commit`: the measured cost of ZooKeeper write bursts, for the handover bound
//! - `checker`: the checks over the recorded history and the summary table

pub mod candidate;
pub mod checker;
pub mod commit;
pub mod faults;
pub mod harness;
pub mod history;
pub mod proxy;
pub mod record;
pub mod resource;
