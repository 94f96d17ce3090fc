//! The statement connections of one MySQL store: a few plain connections, opened on demand,
//! reused only after a statement on them was answered, and all given up when a request gets
//! no answer in time (a hung host sends no RST), as PostgreSQL's connection is.
//!
//! Not `mysql_async`'s pool: it takes back a connection whose statement was abandoned and
//! hands it to the next request, and a pooled connection held by a request that never ends
//! keeps its slot for good; after a few link hangs every slot was hung (docs/chaos.md).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, DriverError, Error, Opts, Params};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::clock;

/// Statements of one store in flight at once, one per connection. The server runs each
/// connection's statements one after another; a few connections let a follower that takes
/// over many elections at once send their statements side by side.
const MAX_CONNS: usize = 4;

/// An idle connection and the clock nanos of its last answer.
struct Idle {
    conn: Conn,
    answered: u64,
    generation: u64,
}

pub(super) struct Conns {
    opts: Opts,
    /// `ssl-mode=PREFERRED`: plaintext options for a server that offers no TLS.
    plaintext: Option<Opts>,
    /// The server offered no TLS: later connections go plaintext at once instead of being
    /// turned away first (an extra connection each, which reconnects after a fault would pay).
    no_tls: AtomicBool,
    timeout: Duration,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    /// Bumped when the connections open now must not serve another statement; requests in
    /// flight on them are abandoned when it changes after a stall.
    generation: watch::Sender<u64>,
    /// Clock nanos of the last answer of any kind on any connection.
    last_answer: AtomicU64,
    /// Connections that broke or were given up while in use: a leader cannot know whether its
    /// lease survived what broke them (a failover), and stops believing.
    pub drops: Arc<AtomicU64>,
    /// Woken on each drop, so that every leader of the process checks at once.
    watchers: Mutex<Vec<Weak<Notify>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A connection that broke under a statement: I/O trouble, a driver error, or a server that
/// is going away (1053 shutdown in progress, 1927 connection killed).
fn broken(e: &Error) -> bool {
    match e {
        Error::Io(_) | Error::Driver(_) => true,
        Error::Server(s) => matches!(s.code, 1053 | 1927),
        _ => false,
    }
}

impl Conns {
    pub fn new(opts: Opts, plaintext: Option<Opts>, timeout: Duration) -> Conns {
        Conns {
            opts,
            plaintext,
            no_tls: Default::default(),
            timeout,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(MAX_CONNS)),
            generation: watch::Sender::new(0),
            last_answer: AtomicU64::new(clock::now_nanos()),
            drops: Arc::default(),
            watchers: Mutex::default(),
        }
    }

    /// Registers `notify` to be woken when a connection drops.
    pub fn watch(&self, notify: &Arc<Notify>) {
        let mut w = lock(&self.watchers);
        w.retain(|n| n.strong_count() > 0);
        w.push(Arc::downgrade(notify));
    }

    fn dropped(&self) {
        self.drops.fetch_add(1, Ordering::AcqRel);
        for n in lock(&self.watchers).iter().filter_map(Weak::upgrade) {
            n.notify_one();
        }
    }

    /// An idle connection of the current generation, or a new one.
    pub async fn get(&self) -> Result<Checked<'_>, Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Driver(DriverError::PoolDisconnected))?;
        let generation = *self.generation.borrow();
        let reused = {
            let mut idle = lock(&self.idle);
            idle.retain(|i| i.generation == generation);
            idle.pop()
        };
        let (conn, answered) = match reused {
            Some(i) => (i.conn, i.answered),
            None => {
                let conn = match tokio::time::timeout(self.timeout, self.open()).await {
                    Ok(c) => c?,
                    Err(_) => {
                        return Err(Error::Io(
                            std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                format!("no connection within {:?}", self.timeout),
                            )
                            .into(),
                        ))
                    }
                };
                (conn, self.answered())
            }
        };
        Ok(Checked {
            conns: self,
            conn: Some(conn),
            answered,
            generation,
            cancel: self.generation.subscribe(),
            _permit: permit,
        })
    }

    /// A new connection: over TLS unless the mode says otherwise; with `PREFERRED`, in
    /// plaintext when the server offers no TLS (found at the store's first such connect; a
    /// server that turns TLS on later is used encrypted once the process restarts).
    async fn open(&self) -> Result<Conn, Error> {
        if let Some(plain) = &self.plaintext {
            if self.no_tls.load(Ordering::Relaxed) {
                return Conn::new(plain.clone()).await;
            }
        }
        match (Conn::new(self.opts.clone()).await, &self.plaintext) {
            (Err(Error::Driver(DriverError::NoClientSslFlagFromServer)), Some(plain)) => {
                self.no_tls.store(true, Ordering::Relaxed);
                Conn::new(plain.clone()).await
            }
            (result, _) => result,
        }
    }

    fn answered(&self) -> u64 {
        let now = clock::now_nanos();
        self.last_answer.fetch_max(now, Ordering::Relaxed);
        now
    }

    /// A request sent at `sent` (clock nanos) got no answer in time. When no connection
    /// answered since, the link is hung: every connection is given up, the requests on them
    /// are abandoned, and the next request opens a new one. Otherwise only the idle
    /// connections silent since `sent` go (the stalled request's own never comes back).
    pub fn stalled(&self, sent: u64) {
        if self.last_answer.load(Ordering::Relaxed) < sent {
            tracing::warn!("the MySQL connections stopped answering; replacing them");
            self.generation.send_modify(|g| *g += 1);
            lock(&self.idle).clear();
            self.dropped();
        } else {
            lock(&self.idle).retain(|i| i.answered >= sent);
        }
    }
}

/// A connection in use. It goes back to the idle list only when its last statement was
/// answered: a request abandoned halfway (a timeout, a close) drops it with the statement.
pub(super) struct Checked<'a> {
    conns: &'a Conns,
    conn: Option<Conn>,
    answered: u64,
    generation: u64,
    cancel: watch::Receiver<u64>,
    _permit: OwnedSemaphorePermit,
}

impl Checked<'_> {
    fn take(&mut self) -> Result<Conn, Error> {
        self.conn
            .take()
            .ok_or(Error::Driver(DriverError::ConnectionClosed))
    }

    /// Awaits a statement unless the connection is given up first (a stall elsewhere).
    async fn race<T>(
        &mut self,
        statement: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Option<Result<T, Error>> {
        let generation = self.generation;
        tokio::select! {
            r = statement => Some(r),
            _ = self.cancel.wait_for(|g| *g != generation) => None,
        }
    }

    /// Keeps the connection after an answer; drops it when it broke or was given up.
    fn settle<T>(&mut self, conn: Conn, result: Option<Result<T, Error>>) -> Result<T, Error> {
        match result {
            None => Err(Error::Driver(DriverError::ConnectionClosed)),
            Some(Err(e)) if broken(&e) => {
                drop(conn);
                // Its siblings most likely broke with it (a restart): none is reused.
                let generation = self.generation;
                self.conns.generation.send_if_modified(|g| {
                    if *g == generation {
                        *g += 1;
                    }
                    false
                });
                lock(&self.conns.idle).clear();
                self.conns.dropped();
                Err(e)
            }
            Some(r) => {
                self.answered = self.conns.answered();
                self.conn = Some(conn);
                r
            }
        }
    }

    pub async fn exec_drop<P: Into<Params> + Send>(
        &mut self,
        stmt: &str,
        params: P,
    ) -> Result<u64, Error> {
        let mut conn = self.take()?;
        let r = self
            .race(async {
                conn.exec_drop(stmt, params).await?;
                Ok(conn.affected_rows())
            })
            .await;
        self.settle(conn, r)
    }

    pub async fn exec_first<T: FromRow + Send + 'static, P: Into<Params> + Send>(
        &mut self,
        stmt: &str,
        params: P,
    ) -> Result<Option<T>, Error> {
        let mut conn = self.take()?;
        let r = self.race(conn.exec_first(stmt, params)).await;
        self.settle(conn, r)
    }

    pub async fn exec<T: FromRow + Send + 'static, P: Into<Params> + Send>(
        &mut self,
        stmt: &str,
        params: P,
    ) -> Result<Vec<T>, Error> {
        let mut conn = self.take()?;
        let r = self.race(conn.exec(stmt, params)).await;
        self.settle(conn, r)
    }

    pub async fn query_drop(&mut self, sql: &str) -> Result<(), Error> {
        let mut conn = self.take()?;
        let r = self.race(conn.query_drop(sql)).await;
        self.settle(conn, r)
    }
}

impl Drop for Checked<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if *self.conns.generation.borrow() == self.generation {
            lock(&self.conns.idle).push(Idle {
                conn,
                answered: self.answered,
                generation: self.generation,
            });
        }
    }
}
