//! The watchdog: a small process between `baton run` and CMD that stops CMD by the lease
//! deadline even when baton itself cannot (stopped by SIGSTOP or Ctrl-Z, starved, killed).
//!
//! baton starts it as `baton __watchdog` in a session of its own, so the terminal's SIGTSTP
//! and SIGINT, which go to baton's foreground process group, never reach it. baton sends it
//! the lease deadline (absolute CLOCK_BOOTTIME, which keeps counting through suspend) after
//! each renewal, over a pipe on fd 3. The watchdog:
//! - sends SIGTERM to CMD's process group and every descendant `grace` before the deadline it
//!   last heard of, and SIGKILL at that deadline: a stopped baton sends no new deadline;
//! - kills everything at once when the pipe closes (baton died);
//! - is a child subreaper, so orphaned grandchildren (`sh -c 'job & ...'`, daemons that
//!   double-fork or call setsid) are re-parented to it and found through `/proc` (`tree.rs`);
//!   a cgroup would also catch them, but is writable only under a delegating manager (systemd
//!   `Delegate=`), so it cannot be the mechanism everyone gets;
//! - exits only when no descendant is left, so that baton releases the lease only after the
//!   last process of CMD is gone; it reports on fd 4 whether it stopped CMD for the deadline.
//!
//! What it cannot do: signal a process it has no permission for (a set-uid program, such as
//! `sudo`, when baton does not run as root); such pids are named on stderr and waited for.
//! Its parent-death signal and process group do not matter for that: it is the uid that
//! counts, so run baton as root or as the user CMD runs as (`sudo -u batch baton run ...`).

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use crate::tree::{self, Reaped};

/// baton → watchdog: the control pipe.
pub const CTL_FD: i32 = 3;
/// watchdog → baton: one byte saying how it ended (see `Ending`).
pub const REPORT_FD: i32 = 4;

/// CMD exited by itself (its status is the watchdog's exit status).
pub const ENDED_EXITED: u8 = b'E';
/// The watchdog stopped CMD: the lease deadline came, or baton went away.
pub const ENDED_LOST: u8 = b'L';
/// CMD could not be started.
pub const ENDED_NOT_STARTED: u8 = b'S';

const DEADLINE: u64 = 1;
const SIGNAL: u64 = 2;

/// How often a SIGKILL sweep repeats while descendants remain (catches late forks).
const SWEEP_EVERY_NS: u64 = 20_000_000;

/// A message from baton: fixed 16 bytes, so each write is atomic on a pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctl {
    /// The lease deadline (CLOCK_BOOTTIME ns); only moves later until the stop began.
    Deadline(u64),
    /// Forward this signal to CMD's process group.
    Signal(i32),
}

impl Ctl {
    pub fn encode(self) -> [u8; 16] {
        let (kind, value) = match self {
            Ctl::Deadline(d) => (DEADLINE, d),
            Ctl::Signal(s) => (SIGNAL, s as u64),
        };
        let mut b = [0; 16];
        b[..8].copy_from_slice(&kind.to_le_bytes());
        b[8..].copy_from_slice(&value.to_le_bytes());
        b
    }

    fn decode(b: &[u8; 16]) -> Option<Ctl> {
        let kind = u64::from_le_bytes(b[..8].try_into().ok()?);
        let value = u64::from_le_bytes(b[8..].try_into().ok()?);
        match kind {
            DEADLINE => Some(Ctl::Deadline(value)),
            SIGNAL => Some(Ctl::Signal(value as i32)),
            _ => None,
        }
    }
}

/// CLOCK_BOOTTIME in nanoseconds: counts through system suspend, like the lease in the store.
pub fn boottime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer; CLOCK_BOOTTIME exists on every Linux baton supports.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Reads one message; `None` at end of file (baton is gone) or on a broken pipe.
fn read_ctl(fd: i32) -> Option<Ctl> {
    let mut b = [0u8; 16];
    let mut got = 0;
    while got < b.len() {
        // SAFETY: reading into our own buffer, within its bounds.
        let n = unsafe { libc::read(fd, b[got..].as_mut_ptr().cast(), b.len() - got) };
        match n {
            0 => return None,
            n if n > 0 => got += n as usize,
            _ if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
            _ => return None,
        }
    }
    Ctl::decode(&b)
}

fn report(ending: u8) {
    // SAFETY: one byte from our own buffer; baton may be gone (EPIPE is fine, SIGPIPE is
    // ignored by Rust's runtime).
    unsafe { libc::write(REPORT_FD, [ending].as_ptr().cast(), 1) };
}

/// Signals the watchdog takes from a signalfd instead of dying of them.
const HANDLED: [i32; 4] = [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

fn sigset(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Arms `tfd` to fire at `at` (CLOCK_BOOTTIME ns, absolute).
fn arm(tfd: i32, at: u64) {
    let at = at.max(1);
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: (at / 1_000_000_000) as libc::time_t,
            tv_nsec: (at % 1_000_000_000) as libc::c_long,
        },
    };
    // SAFETY: a timerfd we created, valid pointers.
    unsafe { libc::timerfd_settime(tfd, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
}

fn drain(fd: i32, size: usize) {
    let mut buf = [0u8; 128];
    // SAFETY: non-blocking read into our own buffer.
    unsafe { libc::read(fd, buf.as_mut_ptr().cast(), size.min(buf.len())) };
}

fn spawn(command: &[String]) -> std::io::Result<i32> {
    let watchdog = std::process::id() as i32;
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Its own process group, so that a signal reaches the commands it starts.
            libc::setpgid(0, 0);
            // If the watchdog itself is SIGKILLed, CMD dies with it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != watchdog {
                libc::_exit(crate::EXIT_LOST as i32);
            }
            // The signal mask and ignored signals survive exec: give CMD the defaults.
            let empty = sigset(&[]);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            for s in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
                libc::signal(s, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    Ok(cmd.spawn()?.id() as i32)
}

/// The hidden `baton __watchdog --grace-ms N -- CMD...`; fds 3 and 4 come from `baton run`.
pub fn main(grace_ms: u64, command: &[String]) -> ExitCode {
    let grace = grace_ms.saturating_mul(1_000_000);
    // SAFETY: plain syscalls on our own process and the fds baton handed us.
    let (sfd, tfd) = unsafe {
        for fd in [CTL_FD, REPORT_FD] {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
        for s in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
            libc::signal(s, libc::SIG_IGN);
        }
        let set = sigset(&HANDLED);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        (
            libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK),
            libc::timerfd_create(libc::CLOCK_BOOTTIME, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK),
        )
    };
    if sfd < 0 || tfd < 0 {
        eprintln!(
            "baton: the watchdog cannot create its signalfd/timerfd: {}",
            std::io::Error::last_os_error()
        );
        report(ENDED_NOT_STARTED);
        return ExitCode::from(crate::EXIT_UNAVAILABLE);
    }
    // No deadline, no command: baton went away before it sent one, or the lease ended
    // between the grant and now.
    let mut deadline = match read_ctl(CTL_FD) {
        Some(Ctl::Deadline(d)) if d > boottime_ns() => d,
        _ => {
            report(ENDED_LOST);
            return ExitCode::from(crate::EXIT_LOST);
        }
    };
    let group = match spawn(command) {
        Ok(pid) => pid,
        Err(e) => {
            eprintln!(
                "baton: cannot start {:?}: {e}; check the command and its PATH",
                command[0]
            );
            report(ENDED_NOT_STARTED);
            return ExitCode::from(crate::EXIT_NOT_STARTED);
        }
    };

    let mut ctl_open = true;
    let mut lost = false;
    let mut term_sent = false;
    // The stop began ahead of a deadline (not at once, after baton went or lost the lease).
    let mut by_deadline = false;
    let mut killing = false;
    let mut cmd_status: Option<i32> = None;
    let mut exited_at: Option<u64> = None;
    let mut refused_logged = false;
    loop {
        // Reap whatever exited; the loop ends when nothing of CMD is left.
        loop {
            match tree::reap_one() {
                Reaped::Child(pid, status) if pid == group => {
                    cmd_status = Some(status);
                    exited_at.get_or_insert_with(boottime_ns);
                }
                Reaped::Child(..) => {}
                Reaped::Running => break,
                Reaped::None => {
                    report(if lost { ENDED_LOST } else { ENDED_EXITED });
                    return ExitCode::from(if lost {
                        crate::EXIT_LOST
                    } else {
                        cmd_status.map(tree::shell_code).unwrap_or(1)
                    });
                }
            }
        }

        let now = boottime_ns();
        // Renew-deadline: SIGTERM `grace` before the deadline, SIGKILL at it. Once CMD exited,
        // what it left behind gets the same treatment at once.
        if !term_sent && (now >= deadline.saturating_sub(grace) || exited_at.is_some()) {
            term_sent = true;
            if exited_at.is_none() {
                lost = true;
                by_deadline = deadline > now;
                if by_deadline {
                    eprintln!(
                        "baton: the lease runs out in {} ms; sending SIGTERM to the command (SIGKILL at the deadline)",
                        (deadline - now) / 1_000_000
                    );
                } else {
                    eprintln!("baton: leadership ended; killing the command and all it started");
                }
            }
            tree::signal_all(Some(group), libc::SIGTERM);
        }
        let kill_at = match exited_at {
            Some(t) => deadline.min(t.saturating_add(grace)),
            None => deadline,
        };
        if term_sent && now >= kill_at {
            if !killing && by_deadline {
                eprintln!("baton: lease deadline reached; sending SIGKILL to the command");
            }
            killing = true;
            let refused = tree::signal_all(Some(group), libc::SIGKILL);
            if !refused.is_empty() && !refused_logged {
                refused_logged = true;
                eprintln!(
                    "baton: not allowed to signal pids {refused:?} (set-uid programs?); run baton as root or as the user the command runs as"
                );
            }
        }
        let next = if !term_sent {
            deadline.saturating_sub(grace)
        } else if !killing {
            kill_at
        } else {
            now + SWEEP_EVERY_NS
        };
        arm(tfd, next);

        let mut fds = [
            libc::pollfd {
                fd: if ctl_open { CTL_FD } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: tfd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: three valid pollfd entries.
        unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) };
        if fds[0].revents != 0 {
            match read_ctl(CTL_FD) {
                // Later deadlines count only until the stop began; earlier ones always.
                Some(Ctl::Deadline(d)) if !term_sent || d < deadline => deadline = d,
                Some(Ctl::Deadline(_)) => {}
                Some(Ctl::Signal(sig)) => {
                    if cmd_status.is_none() {
                        // SAFETY: kill(2) on CMD's group, which we have not reaped yet.
                        unsafe { libc::kill(-group, sig) };
                    }
                }
                None => {
                    // baton is gone: nobody renews the lease any more.
                    ctl_open = false;
                    if cmd_status.is_none() {
                        lost = true;
                    }
                    deadline = 0;
                }
            }
        }
        if fds[1].revents != 0 {
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            // SAFETY: reading one siginfo into a struct of that size.
            while unsafe {
                libc::read(sfd, (&mut info as *mut libc::signalfd_siginfo).cast(), size)
            } == size as isize
            {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD && cmd_status.is_none() {
                    // Someone signalled the watchdog (a service manager stopping everything):
                    // CMD decides how to stop, as when baton forwards a signal.
                    // SAFETY: kill(2) on CMD's group, not reaped yet.
                    unsafe { libc::kill(-group, sig) };
                }
            }
        }
        if fds[2].revents != 0 {
            drain(tfd, 8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for m in [Ctl::Deadline(123_456_789_000), Ctl::Signal(libc::SIGHUP)] {
            assert_eq!(Ctl::decode(&m.encode()), Some(m));
        }
        assert_eq!(Ctl::decode(&[9; 16]), None);
    }
}
