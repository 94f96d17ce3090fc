//! `baton_leader`: who leads an election, as a struct the caller reads and frees.

use std::collections::BTreeSet;
use std::ffi::{c_char, CString};
use std::sync::{Mutex, PoisonError};
use std::time::UNIX_EPOCH;

use super::args;
use super::config::{self, baton_config};
use super::election::ELECTIONS;
use super::error::{baton_result, Failure};
use super::panic::boundary;
use crate::LeaderInfo;

/// Who leads an election, as last seen in the store. Owned by the caller: read its fields,
/// then release it with `baton_leader_free`. Do not modify it.
///
/// ABI policy (docs/c-abi.md): fields are only ever appended; `struct_size` is the size baton
/// allocated. Before reading a field added after the first version, check that it is there:
/// `BATON_HAS_FIELD(baton_leader, leader, field)`.
#[repr(C)]
pub struct baton_leader {
    /// The number of valid bytes of this struct, this field included.
    pub struct_size: u32,
    /// The leader's candidate id (`host:pid:nonce`, unique per process incarnation and
    /// handle); NUL-terminated UTF-8, owned by this struct.
    pub candidate_id: *const c_char,
    /// The leader's host name; NUL-terminated UTF-8, owned by this struct.
    pub host: *const c_char,
    /// The leader's process id.
    pub pid: u32,
    /// The fencing token of the leader's grant.
    pub token: u64,
    /// When the store granted the lease, in milliseconds since the Unix epoch (store clock).
    pub since_unix_ms: u64,
    /// Lease time left when this struct was made, in milliseconds.
    pub lease_remaining_ms: u64,
}

/// The `baton_leader`s handed out and not yet freed, so that a double free or a foreign
/// pointer is refused instead of corrupting the heap. Addresses are stored inverted (`key`):
/// a leader the caller forgets to free then shows up in leak checkers such as valgrind as
/// "definitely lost", instead of looking reachable from this set.
static LIVE: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

pub(crate) fn hold_for_fork() -> Box<dyn std::any::Any> {
    Box::new(LIVE.lock().unwrap_or_else(PoisonError::into_inner))
}

fn key(leader: *const baton_leader) -> usize {
    !(leader as usize)
}

fn owned(s: &str) -> *const c_char {
    // Text from the store could hold a NUL; drop it rather than fail the whole call.
    let s = CString::new(s.replace('\0', "")).unwrap_or_default();
    s.into_raw()
}

/// Moves `info` to the heap for C; `None` stays NULL.
fn to_c(info: Option<LeaderInfo>) -> *mut baton_leader {
    let Some(info) = info else {
        return std::ptr::null_mut();
    };
    let since = info.since.duration_since(UNIX_EPOCH).unwrap_or_default();
    let leader = Box::into_raw(Box::new(baton_leader {
        struct_size: std::mem::size_of::<baton_leader>() as u32,
        candidate_id: owned(&info.candidate_id),
        host: owned(&info.host),
        pid: info.pid,
        token: info.token,
        since_unix_ms: since.as_millis().try_into().unwrap_or(u64::MAX),
        lease_remaining_ms: info
            .lease_remaining
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX),
    }));
    LIVE.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key(leader));
    leader
}

/// Who leads `e`'s election as this instance last saw it (itself included), written to
/// `*out`; `*out` is set to NULL when nobody is known to lead. No store round trip.
/// Free a non-NULL result with `baton_leader_free`.
#[no_mangle]
pub extern "C" fn baton_election_leader(
    e: *const super::election::baton_election,
    out: *mut *mut baton_leader,
) -> baton_result {
    boundary("baton_election_leader", || {
        let state = ELECTIONS.get("e", e)?;
        args::out(
            "out",
            out,
            "the address of a baton_leader * to receive the leader",
        )?;
        let info = state.with_election("e", |e| Ok(e.leader()))?;
        args::write_out(out, to_c(info));
        Ok(())
    })
}

/// Reads who leads the election described by `config` straight from the store (one round
/// trip, no campaign) and writes it to `*out`, or NULL when nobody leads. Blocks for up to the
/// config's connect timeout. Free a non-NULL result with `baton_leader_free`.
#[no_mangle]
pub extern "C" fn baton_current_leader(
    config: *const baton_config,
    out: *mut *mut baton_leader,
) -> baton_result {
    boundary("baton_current_leader", || {
        let settings = config::settings("config", config)?;
        args::out(
            "out",
            out,
            "the address of a baton_leader * to receive the leader",
        )?;
        let info = settings.builder().current_leader().map_err(Failure::from)?;
        args::write_out(out, to_c(info));
        Ok(())
    })
}

/// Asks the current leader of the election `config` describes, wherever it runs, to hand over
/// through its normal release path (nobody's lease is deleted); the leader acts on it within
/// milliseconds while it reaches the store. Writes who was asked to `*out` (free it with
/// `baton_leader_free`), or NULL when nobody leads. A leader built with
/// `baton_config_set_resign_on_request(cfg, false)` gets `BATON_EVENT_RESIGN_REQUESTED` instead
/// and resigns when its application is ready.
#[no_mangle]
pub extern "C" fn baton_request_resign(
    config: *const baton_config,
    out: *mut *mut baton_leader,
) -> baton_result {
    boundary("baton_request_resign", || {
        let settings = config::settings("config", config)?;
        args::out(
            "out",
            out,
            "the address of a baton_leader * to receive who was asked",
        )?;
        let info = settings.builder().request_resign().map_err(Failure::from)?;
        args::write_out(out, to_c(info));
        Ok(())
    })
}

/// Frees a `baton_leader` and its strings. NULL is a no-op; a pointer that is not a live
/// `baton_leader` (freed already, or not from baton) is left alone and reported as
/// `BATON_INVALID_HANDLE` through `baton_last_error`.
#[no_mangle]
pub extern "C" fn baton_leader_free(leader: *mut baton_leader) {
    boundary("baton_leader_free", || {
        if leader.is_null() {
            return Ok(());
        }
        let was_live = LIVE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key(leader));
        if !was_live {
            return Err(Failure::new(
                baton_result::BATON_INVALID_HANDLE,
                "leader is not a live baton_leader: it was freed already, or does not come from baton",
            ));
        }
        // SAFETY: `leader` came from `to_c` (it was in LIVE) and is freed exactly once
        // (removed from LIVE under the lock); so did its strings, from `CString::into_raw`.
        unsafe {
            let leader = Box::from_raw(leader);
            drop(CString::from_raw(leader.candidate_id.cast_mut()));
            drop(CString::from_raw(leader.host.cast_mut()));
        }
        Ok(())
    });
}
