//! A TCP proxy between one candidate and the store, so that the harness can fault that
//! candidate's link alone. Four faults:
//! - cut: bytes stop flowing both ways but are kept, as TCP keeps them across a partition;
//!   when the cut heals they are delivered in order (late replies included);
//! - reset: every connection is closed at once and new ones are closed on arrival;
//! - delay: every chunk is delivered `delay` after it was read, in each direction;
//! - hang: the connections open now stop answering for good: bytes are dropped both ways,
//!   the sockets stay open (no FIN, no RST), as behind a host that lost power; new
//!   connections work.
//!
//! Each connection has a reader and a writer thread per direction, joined by a queue, so a
//! delay adds latency without cutting throughput.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Link {
    cut: bool,
    refuse: bool,
    delay: Duration,
}

struct Shared {
    link: Mutex<Link>,
    changed: Condvar,
    conns: Mutex<Vec<Conn>>,
    next_id: AtomicU64,
    stop: AtomicBool,
    upstream: u16,
}

struct Conn {
    id: u64,
    client: TcpStream,
    server: TcpStream,
    hung: Arc<AtomicBool>,
}

impl Conn {
    fn close(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }
}

pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            link: Mutex::default(),
            changed: Condvar::new(),
            conns: Mutex::default(),
            next_id: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            upstream,
        });
        let s = shared.clone();
        thread::spawn(move || accept_loop(listener, s));
        Proxy { port, shared }
    }

    /// The port candidates connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<proxy port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn update(&self, f: impl FnOnce(&mut Link)) {
        f(&mut self.shared.link.lock().unwrap());
        self.shared.changed.notify_all();
    }

    pub fn set_cut(&self, cut: bool) {
        self.update(|l| l.cut = cut);
    }

    pub fn set_delay(&self, delay: Duration) {
        self.update(|l| l.delay = delay);
    }

    /// Closes every connection now; while `refuse`, new ones are closed on arrival.
    pub fn reset(&self, refuse: bool) {
        self.update(|l| l.refuse = refuse);
        if refuse {
            for c in self.shared.conns.lock().unwrap().drain(..) {
                c.close();
            }
        }
    }

    /// The connections open now go silent for good; returns how many.
    pub fn hang(&self) -> usize {
        let conns = self.shared.conns.lock().unwrap();
        for c in conns.iter() {
            c.hung.store(true, Ordering::SeqCst);
        }
        conns.len()
    }

    /// Back to a healthy link.
    pub fn heal(&self) {
        self.update(|l| *l = Link::default());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.heal();
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for c in self.shared.conns.lock().unwrap().drain(..) {
            c.close();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        if shared.link.lock().unwrap().refuse {
            continue; // dropped: closed on arrival
        }
        let upstream = ("127.0.0.1", shared.upstream);
        let Ok(server) = TcpStream::connect(upstream) else {
            continue; // the store is down: the client sees its connection closed
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        let clones = (client.try_clone(), server.try_clone());
        let (Ok(c2), Ok(s2)) = clones else { continue };
        let hung = Arc::new(AtomicBool::new(false));
        shared.conns.lock().unwrap().push(Conn {
            id,
            client: c2,
            server: s2,
            hung: hung.clone(),
        });
        pipe(&shared, id, &hung, &client, &server);
        pipe(&shared, id, &hung, &server, &client);
    }
}

/// Forwards `from` to `to` through a queue, honouring cut and delay.
fn pipe(shared: &Arc<Shared>, id: u64, hung: &Arc<AtomicBool>, from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let s = shared.clone();
    thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = Instant::now() + s.link.lock().unwrap().delay;
                    if tx.send((due, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
    });
    let s = shared.clone();
    let hung = hung.clone();
    thread::spawn(move || {
        for (due, bytes) in rx {
            if hung.load(Ordering::SeqCst) {
                continue; // dropped: a hung peer never answers
            }
            // Hold the chunk while the link is cut or until it is due.
            let mut link = s.link.lock().unwrap();
            loop {
                let now = Instant::now();
                if !link.cut && now >= due {
                    break;
                }
                let wait = if link.cut {
                    Duration::from_millis(50)
                } else {
                    due - now
                };
                link = s.changed.wait_timeout(link, wait).unwrap().0;
            }
            drop(link);
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        // This direction is over: what was sent before is delivered, then the peer sees the
        // end (as TCP delivers a closed socket's last bytes). The other direction ends when
        // the peer closes in turn.
        let _ = to.shutdown(Shutdown::Write);
        s.conns.lock().unwrap().retain(|c| c.id != id);
    });
}
