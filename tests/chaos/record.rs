//! What a candidate tells the harness: one JSON object per line on its stdout, each written
//! with a single write(2), so a SIGKILLed candidate's history is kept up to its last record.
//!
//! Times are CLOCK_BOOTTIME nanoseconds: the clock baton's deadlines use (it keeps counting
//! through suspend), and one that all processes of a Linux host share, so intervals of
//! different candidates compare directly. `el` is the election's index in its process.

use serde::{Deserialize, Serialize};

/// Marks record lines (the test binary's own output shares the pipe).
pub const PREFIX: &str = "@chaos ";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Rec {
    /// The election was built.
    Start { id: String, pid: u32 },
    /// First true sample of a grant: the clock read before and after the sample, and the
    /// lease deadline the process trusts then (0 if the grant was already over).
    Grant {
        el: usize,
        tok: u64,
        t0: u64,
        t1: u64,
        dl: u64,
    },
    /// A later true sample (clock read before it), flushed about every millisecond, with the
    /// lease deadline the process trusts (`now + leader().lease_remaining`).
    Tick {
        el: usize,
        tok: u64,
        t: u64,
        dl: u64,
    },
    /// The grant's last true sample (clock before it), then the first false one (clock after).
    End { el: usize, tok: u64, t: u64, f: u64 },
    /// The sampler did not run between `from` and `to` (a SIGSTOP or a long descheduling);
    /// `lead`: it led just before; `after`: the first sample taken wholly after the stall.
    Stall {
        el: usize,
        from: u64,
        to: u64,
        lead: bool,
        after: bool,
    },
    /// A write to the fenced resource decided at `t` (clock read before `token()`).
    Write {
        el: usize,
        tok: u64,
        t: u64,
        ok: bool,
    },
    /// A graceful redeploy: every election was closed and every belief's end recorded.
    Exit { t: u64 },
    /// Something went wrong in the candidate.
    Error { msg: String },
}

/// CLOCK_BOOTTIME in nanoseconds.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Writes one record line to stdout with one system call; exits when the harness is gone.
pub fn emit(rec: &Rec) {
    let mut line = String::with_capacity(96);
    line.push_str(PREFIX);
    line.push_str(&serde_json::to_string(rec).expect("records serialize"));
    line.push('\n');
    let mut buf = line.as_bytes();
    while !buf.is_empty() {
        // SAFETY: writes from a live buffer to fd 1; lines stay below PIPE_BUF, so a pipe
        // gets each one whole (the sampler and the writer thread never interleave).
        let n = unsafe { libc::write(1, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            std::process::exit(0);
        }
        buf = &buf[n as usize..];
    }
}

/// The record on a line of candidate output, if it is one. The test harness may have left
/// an unfinished line ("test chaos_candidate_entry ... ") before the first record.
pub fn parse(line: &str) -> Option<Rec> {
    let at = line.find(PREFIX)?;
    serde_json::from_str(&line[at + PREFIX.len()..]).ok()
}

impl Rec {
    /// The election a record is about (`None`: the whole process).
    pub fn election(&self) -> Option<usize> {
        match self {
            Rec::Grant { el, .. }
            | Rec::Tick { el, .. }
            | Rec::End { el, .. }
            | Rec::Stall { el, .. }
            | Rec::Write { el, .. } => Some(*el),
            Rec::Start { .. } | Rec::Error { .. } | Rec::Exit { .. } => None,
        }
    }
}
