//! `baton run` never lets its command outlive the lease (DESIGN.md invariant 9), against a real
//! redis-server: a command that ignores SIGTERM while the link is cut, a stopped baton (Ctrl-Z),
//! a killed baton whose command forked grandchildren, and leftovers of a command that exited.
//!
//! Every command runs the same check when it starts: each pid that an earlier command (any
//! depth) recorded must be gone. A pid still alive is written to `overlap`, which must stay
//! absent: at no instant do two commands of one election run.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use baton_testkit::RedisServer;

#[allow(dead_code)]
#[path = "chaos/proxy.rs"]
mod proxy;

/// `BATON_TEST_BIN` runs these tests against another build (to show a fault before a fix).
fn baton() -> String {
    std::env::var("BATON_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_baton").into())
}
const WAIT: Duration = Duration::from_secs(20);

/// Checks earlier commands' pids (comm is `sh` or `sleep`: no spaces in /proc/PID/stat), then records its own and a background grandchild's.
/// `$1` is the directory; `$2` says what to do after starting.
const SCRIPT: &str = r#"
dir=$1
for f in "$dir"/*.pids; do
  [ -e "$f" ] || continue
  for p in $(cat "$f"); do
    # Alive unless gone or a zombie (dead, waiting to be reaped): field 3 of /proc/PID/stat.
    state=$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)
    if [ -n "$state" ] && [ "$state" != Z ]; then echo "token $BATON_FENCING_TOKEN found $p ($state) of $f alive" >> "$dir/overlap"; fi
  done
done
case "$2" in ignore-term) trap '' TERM ;; esac
sleep 1000 &
echo "$$ $!" > "$dir/$BATON_FENCING_TOKEN.pids"
echo "started $BATON_FENCING_TOKEN"
case "$2" in exit) exit 0 ;; esac
wait
"#;

struct Baton {
    child: Child,
    started: Receiver<u64>,
}

impl Baton {
    /// `baton run` in a process group of its own, as a shell job is.
    fn start(url: &str, ttl: &str, grace: &str, dir: &Path, mode: &str) -> Baton {
        let mut child = Command::new(baton())
            .args(["run", "--store", url, "--election", "job", "--ttl", ttl])
            .args(["--grace", grace, "--", "sh", "-c", SCRIPT, "sh"])
            .arg(dir)
            .arg(mode)
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, started) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(token) = line.strip_prefix("started ") {
                    let _ = tx.send(token.parse().unwrap());
                }
            }
        });
        Baton { child, started }
    }

    fn signal_group(&self, sig: i32) {
        // SAFETY: kill(2) on the process group of our own child.
        unsafe { libc::kill(-(self.child.id() as i32), sig) };
    }

    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "baton did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Baton {
    fn drop(&mut self) {
        self.signal_group(libc::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The commands' shared directory; when dropped (a failed test included), kills whatever
/// they recorded, so that a broken build leaks no processes.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for f in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            let pids = std::fs::read_to_string(f.path()).unwrap_or_default();
            for p in pids
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                if f.path().extension().is_some_and(|e| e == "pids") && alive(p) {
                    // SAFETY: kill(2) on a process a test command recorded as its own.
                    unsafe { libc::kill(p, libc::SIGKILL) };
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("baton-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// The pids each command recorded.
fn recorded(dir: &Path, token: u64) -> Vec<i32> {
    std::fs::read_to_string(dir.join(format!("{token}.pids")))
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

fn alive(pid: i32) -> bool {
    // A zombie counts as gone: it runs nothing. Its parent (the watchdog) reaps it.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s[s.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
        .unwrap_or(false)
}

/// No command found an earlier one's process alive, and none of `pids` is alive now.
fn assert_no_overlap(dir: &Path, pids: &[i32]) {
    let overlap = std::fs::read_to_string(dir.join("overlap")).unwrap_or_default();
    assert!(overlap.is_empty(), "two commands ran at once: {overlap}");
    for &p in pids {
        assert!(!alive(p), "process {p} of the old command is still alive");
    }
}

/// Case 1: renewals stop (a cut link that keeps the connection open, so requests hang). The
/// command ignores SIGTERM: the SIGKILL must land by the deadline, before the lease can pass.
#[test]
fn a_command_that_ignores_sigterm_is_killed_by_the_deadline_when_the_link_is_cut() {
    let redis = RedisServer::start();
    let link = proxy::Proxy::start(redis.port());
    let dir = scratch("cut");
    let mut old = Baton::start(&link.url(), "1s", "300ms", &dir, "ignore-term");
    let first = old
        .started
        .recv_timeout(WAIT)
        .expect("the first command starts");
    let next = Baton::start(&redis.url(), "1s", "300ms", &dir, "run");
    link.set_cut(true);
    let second = next
        .started
        .recv_timeout(WAIT)
        .expect("the other candidate takes over after the lease expired");
    assert!(second > first);
    assert_eq!(old.exit_code(), Some(75), "baton reports the lost lease");
    link.set_cut(false);
    assert_no_overlap(&dir, &recorded(&dir, first));
}

/// Case 2: Ctrl-Z stops baton's process group (SIGTSTP). The watchdog, in its own session,
/// still stops the command by the deadline; the resumed baton reports the loss.
#[test]
fn a_stopped_baton_does_not_leave_its_command_running() {
    let redis = RedisServer::start();
    let dir = scratch("stopped");
    let mut old = Baton::start(&redis.url(), "1s", "300ms", &dir, "run");
    let first = old
        .started
        .recv_timeout(WAIT)
        .expect("the first command starts");
    let next = Baton::start(&redis.url(), "1s", "300ms", &dir, "run");
    old.signal_group(libc::SIGTSTP);
    let second = next
        .started
        .recv_timeout(WAIT)
        .expect("the other candidate takes over after the lease expired");
    assert!(second > first);
    let pids = recorded(&dir, first);
    old.signal_group(libc::SIGCONT);
    assert_eq!(
        old.exit_code(),
        Some(75),
        "the resumed baton reports the lost lease"
    );
    assert_no_overlap(&dir, &pids);
}

/// Case 3: baton is SIGKILLed; the command's grandchild (`sleep 1000 &`) must die too, not
/// only its direct child.
#[test]
fn nothing_the_command_started_survives_a_killed_baton() {
    let redis = RedisServer::start();
    let dir = scratch("killed");
    let mut old = Baton::start(&redis.url(), "1s", "300ms", &dir, "run");
    let first = old
        .started
        .recv_timeout(WAIT)
        .expect("the first command starts");
    let next = Baton::start(&redis.url(), "1s", "300ms", &dir, "run");
    old.child.kill().unwrap();
    old.child.wait().unwrap();
    let second = next
        .started
        .recv_timeout(WAIT)
        .expect("the other candidate takes over");
    assert!(second > first);
    assert_no_overlap(&dir, &recorded(&dir, first));
}

/// A command that exits and leaves a background process behind: the lease is released (and
/// the next command starts at once) only after the leftover is gone.
#[test]
fn what_an_exited_command_left_behind_dies_before_the_lease_is_released() {
    let redis = RedisServer::start();
    let dir = scratch("leftover");
    // A long lease: only the release can explain a takeover within WAIT.
    let mut next = Baton::start(&redis.url(), "1m", "5s", &dir, "run");
    let first = next
        .started
        .recv_timeout(WAIT)
        .expect("the first command starts");
    let mut old = Baton::start(&redis.url(), "1m", "5s", &dir, "exit");
    // The leader resigns by SIGTERM; the second baton's command then exits at once.
    next.signal_group(libc::SIGTERM);
    assert_eq!(next.exit_code(), Some(128 + libc::SIGTERM));
    let second = old.started.recv_timeout(WAIT).expect("takeover by release");
    assert_eq!(old.exit_code(), Some(0), "the command's own status");
    let third = Baton::start(&redis.url(), "1m", "5s", &dir, "run");
    let third_token = third
        .started
        .recv_timeout(WAIT)
        .expect("takeover by release");
    assert!(first < second && second < third_token);
    let mut pids = recorded(&dir, first);
    pids.extend(recorded(&dir, second));
    assert_no_overlap(&dir, &pids);
}

/// `baton resign` asks the leader to hand over: its command (which ignores SIGTERM and left a
/// background process) is gone before the lease is released and the next command starts.
#[test]
fn a_resign_request_stops_the_command_before_the_lease_is_released() {
    let redis = RedisServer::start();
    let dir = scratch("resign");
    let old = Baton::start(&redis.url(), "2s", "300ms", &dir, "ignore-term");
    let first = old
        .started
        .recv_timeout(WAIT)
        .expect("the first command starts");
    let next = Baton::start(&redis.url(), "2s", "300ms", &dir, "run");
    let asked = Command::new(baton())
        .args(["resign", "--store", &redis.url(), "--election", "job"])
        .status()
        .unwrap();
    assert!(asked.success(), "baton resign: {asked}");
    let second = next
        .started
        .recv_timeout(WAIT)
        .expect("the other candidate takes over");
    assert!(second > first);
    assert_no_overlap(&dir, &recorded(&dir, first));
}
