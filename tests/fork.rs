//! `fork()` right after a grant: the parent's runtime thread may still be inside the election's
//! state (it emits the grant's events under its lock), and that thread does not exist in the
//! child. Every call on the inherited election must answer in the child, never wait for it.
//! A binary of its own: the child copies only the forking thread.

use std::io::Read;
use std::os::fd::FromRawFd;
use std::time::Duration;

use baton::{Election, Error, RecvError};
use baton_testkit::RedisServer;

const ROUNDS: usize = 300;

/// Every call an application may make on an inherited election, as one line of text.
fn in_child(e: &Election) -> String {
    let events = e.events();
    format!(
        "leader={} token={:?} seen={:?} closed={} events={:?} wait={:?} resign={}",
        e.is_leader(),
        e.token(),
        e.leader().map(|l| l.token),
        e.is_closed(),
        events.recv_timeout(Duration::from_millis(100)).err(),
        e.wait_for_leadership(Duration::from_millis(100)).err(),
        matches!(e.resign(), Err(Error::Forked)),
    )
}

#[test]
fn every_call_on_an_election_inherited_right_after_its_grant_answers_in_the_child() {
    let redis = RedisServer::start();
    let expected = format!(
        "leader=false token=None seen=None closed=true events={:?} wait={:?} resign=true",
        Some(RecvError::Forked),
        Some(RecvError::Forked)
    );
    for round in 0..ROUNDS {
        let e = Election::builder(redis.url(), format!("forked-{round}"))
            .ttl(Duration::from_millis(2000))
            .build()
            .unwrap();
        let token = e.wait_for_leadership(Duration::from_secs(10)).unwrap();
        let mut fds = [0; 2];
        // SAFETY: a pipe of two fresh descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child runs only `in_child` and exits without unwinding or running
        // destructors that belong to the parent.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let line = in_child(&e);
            // SAFETY: writes the report to the pipe and ends the child at once.
            unsafe {
                libc::write(fds[1], line.as_ptr().cast(), line.len());
                libc::_exit(0);
            }
        }
        // SAFETY: the write end is ours to close; the read end is owned by `pipe` alone.
        unsafe { libc::close(fds[1]) };
        // SAFETY: as above.
        let mut pipe = unsafe { std::fs::File::from_raw_fd(fds[0]) };
        let mut poll = libc::pollfd {
            fd: fds[0],
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, 10_000) };
        let mut report = String::new();
        if ready == 1 {
            pipe.read_to_string(&mut report).unwrap();
        } else {
            // SAFETY: our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // SAFETY: reaps our own child.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        assert!(
            !report.is_empty(),
            "round {round}: the child hung on the election it inherited"
        );
        assert_eq!(report, expected, "round {round}");
        assert_eq!(
            e.token(),
            Some(token),
            "round {round}: the parent still leads"
        );
    }
}
