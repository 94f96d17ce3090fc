//! Events for C: `baton_election_poll_event` (poll with a timeout) and
//! `baton_election_set_callback` (a callback run on a thread of its own).

use std::ffi::c_void;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::args;
use super::election::{baton_election, ElectionState, ELECTIONS};
use super::error::{baton_result, Failure};
use super::panic::{boundary, boundary_value};
use crate::{Event, Events, RecvError, RevokeReason};

/// A timeout meaning "wait until an event arrives or the election is closed".
pub const BATON_WAIT_FOREVER: u64 = u64::MAX;

/// What happened.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum baton_event_kind {
    /// This instance became leader; `token` is the fencing token of the grant.
    BATON_EVENT_GRANTED = 1,
    /// This instance stopped leading; `token` is the token of the grant that ended and
    /// `reason` says why. Always follows the matching `BATON_EVENT_GRANTED`.
    BATON_EVENT_REVOKED = 2,
    /// The observed leader changed (this instance included). `has_leader` says whether
    /// anybody leads; if so, `token` and `leader_pid` are the leader's. Call
    /// `baton_election_leader` for the full record.
    BATON_EVENT_LEADER_CHANGED = 3,
    /// Someone asked this leader to hand over and the election defers it (the Rust option
    /// `resign_on_request(false)`): stop the leader-only work, then call
    /// `baton_election_resign`. `token` is the grant's.
    BATON_EVENT_RESIGN_REQUESTED = 4,
}

/// Why leadership ended (`BATON_EVENT_REVOKED` only).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum baton_revoke_reason {
    /// Not a `BATON_EVENT_REVOKED` event.
    BATON_REVOKE_NONE = 0,
    /// `baton_election_resign` was called.
    BATON_REVOKE_RESIGNED = 1,
    /// The election was freed, or the process called `baton_shutdown`.
    BATON_REVOKE_CLOSED = 2,
    /// The store says the lease is gone or held by someone else.
    BATON_REVOKE_LEASE_LOST = 3,
    /// The lease ran out before a renewal was even attempted (the process was paused or
    /// starved); `baton_election_is_leader` had already turned false at the deadline.
    BATON_REVOKE_LEASE_EXPIRED = 4,
    /// Renewals failed until the lease could no longer be trusted.
    BATON_REVOKE_STORE_UNREACHABLE = 5,
}

/// A change of an election's leadership, filled in by baton. Plain data: nothing to free.
///
/// ABI policy (docs/c-abi.md): fields are only ever appended, and `struct_size` says how many
/// bytes are valid. Before `baton_election_poll_event`, set `struct_size` to
/// `sizeof(baton_event)` (`baton_event ev = BATON_EVENT_INIT;`); baton writes no more than
/// that and sets it to the size it wrote. Events handed to a callback carry baton's size:
/// check it before reading a field added after the one you know (`BATON_HAS_FIELD(baton_event, ev, field)`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct baton_event {
    /// The number of valid bytes of this struct, this field included.
    pub struct_size: u32,
    /// What happened.
    pub kind: baton_event_kind,
    /// Why leadership ended, for `BATON_EVENT_REVOKED`; `BATON_REVOKE_NONE` otherwise.
    pub reason: baton_revoke_reason,
    /// GRANTED, REVOKED: this instance's fencing token. LEADER_CHANGED: the leader's token, or
    /// 0 if nobody leads.
    pub token: u64,
    /// LEADER_CHANGED: the leader's process id, or 0 if nobody leads.
    pub leader_pid: u32,
    /// LEADER_CHANGED: whether anybody is known to lead. False for other kinds.
    pub has_leader: bool,
}

impl From<Event> for baton_event {
    fn from(event: Event) -> Self {
        use baton_event_kind::*;
        use baton_revoke_reason::*;
        let plain = |kind, token| baton_event {
            struct_size: EVENT_SIZE,
            kind,
            reason: BATON_REVOKE_NONE,
            token,
            leader_pid: 0,
            has_leader: false,
        };
        match event {
            Event::Granted { token } => plain(BATON_EVENT_GRANTED, token),
            Event::ResignRequested { token } => plain(BATON_EVENT_RESIGN_REQUESTED, token),
            Event::Revoked { token, reason } => baton_event {
                reason: match reason {
                    RevokeReason::Resigned => BATON_REVOKE_RESIGNED,
                    RevokeReason::Closed => BATON_REVOKE_CLOSED,
                    RevokeReason::LeaseLost => BATON_REVOKE_LEASE_LOST,
                    RevokeReason::LeaseExpired => BATON_REVOKE_LEASE_EXPIRED,
                    RevokeReason::StoreUnreachable => BATON_REVOKE_STORE_UNREACHABLE,
                },
                ..plain(BATON_EVENT_REVOKED, token)
            },
            Event::LeaderChanged(leader) => baton_event {
                leader_pid: leader.as_ref().map_or(0, |l| l.pid),
                has_leader: leader.is_some(),
                ..plain(
                    BATON_EVENT_LEADER_CHANGED,
                    leader.as_ref().map_or(0, |l| l.token),
                )
            },
        }
    }
}

/// `sizeof(baton_event)` in this version of baton.
const EVENT_SIZE: u32 = std::mem::size_of::<baton_event>() as u32;

/// Checks that the caller's `out` has room for this version's event: its `struct_size` was
/// set to `sizeof(baton_event)` of a header at least as new as the first one.
fn check_room(out: *const baton_event) -> Result<(), Failure> {
    // SAFETY: `out` was checked non-NULL; the caller promises a baton_event whose first
    // field, `struct_size`, it set.
    let room = unsafe { out.cast::<u32>().read_unaligned() };
    // Every baton_event so far has the first version's layout, so nothing smaller is valid.
    // A larger (newer) caller struct keeps its extra bytes; `struct_size` says what is valid.
    if room < EVENT_SIZE {
        return Err(Failure::new(
            baton_result::BATON_INVALID_ARGUMENT,
            format!(
                "out->struct_size is {room}; set it to sizeof(baton_event) before the call \
                 (baton_event ev = BATON_EVENT_INIT;)"
            ),
        ));
    }
    Ok(())
}

/// A stable lower-case name for a `baton_revoke_reason` value (`"lease_lost"`, ...), the same
/// as in the Rust, Java and CLI surfaces; `"none"` for `BATON_REVOKE_NONE`, `"unknown"` for
/// values baton does not define. Static; never NULL.
#[no_mangle]
pub extern "C" fn baton_revoke_reason_text(reason: u32) -> *const std::ffi::c_char {
    const UNKNOWN: &str = "unknown\0";
    let text = |reason| match reason {
        0 => "none\0",
        1 => "resigned\0",
        2 => "closed\0",
        3 => "lease_lost\0",
        4 => "lease_expired\0",
        5 => "store_unreachable\0",
        _ => UNKNOWN,
    };
    boundary_value("baton_revoke_reason_text", UNKNOWN.as_ptr().cast(), || {
        Ok(text(reason).as_ptr().cast())
    })
}

/// Waits up to `timeout_ms` for the next event (`BATON_WAIT_FOREVER`: no limit).
fn next(events: &Events, timeout_ms: u64) -> Result<baton_event, Failure> {
    let received = match timeout_ms {
        0 => events.try_recv().ok_or_else(|| {
            if events.rx.is_disconnected() {
                events.ended()
            } else {
                RecvError::Timeout
            }
        }),
        BATON_WAIT_FOREVER => events.recv().ok_or_else(|| events.ended()),
        ms => events.recv_timeout(Duration::from_millis(ms)),
    };
    match received {
        Ok(event) => Ok(event.into()),
        Err(RecvError::Timeout) => Err(Failure::new(
            baton_result::BATON_TIMEOUT,
            "no event within the timeout; poll again",
        )),
        Err(RecvError::Closed) => Err(Failure::new(
            baton_result::BATON_CLOSED,
            "the election was closed (baton_shutdown) and every event was delivered; free the handle",
        )),
        Err(RecvError::Forked) => Err(Failure::new(
            baton_result::BATON_FORKED,
            "the election was created before fork() and belongs to the parent; create a new one in the child",
        )),
    }
}

/// Waits up to `timeout_ms` milliseconds (0: do not wait; `BATON_WAIT_FOREVER`: no limit) for
/// the election's next event and writes it to `*out`, whose `struct_size` must be set
/// (`BATON_EVENT_INIT`; else `BATON_INVALID_ARGUMENT`). Returns `BATON_TIMEOUT` when none
/// arrived, `BATON_CLOSED` once the election was closed by `baton_shutdown` and every event
/// was delivered; `*out` is written only on `BATON_OK`.
///
/// The first call subscribes: its first events describe the current state
/// (`BATON_EVENT_GRANTED` if leading, then `BATON_EVENT_LEADER_CHANGED`). Events queue until
/// polled. Several threads may poll one election; each event goes to one of them. Polling is
/// independent of `baton_election_set_callback`: both see every event.
#[no_mangle]
pub extern "C" fn baton_election_poll_event(
    e: *const baton_election,
    timeout_ms: u64,
    out: *mut baton_event,
) -> baton_result {
    boundary("baton_election_poll_event", || {
        let state = ELECTIONS.get("e", e)?;
        args::out("out", out, "the address of a baton_event to fill")?;
        // Checked before waiting, so that a bad struct loses no event.
        check_room(out)?;
        let event = next(state.poll_events("e")?, timeout_ms)?;
        args::write_out(out, event);
        Ok(())
    })
}

/// Waits up to `timeout_ms` milliseconds (`BATON_WAIT_FOREVER`: no limit) until this instance
/// leads, and writes its fencing token to `*token`. Returns at once if it leads already;
/// `BATON_TIMEOUT` if it did not lead in time. Does not consume the events of
/// `baton_election_poll_event`.
#[no_mangle]
pub extern "C" fn baton_election_wait_for_leadership(
    e: *const baton_election,
    timeout_ms: u64,
    token: *mut u64,
) -> baton_result {
    boundary("baton_election_wait_for_leadership", || {
        let state = ELECTIONS.get("e", e)?;
        args::out(
            "token",
            token,
            "the address of a uint64_t to receive the token",
        )?;
        // A subscription of its own, read without holding the election: free stays prompt.
        let events = state.with_election("e", |e| Ok(e.events()))?;
        let deadline = Instant::now().checked_add(Duration::from_millis(timeout_ms));
        loop {
            let left = match deadline {
                Some(d) if timeout_ms != BATON_WAIT_FOREVER => {
                    // Rounded up, so that a wait is never cut short into a busy loop.
                    let left = d.saturating_duration_since(Instant::now());
                    left.as_micros().div_ceil(1000) as u64
                }
                _ => BATON_WAIT_FOREVER,
            };
            let event = next(&events, left)?;
            if event.kind == baton_event_kind::BATON_EVENT_GRANTED {
                args::write_out(token, event.token);
                return Ok(());
            }
        }
    })
}

/// Called with each event of an election, on a thread of baton's that runs only this
/// election's callback (never baton's runtime thread, so a slow callback delays only later
/// events of this election, never a lease renewal). `event` is valid during the call only.
pub type baton_event_callback =
    Option<unsafe extern "C" fn(event: *const baton_event, userdata: *mut c_void)>;

/// The caller's pointer, handed back to its callback on the callback thread.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);
// SAFETY: baton only passes it back to the caller's callback; the caller promised (in the
// docs of baton_election_set_callback) that it may be used from the callback thread.
unsafe impl Send for UserData {}

type Callback = (
    unsafe extern "C" fn(*const baton_event, *mut c_void),
    UserData,
);

#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    idle: Condvar,
}

#[derive(Default)]
struct SlotState {
    callback: Option<Callback>,
    /// Bumped by each `baton_election_set_callback`.
    generation: u64,
    /// The generation of the callback running right now.
    running: Option<u64>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Installs `callback`; unless `on_callback_thread`, waits until no earlier callback runs.
    fn replace(&self, callback: Option<Callback>, on_callback_thread: bool) {
        let mut state = self.lock();
        state.callback = callback;
        state.generation += 1;
        let mine = state.generation;
        if !on_callback_thread {
            let _state = self
                .idle
                .wait_while(state, |s| s.running.is_some_and(|g| g < mine))
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn deliver(&self, event: &baton_event) {
        let (callback, generation) = {
            let mut state = self.lock();
            let Some(callback) = state.callback else {
                return;
            };
            state.running = Some(state.generation);
            (callback, state.generation)
        };
        // SAFETY: the caller registered this function for these events and this userdata.
        unsafe { (callback.0)(event, callback.1 .0) };
        let mut state = self.lock();
        if state.running == Some(generation) {
            state.running = None;
        }
        drop(state);
        self.idle.notify_all();
    }
}

/// The thread that runs an election's callback until the election closes.
pub(crate) struct CallbackThread {
    slot: Arc<Slot>,
    thread: JoinHandle<()>,
    /// The fork generation it runs in: in a forked child the thread does not exist, and
    /// nothing may wait for it (its slot may say a callback is running, for good).
    generation: u64,
}

/// Sets the function baton calls with each event of `e`, on a thread of its own, and the
/// `userdata` passed back to it; NULL `callback` stops the calls.
///
/// The first callback set receives the current state first (`BATON_EVENT_GRANTED` if leading,
/// then `BATON_EVENT_LEADER_CHANGED`); a replacement continues with the events after. When
/// this function returns, the previous callback is not running and will not be called again,
/// so its userdata may be freed (except when called from that callback itself).
///
/// Threading rules: every callback of one election runs on that election's callback thread,
/// one at a time, in event order; `userdata` must be usable from that thread. A callback may
/// call any baton function, including `baton_election_free` on its own election (it then still
/// receives that election's last events, after it returns). It must not wait for another
/// thread that is inside `baton_election_free` or `baton_election_set_callback` for the same
/// election: those wait for the callback to return, which would deadlock.
#[no_mangle]
pub extern "C" fn baton_election_set_callback(
    e: *const baton_election,
    callback: baton_event_callback,
    userdata: *mut c_void,
) -> baton_result {
    boundary("baton_election_set_callback", || {
        let state = ELECTIONS.get("e", e)?;
        let callback = callback.map(|f| (f, UserData(userdata)));
        let mut current = state
            .callback
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(running) = current.as_ref() else {
            if callback.is_some() {
                *current = Some(start(&state, callback)?);
            }
            return Ok(());
        };
        if crate::fork::inherited(running.generation) {
            return Err(Failure::new(
                baton_result::BATON_FORKED,
                "this election was created before fork(): its callback thread is the parent's; create a new election in the child",
            ));
        }
        let slot = running.slot.clone();
        let on_callback_thread = running.thread.thread().id() == std::thread::current().id();
        // Wait without holding the election's lock, which the running callback may need.
        drop(current);
        slot.replace(callback, on_callback_thread);
        Ok(())
    })
}

fn start(state: &ElectionState, callback: Option<Callback>) -> Result<CallbackThread, Failure> {
    let events = state.with_election("e", |e| Ok(e.events()))?;
    let slot = Arc::new(Slot::default());
    slot.lock().callback = callback;
    let thread_slot = slot.clone();
    let thread = std::thread::Builder::new()
        .name("baton-callback".into())
        .spawn(move || {
            // Ends when the election is closed and every event was delivered.
            while let Some(event) = events.recv() {
                thread_slot.deliver(&event.into());
            }
        })
        .map_err(|err| {
            Failure::new(
                baton_result::BATON_RUNTIME_ERROR,
                format!("could not start the callback thread: {err}"),
            )
        })?;
    Ok(CallbackThread {
        slot,
        thread,
        generation: crate::fork::generation(),
    })
}

/// After the election was closed: waits until its callback thread delivered the last events
/// and ended, unless called from that thread (which then ends after its callback returns).
pub(crate) fn stop_callback(state: &ElectionState) {
    let thread = state
        .callback
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(CallbackThread {
        thread, generation, ..
    }) = thread
    {
        if crate::fork::inherited(generation) {
            // Joining a thread of the parent would block for good.
            std::mem::forget(thread);
        } else if thread.thread().id() != std::thread::current().id() {
            let _ = thread.join();
        }
    }
}
