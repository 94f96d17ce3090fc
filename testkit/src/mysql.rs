//! Real MariaDB servers (Debian's `mariadb-server` package, 10.11): `mariadbd` started as a
//! plain process on a free port of 127.0.0.1 in a private temporary directory, stopped on
//! drop. `mariadb-install-db` runs once per test process into a template each server copies.
//! Under root the server runs as the `mysql` system user. Each server gets the database
//! `baton` and the user `admin` (all privileges, password [`PASSWORD`]) for TCP clients;
//! [`MariaDbServer::sql`] runs as root over the Unix socket.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::postgres::{as_user, chown_to, signal_tree};
use super::{die_with_parent, free_port};

/// The `admin` user's password.
pub const PASSWORD: &str = "baton-test";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const USER: &str = "mysql";

fn binary(name: &str) -> String {
    let var = format!("MARIADB_{}", name.to_ascii_uppercase().replace('-', "_"));
    std::env::var(var).unwrap_or_else(|_| name.into())
}

/// The initialized data directory every server copies (once per process).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, data) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir for the mariadb template");
        chown_to(dir.path(), USER);
        let data = dir.path().join("data");
        let out = as_user(&mut Command::new(binary("mariadb-install-db")), USER)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| {
                panic!("could not run mariadb-install-db ({e}); install it (apt-get install -y mariadb-server)")
            });
        assert!(
            out.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (dir, data)
    });
    data
}

/// One `mariadbd` process.
pub struct MariaDbServer {
    port: u16,
    /// Extra server options (TLS).
    options: Vec<String>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl MariaDbServer {
    /// Starts a server with a fresh data directory, the `baton` database and the `admin` user.
    pub fn start() -> Self {
        Self::start_full(None)
    }

    /// Like [`MariaDbServer::start`], with TLS (`--ssl-ca`, `--ssl-cert`, `--ssl-key`) and
    /// the server certificate of `files`; plaintext clients are still accepted unless a user
    /// says `REQUIRE SSL`.
    pub fn start_tls(files: &crate::TlsFiles) -> Self {
        Self::start_full(Some(files))
    }

    fn start_full(tls: Option<&crate::TlsFiles>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for mariadb");
        chown_to(dir.path(), USER);
        let data = dir.path().join("data");
        let copied = as_user(&mut Command::new("cp"), USER)
            .arg("-a")
            .arg(template())
            .arg(&data)
            .status()
            .expect("copy the template data directory");
        assert!(
            copied.success(),
            "copying the template data directory failed"
        );
        let mut options = Vec::new();
        if let Some(files) = tls {
            let (ca, cert, key) = files.install_server_files(dir.path(), USER);
            options.push(format!("--ssl-ca={}", ca.display()));
            options.push(format!("--ssl-cert={}", cert.display()));
            options.push(format!("--ssl-key={}", key.display()));
        }
        let mut server = MariaDbServer {
            port: free_port(),
            options,
            dir,
            child: None,
        };
        server.spawn();
        server.sql_in(
            "mysql",
            &format!(
                "CREATE DATABASE baton; CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION"
            ),
        );
        server
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("mariadb.sock")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("mariadb.log")
    }

    fn spawn(&mut self) {
        for attempt in 0.. {
            let d = self.dir.path();
            let mut cmd = Command::new(binary("mariadbd"));
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", d.join("data").display()))
                .arg(format!("--port={}", self.port))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--socket={}", self.socket().display()))
                .arg(format!("--pid-file={}", d.join("mariadb.pid").display()))
                .arg(format!("--log-error={}", self.log_path().display()))
                .args(["--skip-log-bin", "--skip-name-resolve"])
                .args(["--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M"])
                // Test speed; a process kill still loses nothing committed to the OS.
                .args([
                    "--innodb-flush-log-at-trx-commit=2",
                    "--max-connections=300",
                ])
                .args(&self.options)
                .current_dir(d)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            as_user(&mut cmd, USER);
            die_with_parent(&mut cmd);
            let mut child = cmd.spawn().unwrap_or_else(|e| {
                panic!("could not start mariadbd ({e}); install it (apt-get install -y mariadb-server)")
            });
            let start = Instant::now();
            loop {
                if self.try_sql_in("mysql", "SELECT 1").is_ok() {
                    self.child = Some(child);
                    return;
                }
                if !matches!(child.try_wait(), Ok(None)) || start.elapsed() > START_TIMEOUT {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            signal_tree(child.id(), libc::SIGKILL);
            let _ = child.wait();
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            if attempt < 4 && log.contains("Address already in use") {
                self.port = free_port();
                continue;
            }
            panic!(
                "mariadbd on port {} did not start; its log:\n{log}",
                self.port
            );
        }
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mysql://admin:<PASSWORD>@127.0.0.1:<port>/baton`.
    pub fn url(&self) -> String {
        self.url_as("admin", PASSWORD)
    }

    /// The URL of another user of the `baton` database.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!("mysql://{user}:{password}@127.0.0.1:{}/baton", self.port)
    }

    fn try_sql_in(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(binary("mariadb"))
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-u", "root", "-N", "-B", "-e", sql, db])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run the mariadb client: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    fn sql_in(&self, db: &str, sql: &str) -> String {
        self.try_sql_in(db, sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs SQL as root in the `baton` database; returns its tab-separated output or the error.
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        self.try_sql_in("baton", sql)
    }

    /// Runs SQL as root in the `baton` database; panics with the server's message on failure.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_in("baton", sql)
    }

    /// Client connections other than the asking one and the server's own threads.
    pub fn connections(&self) -> usize {
        self.sql("SELECT COUNT(*) FROM information_schema.processlist WHERE command <> 'Daemon' AND id <> CONNECTION_ID()")
            .parse()
            .expect("a count")
    }

    /// Kills the server (SIGKILL); the data stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_tree(child.id(), libc::SIGKILL);
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data (crash recovery included).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        self.kill();
    }
}
