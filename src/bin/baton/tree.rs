//! A process and everything it started: found through `/proc` (parent links), signalled one
//! by one, and reaped. Used by the watchdog, a child subreaper, so that every descendant of
//! CMD (double-forked daemons and `setsid` included) stays in its subtree and is found here.

use std::collections::HashMap;

/// Every living descendant of `root` (zombies included: signalling them is harmless).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = parent_of(pid) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            found.push(c);
            todo.push(c);
        }
    }
    found
}

/// The parent pid from `/proc/PID/stat` (field 4, after the parenthesised command name,
/// which may itself contain spaces and parentheses).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `sig` to the process group `group` (CMD's) and to every descendant of this process;
/// returns the pids that refused it (EPERM: a set-uid program we may not signal).
pub fn signal_all(group: Option<i32>, sig: i32) -> Vec<i32> {
    if let Some(g) = group {
        // SAFETY: kill(2) on a process group we created; a gone group gives ESRCH.
        unsafe { libc::kill(-g, sig) };
    }
    let mut refused = Vec::new();
    for pid in descendants(std::process::id() as i32) {
        // SAFETY: kill(2) on our own descendant; as a subreaper we reap them, so a pid seen
        // here is not reused before we waited for it.
        if unsafe { libc::kill(pid, sig) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
        {
            refused.push(pid);
        }
    }
    refused
}

/// What `waitpid(-1, WNOHANG)` found.
pub enum Reaped {
    /// A child exited with this wait status.
    Child(i32, i32),
    /// Children remain, none exited yet.
    Running,
    /// No children left at all.
    None,
}

/// Reaps one exited child, if any.
pub fn reap_one() -> Reaped {
    let mut status = 0;
    // SAFETY: waitpid with a valid out-pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    match pid {
        0 => Reaped::Running,
        p if p > 0 => Reaped::Child(p, status),
        _ if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => Reaped::Running,
        _ => Reaped::None,
    }
}

/// A wait status as a shell reports it: the exit code, or 128 + the signal that killed it.
pub fn shell_code(status: i32) -> u8 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status) as u8
    } else if libc::WIFSIGNALED(status) {
        128u8.wrapping_add(libc::WTERMSIG(status) as u8)
    } else {
        1
    }
}

/// Makes this process a child subreaper: orphans among its descendants come back to it.
pub fn become_subreaper() {
    // SAFETY: prctl on our own process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
}

/// SIGKILLs every descendant of this process and reaps them all; returns once none is left.
pub fn kill_and_reap_all() {
    loop {
        signal_all(None, libc::SIGKILL);
        match reap_one() {
            Reaped::None => return,
            Reaped::Child(..) => {}
            Reaped::Running => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
}
