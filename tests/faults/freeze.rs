//! A TCP proxy that can freeze the connections it carries: bytes stop flowing both ways, the
//! sockets stay open (no RST, no FIN), as with a hung or powered-off host, while connections
//! opened afterwards flow normally, as a replacement connection would reach a healthy path.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

pub struct FreezeProxy {
    port: u16,
    /// Connections numbered below this are frozen.
    frozen_below: Arc<AtomicU64>,
    next: Arc<AtomicU64>,
}

impl FreezeProxy {
    pub fn start(upstream: u16) -> FreezeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        let port = listener.local_addr().unwrap().port();
        let frozen_below = Arc::new(AtomicU64::new(0));
        let next = Arc::new(AtomicU64::new(0));
        let (f, n) = (frozen_below.clone(), next.clone());
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let id = n.fetch_add(1, Ordering::SeqCst);
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let f = f.clone();
                    thread::spawn(move || pump(from, to, id, &f));
                }
            }
        });
        FreezeProxy {
            port,
            frozen_below,
            next,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Every connection open now stops carrying bytes, for good; new ones are unaffected.
    pub fn freeze(&self) {
        let open = self.next.load(Ordering::SeqCst);
        self.frozen_below.store(open, Ordering::SeqCst);
    }

    /// How many connections the proxy accepted so far.
    pub fn connections(&self) -> u64 {
        self.next.load(Ordering::SeqCst)
    }
}

/// Copies bytes until either side closes; a frozen connection's bytes are read and dropped,
/// so the sender sees its writes accepted and never an answer.
fn pump(mut from: TcpStream, mut to: TcpStream, id: u64, frozen_below: &AtomicU64) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if id < frozen_below.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
