//! # baton
//!
//! Leader election for fleets of identical services, on the Redis you already run.
//!
//! Each named election has at most one leader. The leader holds a lease in the store and
//! renews it from baton's own runtime thread; when it stops gracefully it releases the lease
//! and the waiting candidates are woken by a push notification; when it dies, the lease
//! expires and a follower that scheduled its next attempt for that instant takes over.
//!
//! ## What is and is not guaranteed
//! - `is_leader()` is true only before the lease deadline: the instant the winning request was
//!   *sent*, plus `ttl * (1 - drift) - 2ms`, on a clock that counts through system suspend
//!   (CLOCK_BOOTTIME on Linux). The store ends the lease `ttl` after it *received* the
//!   request, so under the assumption that no clock (host or store) runs more than `drift`
//!   faster or slower than another, two instances never believe they lead at once. Clock
//!   *offsets* between hosts do not matter; clock *rates* do.
//! - Redis judges a lease by its host's *wall* clock and replicates absolute expiry times:
//!   store hosts must slew, never step, their clocks, and a failover adds the master/replica
//!   clock offset to the margin. The lease's expiry lives in its value and its key has no TTL,
//!   so no `volatile-*` eviction policy can end it early; `build()` refuses `allkeys-*`
//!   unless [`ElectionBuilder::allow_eviction`] accepts the risk.
//! - No timeout scheme survives an unbounded pause between checking `is_leader()` and acting
//!   on it. Pass the fencing token ([`Election::token`]) to the resource you write to and let
//!   it refuse smaller tokens: tokens of one election strictly increase across grants, even
//!   after the store lost its keys, as long as the store's clock does not run backwards
//!   across a restart or failover by more than the time since the last grant.
//! - Redis replication is asynchronous: a failover may lose a fresh grant. Use
//!   [`ElectionBuilder::wait_for_replicas`] to narrow that window, and fencing to close it.
//! - A store that comes back without a lease (a restart without persistence, a failover to a
//!   replica that missed the write) does not hand it to a follower while its cut-off holder may
//!   still believe: a follower that saw another holder, then a dropped connection, a failed
//!   request or (Redis) no lease key at all, takes a free lease only a ttl later, unless it
//!   sees that holder again. A release ends a Redis lease in place and keeps its key, so a
//!   missing key means a lost lease. This assumes every candidate of one election uses the
//!   same ttl.
//! - A process forked after `build()` never believes its parent's leadership: every call on
//!   an inherited election fails with [`Error::Forked`] or reports no leader, and none waits
//!   for the parent's threads; build new elections in the child.
//!
//! ## Example
//! ```no_run
//! use std::time::Duration;
//! let election = baton::Election::builder("redis://127.0.0.1:6379", "nightly-report")
//!     .ttl(Duration::from_secs(10))
//!     .build()?;
//! for event in election.events() {
//!     match event {
//!         baton::Event::Granted { token } => println!("leading, fencing token {token}"),
//!         baton::Event::Revoked { reason, .. } => println!("stopped leading: {reason}"),
//!         _ => {}
//!     }
//! }
//! # Ok::<(), baton::Error>(())
//! ```
//!
//! # Layout
//! - `config`: the builder and its validation (every broken rule reported at once).
//! - `election`: the handle, the shared state read by `is_leader()`, and the engine (state
//!   machine) that runs on the runtime thread.
//! - `runtime`: the one background thread, its tokio runtime, and one connection per store.
//! - `store`: the lease-store trait, Redis (standalone, Cluster, Sentinel) and `memory://`.
//! - `fork`: what a process forked after `build()` inherits (nothing it may believe).
//! - `ffi`: the C ABI and JNI entry points over this API.

#![warn(missing_docs)]

mod clock;
mod config;
mod election;
mod error;
pub mod ffi;
mod fork;
mod leaders;
mod mutant;
mod runtime;
mod store;

pub use config::{ElectionBuilder, SAFETY_MARGIN};
pub use election::events::{Event, Events, LeaderInfo, RecvError, RenewalStats, RevokeReason};
pub use election::Election;
pub use error::{ConfigError, ConfigProblem, Error};
pub use leaders::leaders;
pub use runtime::{shutdown, SHUTDOWN_BOUND};

/// baton's version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
