//! Real PostgreSQL servers (Debian's `postgresql` package): `postgres` started as a plain
//! process on a free port of 127.0.0.1 in a private temporary directory, stopped on drop.
//!
//! `initdb` runs once per test process into a template that each server copies (about a
//! second saved per server). PostgreSQL refuses to run as root: under root, the server runs
//! as the `postgres` system user the Debian package creates. The superuser `postgres` has the
//! password [`PASSWORD`] over TCP (scram-sha-256), so tests use real credentials.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{die_with_parent, free_port, StoreClock};

/// The superuser's password.
pub const PASSWORD: &str = "baton-test";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The directory of `initdb`, `postgres` and `psql`: `POSTGRES_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("POSTGRES_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, p)| p.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).unwrap_or_else(|| {
        panic!("no PostgreSQL server in /usr/lib/postgresql; install it (apt-get install -y postgresql) or set POSTGRES_BIN")
    })
}

/// The user and group a database server runs as: the system user `name` (which its Debian
/// package creates) when we are root, since the servers refuse root; else ourselves.
pub(crate) fn server_user(name: &str) -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let c = std::ffi::CString::new(name).unwrap();
    // SAFETY: getpwnam returns a pointer to static storage or null; read at once.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    assert!(
        !pw.is_null(),
        "the database server refuses to run as root and there is no {name} user; install the server's Debian package (it creates one) or run the tests as another user"
    );
    // SAFETY: pw is non-null and points at a valid passwd entry.
    unsafe { Some(((*pw).pw_uid, (*pw).pw_gid)) }
}

pub(crate) fn as_user<'a>(cmd: &'a mut Command, name: &str) -> &'a mut Command {
    if let Some((uid, gid)) = server_user(name) {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

pub(crate) fn chown_to(path: &Path, name: &str) {
    if let Some((uid, gid)) = server_user(name) {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown for the server");
    }
}

fn as_server_user(cmd: &mut Command) -> &mut Command {
    as_user(cmd, "postgres")
}

fn chown(path: &Path) {
    chown_to(path, "postgres")
}

/// The initialized data directory every server copies (once per process).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, data) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir for the initdb template");
        chown(dir.path());
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).expect("write the password file");
        chown(&pwfile);
        let data = dir.path().join("data");
        let out = as_server_user(&mut Command::new(bin_dir().join("initdb")))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .args(["-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--pwfile"])
            .arg(&pwfile)
            .current_dir(dir.path())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (dir, data)
    });
    data
}

/// One `postgres` server process.
pub struct PostgresServer {
    port: u16,
    /// Extra `-c name=value` settings (TLS).
    settings: Vec<String>,
    dir: tempfile::TempDir,
    child: Option<Child>,
    clock: Option<StoreClock>,
}

impl PostgresServer {
    /// Starts a server with a fresh database cluster and waits until it accepts statements.
    pub fn start() -> Self {
        Self::start_full(false, None)
    }

    /// Like [`PostgresServer::start`], with TLS on (`ssl=on`) and the server certificate of
    /// `files`; clients may present a certificate signed by its CA (`ssl_ca_file`), and
    /// plaintext clients are still accepted.
    pub fn start_tls(files: &crate::TlsFiles) -> Self {
        Self::start_full(false, Some(files))
    }

    /// Like [`PostgresServer::start`], on a wall clock the test steps and slows
    /// ([`PostgresServer::clock`]); the clock survives restarts.
    pub fn start_with_clock() -> Self {
        Self::start_full(true, None)
    }

    fn start_full(clock: bool, tls: Option<&crate::TlsFiles>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for postgres");
        let clock = clock.then(|| StoreClock::create(dir.path()));
        chown(dir.path());
        let data = dir.path().join("data");
        let copied = as_server_user(&mut Command::new("cp"))
            .arg("-a")
            .arg(template())
            .arg(&data)
            .status()
            .expect("copy the template cluster");
        assert!(copied.success(), "copying the template cluster failed");
        let mut settings = Vec::new();
        if let Some(files) = tls {
            let (ca, cert, key) = files.install_server_files(dir.path(), "postgres");
            settings.push("ssl=on".to_string());
            for (name, path) in [
                ("ssl_ca_file", ca),
                ("ssl_cert_file", cert),
                ("ssl_key_file", key),
            ] {
                settings.push(format!("{name}={}", path.display()));
            }
        }
        let mut server = PostgresServer {
            port: free_port(),
            settings,
            dir,
            child: None,
            clock,
        };
        server.spawn();
        server
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn spawn(&mut self) {
        for attempt in 0.. {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path())
                .expect("postgres log file");
            let mut cmd = Command::new(bin_dir().join("postgres"));
            cmd.arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-p", &self.port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1"])
                .arg("-c")
                .arg(format!(
                    "unix_socket_directories={}",
                    self.dir.path().display()
                ))
                // Test speed; a process kill still loses nothing (only an OS crash would).
                .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
                .args(["-c", "max_connections=200", "-c", "shared_buffers=16MB"])
                .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
                .current_dir(self.dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .process_group(0);
            if let Some(clock) = &self.clock {
                cmd.envs(clock.env());
            }
            as_server_user(&mut cmd);
            die_with_parent(&mut cmd);
            let mut child = cmd.spawn().unwrap_or_else(|e| {
                panic!("could not start postgres ({e}); install it (apt-get install -y postgresql) or set POSTGRES_BIN")
            });
            let start = Instant::now();
            loop {
                if self.try_sql("SELECT 1").is_ok() {
                    self.child = Some(child);
                    return;
                }
                if !matches!(child.try_wait(), Ok(None)) || start.elapsed() > START_TIMEOUT {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            kill_group(&mut child);
            // Someone else took the port: try another.
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            if attempt < 4 && log.contains("could not bind") {
                self.port = free_port();
                continue;
            }
            panic!(
                "postgres on port {} did not start; its log:\n{log}",
                self.port
            );
        }
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres:<PASSWORD>@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        self.url_as("postgres", PASSWORD)
    }

    /// The URL of another user of the `postgres` database.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// `(ssl, client_dn)` of each client connected over TCP (psql's own connection uses the
    /// Unix socket and is not counted), from `pg_stat_ssl`.
    pub fn tcp_clients_tls(&self) -> Vec<(bool, String)> {
        self.sql("SELECT s.ssl, coalesce(s.client_dn, '') FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.backend_type = 'client backend' AND a.client_addr IS NOT NULL")
            .lines()
            .filter_map(|l| l.split_once('|'))
            .map(|(ssl, dn)| (ssl == "t", dn.to_string()))
            .collect()
    }

    /// The wall clock of a server started with [`PostgresServer::start_with_clock`].
    pub fn clock(&self) -> Option<&StoreClock> {
        self.clock.as_ref()
    }

    /// Runs SQL as the superuser with `psql` (over the Unix socket); returns its unaligned
    /// output, or the error text.
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(bin_dir().join("psql"))
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d"])
            .arg("postgres")
            .arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-c", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// A `psql` session of the superuser that stays open, to hold a transaction (and its row
    /// locks) across other clients' statements.
    pub fn session(&self) -> PsqlSession {
        let child = Command::new(bin_dir().join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d"])
            .arg("postgres")
            .arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start psql");
        PsqlSession(child)
    }

    /// Runs SQL as the superuser; panics with the server's message when it fails.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Client connections other than the asking one.
    pub fn connections(&self) -> usize {
        self.sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
            .parse()
            .expect("a count")
    }

    /// Kills the server and its backends (SIGKILL); the data stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }

    /// Starts the server again on the same port and data (crash recovery included).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Stops every process of the server (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a paused server run again.
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, sig: i32) {
        if let Some(child) = &self.child {
            signal_tree(child.id(), sig);
        }
    }
}

/// Signals the postmaster and every process below it: each backend runs in a session of its
/// own (`setsid`), so the postmaster's process group does not reach them.
pub(crate) fn signal_tree(root: u32, sig: i32) {
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() {
        let parent = pids[i];
        pids.extend(children_of(parent));
        i += 1;
    }
    for pid in pids {
        // SAFETY: kill(2) on a process of the server we started.
        unsafe { libc::kill(pid as i32, sig) };
    }
}

fn children_of(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // The parent pid is the 2nd field after the command's closing parenthesis.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

fn kill_group(child: &mut Child) {
    signal_tree(child.id(), libc::SIGKILL);
    let _ = child.wait();
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An open `psql` session ([`PostgresServer::session`]): statements run as they are sent;
/// dropping it ends the session (an open transaction rolls back).
pub struct PsqlSession(Child);

impl PsqlSession {
    /// Sends `sql` (one or more complete statements) to the session.
    pub fn send(&mut self, sql: &str) {
        use std::io::Write;
        let stdin = self.0.stdin.as_mut().expect("psql's stdin");
        writeln!(stdin, "{sql}").expect("write to psql");
        stdin.flush().expect("flush psql's stdin");
    }
}

impl Drop for PsqlSession {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}
