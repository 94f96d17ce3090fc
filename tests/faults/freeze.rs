//! A TCP proxy that can freeze the connections it carries: bytes stop flowing both ways, the
//! sockets stay open (no RST, no FIN), as with a hung or powered-off host, while connections
//! opened afterwards flow normally, as a replacement connection would reach a healthy path.
//!
//! It can also hold them: what the client sends is kept back until the test lets it through,
//! and only once the client gave up and closed, as a request stuck in a paused server's socket
//! buffer runs when the server resumes, after its sender stopped waiting.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Shared {
    /// Connections numbered below this are frozen.
    frozen_below: AtomicU64,
    /// Connections numbered below this (and not frozen) are held.
    held_below: AtomicU64,
    /// Connections accepted so far (the next one's number), notified on each.
    next: Mutex<u64>,
    accepted: Condvar,
    /// Held requests may reach the server (once their client closed).
    let_through: Mutex<bool>,
    let_through_set: Condvar,
    /// Answers the server gave to held requests, delivered after their client left.
    late: Mutex<u64>,
    late_seen: Condvar,
}

/// Longest a closed held connection waits for `let_through`, so its thread ends.
const HOLD_LIMIT: Duration = Duration::from_secs(60);

pub struct FreezeProxy {
    port: u16,
    shared: Arc<Shared>,
}

impl FreezeProxy {
    pub fn start(upstream: u16) -> FreezeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let id = {
                    let mut next = s.next.lock().unwrap();
                    *next += 1;
                    *next - 1
                };
                s.accepted.notify_all();
                let delivered = Arc::new(AtomicBool::new(false));
                let up = Pump {
                    id,
                    to_server: true,
                    delivered: delivered.clone(),
                    shared: s.clone(),
                };
                let down = Pump {
                    to_server: false,
                    ..up.clone()
                };
                let (c, sv) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                thread::spawn(move || up.run(c, sv));
                thread::spawn(move || down.run(server, client));
            }
        });
        FreezeProxy { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Every connection open now stops carrying bytes, for good; new ones are unaffected.
    pub fn freeze(&self) {
        let open = self.connections();
        self.shared.frozen_below.store(open, Ordering::SeqCst);
    }

    /// Every connection open now carries nothing to its client, and keeps what the client
    /// sends until `let_through` (and the client closed); new ones are unaffected.
    pub fn hold(&self) {
        *self.shared.let_through.lock().unwrap() = false;
        let open = self.connections();
        self.shared.held_below.store(open, Ordering::SeqCst);
    }

    /// Lets the held requests reach the server once their client closed, and waits until the
    /// server answered one of them.
    pub fn let_through(&self, within: Duration) -> bool {
        *self.shared.let_through.lock().unwrap() = true;
        self.shared.let_through_set.notify_all();
        let until = Instant::now() + within;
        let mut late = self.shared.late.lock().unwrap();
        while *late == 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            late = self.shared.late_seen.wait_timeout(late, left).unwrap().0;
        }
        true
    }

    /// How many connections the proxy accepted so far.
    pub fn connections(&self) -> u64 {
        *self.shared.next.lock().unwrap()
    }

    /// Waits until the proxy accepted more than `count` connections.
    pub fn accepted_more_than(&self, count: u64, within: Duration) -> bool {
        let until = Instant::now() + within;
        let mut next = self.shared.next.lock().unwrap();
        while *next <= count {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            next = self.shared.accepted.wait_timeout(next, left).unwrap().0;
        }
        true
    }
}

/// One direction of one connection.
#[derive(Clone)]
struct Pump {
    id: u64,
    to_server: bool,
    /// Held bytes reached the server after the client closed.
    delivered: Arc<AtomicBool>,
    shared: Arc<Shared>,
}

impl Pump {
    /// Copies bytes until either side closes; a frozen connection's bytes are read and
    /// dropped, so the sender sees its writes accepted and never an answer.
    fn run(self, mut from: TcpStream, mut to: TcpStream) {
        let mut buf = [0u8; 16 * 1024];
        let mut kept = Vec::new();
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if self.id < self.shared.frozen_below.load(Ordering::SeqCst) {
                continue;
            }
            if self.id < self.shared.held_below.load(Ordering::SeqCst) {
                if self.to_server {
                    kept.extend_from_slice(&buf[..n]);
                } else if self.delivered.load(Ordering::SeqCst) {
                    *self.shared.late.lock().unwrap() += 1;
                    self.shared.late_seen.notify_all();
                }
                continue;
            }
            if to.write_all(&buf[..n]).is_err() {
                return;
            }
        }
        // The client gave up on its held requests: the server gets them once let through.
        if self.to_server && !kept.is_empty() {
            let open = self.shared.let_through.lock().unwrap();
            let (open, _) = self
                .shared
                .let_through_set
                .wait_timeout_while(open, HOLD_LIMIT, |open| !*open)
                .unwrap();
            if !*open {
                return;
            }
            drop(open);
            self.delivered.store(true, Ordering::SeqCst);
            let _ = to.write_all(&kept);
        }
    }
}
