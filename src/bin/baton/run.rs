//! `baton run`: wait for leadership, run the command while leading, stop it when leadership ends.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use baton::{Election, Event};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::{RunArgs, EXIT_LOST};

enum Msg {
    Event(Event),
    Signal(i32),
    Exited,
}

pub fn run(args: RunArgs) -> ExitCode {
    let election = match args.target.builder().ttl(args.ttl).build() {
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

    let name = args.target.election.clone();
    tracing::info!(election = %name, candidate = election.candidate_id(), "waiting for leadership");
    let token = loop {
        match rx.recv() {
            Ok(Msg::Event(Event::Granted { token })) => break token,
            Ok(Msg::Signal(sig)) => {
                election.close();
                return ExitCode::from(128 + sig as u8);
            }
            _ => {}
        }
    };
    eprintln!(
        "baton: leading {name} with fencing token {token}; starting {}",
        args.command[0]
    );
    let mut child = match spawn(&args.command, &election, token) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "baton: cannot start {:?}: {e}; check the command and its PATH",
                args.command[0]
            );
            election.close();
            return ExitCode::from(127);
        }
    };
    let pid = child.id() as i32;
    let exit_tx = tx.clone();
    std::thread::spawn(move || {
        wait_without_reaping(pid);
        let _ = exit_tx.send(Msg::Exited);
    });

    loop {
        match rx.recv() {
            Ok(Msg::Exited) | Err(_) => {
                let status = reap(&mut child);
                election.close();
                return ExitCode::from(exit_code(status));
            }
            Ok(Msg::Signal(sig)) => {
                // Forward; the command decides how to stop, and its status becomes ours.
                signal_group(pid, sig);
            }
            Ok(Msg::Event(Event::Revoked { reason, .. })) => {
                eprintln!(
                    "baton: leadership of {name} lost ({reason}); stopping {}",
                    args.command[0]
                );
                stop(pid, &rx, args.grace);
                reap(&mut child);
                election.close();
                return ExitCode::from(EXIT_LOST);
            }
            Ok(Msg::Event(_)) => {}
        }
    }
}

fn spawn(command: &[String], election: &Election, token: u64) -> std::io::Result<Child> {
    let parent = std::process::id() as i32;
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..])
        .env("BATON_ELECTION", election.name())
        .env("BATON_FENCING_TOKEN", token.to_string())
        .env("BATON_CANDIDATE_ID", election.candidate_id());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Own process group, so that signals reach the command's children too.
            libc::setpgid(0, 0);
            // A leader-only command must never outlive the baton that holds its lease.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(EXIT_LOST as i32);
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// Blocks until the child exited, leaving it a zombie so that its pid cannot be reused
/// before the main thread reaps it: signals sent until then cannot hit another process.
fn wait_without_reaping(pid: i32) {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

fn reap(child: &mut Child) -> ExitStatus {
    child
        .wait()
        .unwrap_or_else(|_| ExitStatus::from_raw(1 << 8))
}

fn signal_group(pid: i32, sig: i32) {
    // SAFETY: kill(2) on our child's process group; the child is not reaped yet.
    unsafe { libc::kill(-pid, sig) };
}

/// SIGTERM, then SIGKILL after `grace`, returning once the command exited.
fn stop(pid: i32, rx: &flume::Receiver<Msg>, grace: Duration) {
    signal_group(pid, libc::SIGTERM);
    let until = Instant::now() + grace;
    loop {
        match rx.recv_deadline(until) {
            Ok(Msg::Exited) | Err(flume::RecvTimeoutError::Disconnected) => return,
            Ok(_) => {}
            Err(flume::RecvTimeoutError::Timeout) => break,
        }
    }
    eprintln!(
        "baton: command still running after {}; sending SIGKILL",
        humantime::format_duration(grace)
    );
    signal_group(pid, libc::SIGKILL);
    while !matches!(rx.recv(), Ok(Msg::Exited) | Err(_)) {}
}

/// The command's status as a shell reports it: its code, or 128 + the signal that killed it.
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(sig)) => 128 + sig as u8,
        _ => 1,
    }
}
