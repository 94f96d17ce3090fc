//! `baton run`: wait for leadership, run the command (under the watchdog) while leading, stop
//! it so that nothing of it outlives the lease.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use baton::{Election, Event};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::watchdog::{self, Ctl, CTL_FD, REPORT_FD};
use crate::{RunArgs, EXIT_LOST, EXIT_TIMEOUT, EXIT_USAGE};

/// The engine's defaults that `baton run` leaves as they are (see baton's Configuration).
const DRIFT: f64 = 0.01;

/// Longest `--grace` the lease allows: a renewal is sent `renew_interval` (ttl / 3) after the
/// previous one and may need one retry (`retry_interval`, ttl / 20); only if both failed may
/// the stop begin, and SIGKILL must land by the deadline, `ttl × (1 − drift) − 2 ms` after the
/// last successful renewal was sent. So: grace ≤ ttl × (1 − drift) − 2 ms − ttl/3 − ttl/20.
pub fn max_grace(ttl: Duration) -> Duration {
    let span = ttl
        .mul_f64(1.0 - DRIFT)
        .saturating_sub(baton::SAFETY_MARGIN);
    span.saturating_sub(ttl / 3).saturating_sub(ttl / 20)
}

/// `--grace` as given, checked against the ttl; the default is 5s or the longest allowed.
fn grace(args: &RunArgs) -> Result<Duration, String> {
    let limit = max_grace(args.ttl);
    match args.grace {
        None => Ok(limit.min(Duration::from_secs(5))),
        Some(g) if g <= limit => Ok(g),
        Some(g) => Err(format!(
            "--grace {} is too long for --ttl {}: SIGKILL must land by the lease deadline, so grace may be at most ttl × 0.99 − 2ms − ttl/3 − ttl/20 = {}; lower --grace or raise --ttl",
            humantime::format_duration(g),
            humantime::format_duration(args.ttl),
            humantime::format_duration(Duration::from_millis(limit.as_millis() as u64)),
        )),
    }
}

enum Msg {
    Event(Event),
    Signal(i32),
    Exited(ExitStatus),
}

pub fn run(args: RunArgs) -> ExitCode {
    let grace = match grace(&args) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("baton: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // Orphans of CMD come back to baton if the watchdog itself is killed (see `finish`).
    crate::tree::become_subreaper();
    // A resign request stops CMD first; the lease goes only once nothing of CMD is left.
    let election = match args
        .store
        .builder(&args.election)
        .ttl(args.ttl)
        .resign_on_request(false)
        .build()
    {
        Ok(e) => e,
        Err(e) => return crate::fail(&e),
    };
    let (tx, rx) = flume::unbounded();
    let events = election.events();
    let events_tx = tx.clone();
    std::thread::spawn(move || events.for_each(|e| drop(events_tx.send(Msg::Event(e)))));
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("baton: cannot handle signals: {e}");
            return ExitCode::from(crate::EXIT_UNAVAILABLE);
        }
    };
    let signal_tx = tx.clone();
    std::thread::spawn(move || {
        signals
            .forever()
            .for_each(|s| drop(signal_tx.send(Msg::Signal(s))))
    });

    let name = args.election.clone();
    tracing::info!(election = %name, candidate = election.candidate_id(), "waiting for leadership");
    let give_up = args.wait_timeout.map(|t| Instant::now() + t);
    let token = loop {
        let msg = match give_up {
            Some(at) => rx
                .recv_deadline(at)
                .map_err(|e| matches!(e, flume::RecvTimeoutError::Timeout)),
            None => rx.recv().map_err(|_| false),
        };
        match msg {
            Ok(Msg::Event(Event::Granted { token })) => break token,
            Ok(Msg::Signal(sig)) => {
                election.close();
                return ExitCode::from(128 + sig as u8);
            }
            Ok(_) => {}
            Err(true) => {
                eprintln!(
                    "baton: not elected leader of {name} within --wait-timeout {}; giving up",
                    humantime::format_duration(args.wait_timeout.unwrap_or_default())
                );
                election.close();
                return ExitCode::from(EXIT_TIMEOUT);
            }
            Err(false) => return ExitCode::from(crate::EXIT_UNAVAILABLE),
        }
    };
    eprintln!(
        "baton: leading {name} with fencing token {token}; starting {}",
        args.command[0]
    );
    let mut supervised = match Supervised::start(&args.command, &election, token, grace) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("baton: cannot start the watchdog: {e}");
            election.close();
            return ExitCode::from(crate::EXIT_NOT_STARTED);
        }
    };
    let mut child = supervised.child.take().expect("just started");
    let exit_tx = tx.clone();
    std::thread::spawn(move || {
        let status = child
            .wait()
            .unwrap_or_else(|_| std::os::unix::process::ExitStatusExt::from_raw(1 << 8));
        let _ = exit_tx.send(Msg::Exited(status));
    });

    // Heartbeats: the watchdog learns of each renewal well within retry_interval (ttl / 20).
    let beat = (args.ttl / 40).clamp(Duration::from_millis(1), Duration::from_millis(100));
    let mut revoked = false;
    loop {
        if !revoked {
            supervised.heartbeat(&election);
        }
        match rx.recv_timeout(beat) {
            Err(flume::RecvTimeoutError::Timeout) => {}
            Err(flume::RecvTimeoutError::Disconnected) => unreachable!("we hold a sender"),
            Ok(Msg::Exited(status)) => {
                return finish(
                    &mut supervised,
                    &election,
                    &name,
                    &args.command[0],
                    status,
                    revoked,
                )
            }
            Ok(Msg::Signal(sig)) => {
                // Forward; the command decides how to stop, and its status becomes ours.
                supervised.send(Ctl::Signal(sig));
            }
            // Asked to hand over (`baton resign`): the command stops first, and the lease is
            // released only once nothing of it is left (finish), never the other way round.
            Ok(Msg::Event(Event::ResignRequested { .. })) if !revoked => {
                eprintln!(
                    "baton: asked to hand {name} over; stopping {} before releasing the lease",
                    args.command[0]
                );
                revoked = true;
                supervised.send(Ctl::Deadline(0));
            }
            Ok(Msg::Event(Event::Revoked { reason, .. })) => {
                eprintln!(
                    "baton: leadership of {name} lost ({reason}); stopping {}",
                    args.command[0]
                );
                // The lease is gone or going: stop now (SIGTERM and SIGKILL at once).
                revoked = true;
                supervised.send(Ctl::Deadline(0));
            }
            Ok(Msg::Event(_)) => {}
        }
    }
}

/// The watchdog process and the two pipes to it.
struct Supervised {
    child: Option<std::process::Child>,
    /// baton → watchdog (non-blocking: a stopped watchdog must never stop baton).
    ctl: std::fs::File,
    /// watchdog → baton: how it ended.
    report: std::fs::File,
    last_sent: u64,
}

fn pipe() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    })
}

impl Supervised {
    fn start(
        command: &[String],
        election: &Election,
        token: u64,
        grace: Duration,
    ) -> std::io::Result<Supervised> {
        use std::os::fd::AsRawFd;
        let (ctl_r, ctl) = pipe()?;
        let (report, report_w) = pipe()?;
        // SAFETY: setting O_NONBLOCK on our own fd.
        unsafe {
            let fd = ctl.as_raw_fd();
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            );
        }
        let (r, w) = (ctl_r.as_raw_fd(), report_w.as_raw_fd());
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("__watchdog")
            .arg("--grace-ms")
            .arg(grace.as_millis().to_string())
            .arg("--")
            .args(command)
            .env("BATON_ELECTION", election.name())
            .env("BATON_FENCING_TOKEN", token.to_string())
            .env("BATON_CANDIDATE_ID", election.candidate_id());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Move the pipe ends to fds 3 and 4 (via fresh fds, in case they are 3 or 4).
                let r2 = libc::fcntl(r, libc::F_DUPFD_CLOEXEC, 10);
                let w2 = libc::fcntl(w, libc::F_DUPFD_CLOEXEC, 10);
                if r2 < 0 || w2 < 0 || libc::dup2(r2, CTL_FD) < 0 || libc::dup2(w2, REPORT_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // A session of its own: the terminal's SIGTSTP/SIGINT to baton's foreground
                // group never reach the watchdog, so Ctrl-Z stops baton, not the deadline.
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        drop((ctl_r, report_w));
        let mut s = Supervised {
            child: Some(child),
            ctl,
            report,
            last_sent: 0,
        };
        s.heartbeat(election);
        Ok(s)
    }

    fn send(&mut self, msg: Ctl) {
        use std::io::Write;
        // A full pipe means the watchdog is stopped; it acts on the deadline it has.
        let _ = self.ctl.write_all(&msg.encode());
    }

    /// Sends the lease deadline when a renewal moved it; the clock is read first, so the
    /// deadline sent is never later than the engine's.
    fn heartbeat(&mut self, election: &Election) {
        let now = watchdog::boottime_ns();
        let deadline = match election.lease_remaining() {
            Some(left) => now + left.as_nanos() as u64,
            None => now,
        };
        if deadline > self.last_sent + 1_000_000 {
            self.last_sent = deadline;
            self.send(Ctl::Deadline(deadline));
        }
    }

    /// How the watchdog ended: `ENDED_*`, or `None` if it died without saying.
    fn ending(&mut self) -> Option<u8> {
        use std::io::Read;
        let mut b = [0u8; 1];
        (self.report.read(&mut b).ok()? == 1).then_some(b[0])
    }
}

fn finish(
    supervised: &mut Supervised,
    election: &Election,
    name: &str,
    program: &str,
    status: ExitStatus,
    revoked: bool,
) -> ExitCode {
    let ending = supervised.ending();
    // The watchdog is gone; if something killed it, what CMD left behind was re-parented to
    // us (a subreaper too): nothing of it may outlive the lease we are about to release.
    crate::tree::kill_and_reap_all();
    let lost = revoked || ending == Some(watchdog::ENDED_LOST) || !election.is_leader();
    election.close();
    if ending == Some(watchdog::ENDED_NOT_STARTED) {
        return ExitCode::from(crate::EXIT_NOT_STARTED);
    }
    if lost {
        if !revoked {
            eprintln!("baton: leadership of {name} ran out; {program} was stopped");
        }
        return ExitCode::from(EXIT_LOST);
    }
    if ending.is_none() {
        eprintln!("baton: the watchdog of {program} ended unexpectedly ({status}); its processes were killed");
        return ExitCode::from(EXIT_LOST);
    }
    ExitCode::from(exit_code(status))
}

/// The watchdog passes on CMD's status as a shell reports it.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(sig)) => 128 + sig as u8,
        _ => 1,
    }
}
