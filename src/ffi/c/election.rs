//! `baton_election`: one instance's candidacy in one named election.

use std::ffi::c_char;
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};

use super::args;
use super::config::{self, baton_config};
use super::error::{baton_result, Failure};
use super::events::{self, CallbackThread};
use super::handle::Registry;
use super::panic::{boundary, boundary_value};
use crate::{Election, Events};

/// One instance's candidacy in one named election; corresponds to a Rust `baton::Election`.
/// Create it with `baton_election_new`; it campaigns (or watches) on baton's background thread
/// until `baton_election_free`, which releases the lease so that another instance takes over
/// at once. Every function taking a `baton_election` may be called from any thread, also
/// concurrently; a freed handle is reported as `BATON_INVALID_HANDLE`, never dereferenced.
pub struct baton_election {
    _private: [u8; 0],
}

/// What a `baton_election` handle refers to.
pub(crate) struct ElectionState {
    /// `None` once freed: calls still running on other threads then see an invalid handle.
    election: RwLock<Option<Election>>,
    /// The subscription `baton_election_poll_event` reads, made by its first call.
    poll: OnceLock<Events>,
    /// The thread running the callback set by `baton_election_set_callback`, if any.
    pub callback: Mutex<Option<CallbackThread>>,
}

impl ElectionState {
    /// Runs `f` on the election unless it was freed meanwhile.
    pub fn with_election<T>(
        &self,
        param: &'static str,
        f: impl FnOnce(&Election) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let election = self.election.read().unwrap_or_else(PoisonError::into_inner);
        match election.as_ref() {
            Some(e) => f(e),
            None => Err(ELECTIONS.invalid(param)),
        }
    }

    /// The subscription of `baton_election_poll_event`, made on first use.
    pub fn poll_events(&self, param: &'static str) -> Result<&Events, Failure> {
        if let Some(events) = self.poll.get() {
            return Ok(events);
        }
        self.with_election(param, |e| Ok(self.poll.get_or_init(|| e.events())))
    }
}

pub(crate) static ELECTIONS: Registry<ElectionState> = Registry::new(
    "baton_election",
    "a baton_election created by baton_election_new",
);

/// Validates `config`, connects to the store and starts campaigning (or watching, if the
/// config's campaign is false); writes the new election to `*out`.
///
/// Blocks until the store answered, for up to the config's connect timeout. Errors:
/// `BATON_INVALID_CONFIG` names every broken rule at once (for example a zero ttl, an empty
/// name or one with `{`), `BATON_STORE_UNREACHABLE` when the store does not answer. The config
/// is only read: free it whenever convenient. Free the election with `baton_election_free`.
#[no_mangle]
pub extern "C" fn baton_election_new(
    config: *const baton_config,
    out: *mut *mut baton_election,
) -> baton_result {
    boundary("baton_election_new", || {
        let settings = config::settings("config", config)?;
        args::out(
            "out",
            out,
            "the address of a baton_election * to receive the election",
        )?;
        let election = settings.builder().build()?;
        let handle = ELECTIONS.insert(ElectionState {
            election: RwLock::new(Some(election)),
            poll: OnceLock::new(),
            callback: Mutex::new(None),
        });
        args::write_out(out, handle);
        Ok(())
    })
}

/// Releases the lease if held (waking the other candidates at once), stops the election and
/// frees the handle. NULL is a no-op; a handle freed already is left alone and reported as
/// `BATON_INVALID_HANDLE` through `baton_last_error`.
///
/// Blocks until the store confirmed the release (a couple of seconds at most when the store is
/// unreachable; the lease then expires on its own), and until a callback set with
/// `baton_election_set_callback` received its last event (`BATON_EVENT_REVOKED` with reason
/// `BATON_REVOKE_CLOSED` if leading) and returned, so that its userdata may be freed right
/// after. Calls running on other threads meanwhile finish normally or return
/// `BATON_INVALID_HANDLE` / `BATON_CLOSED`. May be called from the election's own callback;
/// the callback then still receives the election's last events after it returns.
#[no_mangle]
pub extern "C" fn baton_election_free(e: *mut baton_election) {
    boundary("baton_election_free", || {
        if e.is_null() {
            return Ok(());
        }
        let state = ELECTIONS.remove(e).ok_or_else(|| ELECTIONS.invalid("e"))?;
        let election = state
            .election
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Dropping releases the lease and ends every subscription once drained.
        drop(election);
        events::stop_callback(&state);
        Ok(())
    });
}

/// Whether this instance leads right now. Cheap (no store round trip, no allocation): call
/// it before every piece of leader-only work. True only before the lease deadline, evaluated
/// at every call, so a process that was paused past its deadline sees false the moment it
/// resumes. Returns false for NULL or a freed handle (and sets the last error).
#[no_mangle]
pub extern "C" fn baton_election_is_leader(e: *const baton_election) -> bool {
    boundary_value("baton_election_is_leader", false, || {
        // No Arc clone: this is the hot path of a leader-only loop.
        ELECTIONS.with("e", e, |state| {
            state.with_election("e", |e| Ok(e.is_leader()))
        })
    })
}

/// Writes the fencing token of the current grant to `*token` while leading; returns
/// `BATON_NOT_LEADER` (leaving `*token` alone) otherwise. Tokens of one election strictly
/// increase across grants: pass it to the resource you write to, so that it can refuse writes
/// from a leader that was replaced.
#[no_mangle]
pub extern "C" fn baton_election_token(e: *const baton_election, token: *mut u64) -> baton_result {
    boundary("baton_election_token", || {
        args::out(
            "token",
            token,
            "the address of a uint64_t to receive the token",
        )?;
        let value = ELECTIONS.with("e", e, |state| {
            state.with_election("e", |e| {
                e.token().ok_or_else(|| {
                    Failure::new(
                        baton_result::BATON_NOT_LEADER,
                        "this instance does not lead right now; check baton_election_is_leader or wait for BATON_EVENT_GRANTED",
                    )
                })
            })
        })?;
        args::write_out(token, value);
        Ok(())
    })
}

/// Gives up leadership now (if leading) so that another candidate takes over at once; this
/// instance sits out one ttl plus one renew interval before it competes again. Blocks until
/// the store confirmed the release. `BATON_CLOSED` after `baton_shutdown`.
#[no_mangle]
pub extern "C" fn baton_election_resign(e: *const baton_election) -> baton_result {
    boundary("baton_election_resign", || {
        ELECTIONS
            .get("e", e)?
            .with_election("e", |e| e.resign().map_err(Failure::from))
    })
}

/// Copies this instance's candidate id (`host:pid:nonce`, unique per handle and process life,
/// the same as `baton_leader.candidate_id` when this instance leads) into `buf` like
/// `snprintf` and returns its full length; see `baton_last_error` for the buffer rules.
/// Returns 0 for NULL or a freed handle (and sets the last error).
#[no_mangle]
pub extern "C" fn baton_election_candidate_id(
    e: *const baton_election,
    buf: *mut c_char,
    len: usize,
) -> usize {
    boundary_value("baton_election_candidate_id", 0, || {
        ELECTIONS
            .get("e", e)?
            .with_election("e", |e| Ok(args::copy_text(e.candidate_id(), buf, len)))
    })
}

/// Writes to `*count` how many times this instance failed to subscribe to release
/// notifications (refused, e.g. by an ACL without `&<prefix>*`, or timed out). While it
/// cannot subscribe, a graceful handover waits for the lease's expiry instead of a push: alert
/// on a count that grows. Written only on success.
#[no_mangle]
pub extern "C" fn baton_election_subscription_failures(
    e: *const baton_election,
    count: *mut u64,
) -> baton_result {
    boundary("baton_election_subscription_failures", || {
        args::out(
            "count",
            count,
            "the address of a uint64_t to receive the count",
        )?;
        let n = ELECTIONS.with("e", e, |state| {
            state.with_election("e", |e| Ok(e.subscription_failures()))
        })?;
        args::write_out(count, n);
        Ok(())
    })
}

/// Writes this instance's successful lease renewals so far to `*count` and the sum of their
/// round trips (request sent to answer received), in nanoseconds, to `*total_ns`. Both only
/// grow: the mean renewal latency of an interval is the difference of two readings' totals
/// divided by that of their counts. Written only on success.
#[no_mangle]
pub extern "C" fn baton_election_renewal_stats(
    e: *const baton_election,
    count: *mut u64,
    total_ns: *mut u64,
) -> baton_result {
    boundary("baton_election_renewal_stats", || {
        args::out(
            "count",
            count,
            "the address of a uint64_t to receive the count",
        )?;
        args::out(
            "total_ns",
            total_ns,
            "the address of a uint64_t to receive the total",
        )?;
        let stats = ELECTIONS.with("e", e, |state| {
            state.with_election("e", |e| Ok(e.renewal_stats()))
        })?;
        args::write_out(count, stats.count);
        args::write_out(
            total_ns,
            u64::try_from(stats.total.as_nanos()).unwrap_or(u64::MAX),
        );
        Ok(())
    })
}
