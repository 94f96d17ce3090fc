//! `baton`: run a command only while leading, see who leads, watch leadership change, ask a
//! leader to hand over.
//!
//! # Layout
//! - `run.rs`: `baton run` (leadership, heartbeats to the watchdog, exit status).
//! - `watchdog.rs`: the process that owns CMD and stops it by the lease deadline.
//! - `tree.rs`: finding, signalling and reaping every descendant of a process.
//! - `status.rs`, `watch.rs`, `resign.rs`: the operator commands; `show.rs` their output.

mod resign;
mod run;
mod show;
mod status;
mod tree;
mod watch;
mod watchdog;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Exit status when the store cannot be reached or refuses baton (sysexits EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: u8 = 69;
/// Exit status for bad flags or configuration (as clap uses for usage errors).
pub const EXIT_USAGE: u8 = 2;
/// `baton resign`: nobody leads the election, so nobody was asked.
pub const EXIT_NO_LEADER: u8 = 3;
/// Exit status when leadership was lost and the command was stopped (sysexits EX_TEMPFAIL).
pub const EXIT_LOST: u8 = 75;
/// Not elected within `--wait-timeout`, or no handover within `resign --timeout` (as timeout(1)).
pub const EXIT_TIMEOUT: u8 = 124;
/// The command could not be started (as a shell reports "command not found").
pub const EXIT_NOT_STARTED: u8 = 127;

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Leader election on Redis: run a command on exactly one machine at a time."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Wait for leadership, then run CMD while leading (once: baton exits when CMD exits).
    ///
    /// CMD gets BATON_ELECTION, BATON_FENCING_TOKEN and BATON_CANDIDATE_ID. When CMD exits,
    /// baton releases the lease and exits with CMD's status. If renewals fail, CMD gets
    /// SIGTERM --grace before the lease deadline and SIGKILL at it, from a watchdog process
    /// that works even while baton is stopped; baton then exits 75. SIGTERM/SIGINT/SIGHUP are
    /// forwarded to CMD. If baton is killed, everything CMD started is killed. Exit 124: not
    /// elected within --wait-timeout; 127: CMD cannot start; 69: store unreachable; 2: bad
    /// flags or configuration.
    Run(RunArgs),
    /// Show who leads one election, or every election under the prefix (one read).
    Status(StatusArgs),
    /// Print one line each time the leader of one of the elections changes (Ctrl-C to stop).
    Watch(WatchArgs),
    /// Ask the leader of an election, wherever it runs, to hand over.
    ///
    /// The leader releases its lease through its normal path and sits out one ttl, so another
    /// candidate takes over. Exit 0: the leader was asked (with --wait: and it let go);
    /// 3: nobody leads; 124: --wait and the leader did not let go within --timeout.
    Resign(ResignArgs),
    /// Internal: the watchdog that `baton run` starts between itself and CMD.
    #[command(name = "__watchdog", hide = true)]
    Watchdog(WatchdogArgs),
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Store URL: redis://[user:password@]host:port[/db], rediss:// for TLS, a
    /// comma-separated list of Redis Cluster seeds,
    /// redis+sentinel://host:port[,host:port...]/MASTER_NAME,
    /// zookeeper://[user:password@]host:port[,host:port...][/chroot],
    /// postgres://[user[:password]@]host[:port]/database, or
    /// mysql:// (mariadb://) [user[:password]@]host[:port]/database.
    #[arg(long, env = "BATON_STORE", value_name = "URL")]
    store: String,
    /// Prefix of baton's keys and channels in the store.
    #[arg(long, default_value = "baton:", value_name = "PREFIX")]
    prefix: String,
    /// How long to wait for the first connection to the store (and for one-shot reads).
    #[arg(long, default_value = "5s", value_parser = duration, value_name = "DURATION")]
    connect_timeout: Duration,
}

impl StoreArgs {
    fn builder(&self, election: &str) -> baton::ElectionBuilder {
        baton::Election::builder(&self.store, election)
            .key_prefix(&self.prefix)
            .connect_timeout(self.connect_timeout)
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Name of the election (the job): one leader per name.
    #[arg(long, value_name = "NAME")]
    election: String,
    /// Lease time to live: a crashed leader is replaced this long after its last renewal.
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    ttl: Duration,
    /// How long before the lease deadline CMD gets SIGTERM when renewals fail (SIGKILL comes
    /// at the deadline). At most ttl × 0.99 − 2ms − ttl/3 − ttl/20. Default: 5s, or that
    /// limit if it is shorter.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    grace: Option<Duration>,
    /// Give up (exit 124) if not elected within this long. Default: wait forever.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    wait_timeout: Option<Duration>,
    /// The command to run while leading, after `--`.
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The election to show; without it, every election under --prefix that has a leader.
    #[arg(long, value_name = "NAME")]
    election: Option<String>,
    /// One JSON object per election.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct WatchArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// An election to follow; repeat to follow several.
    #[arg(long, value_name = "NAME", required = true)]
    election: Vec<String>,
    /// One JSON object per change.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ResignArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The election whose leader is asked to hand over.
    #[arg(long, value_name = "NAME")]
    election: String,
    /// Wait until the asked leader let go of the lease.
    #[arg(long)]
    wait: bool,
    /// With --wait: how long to wait before giving up (exit 124).
    #[arg(long, default_value = "30s", value_parser = duration, value_name = "DURATION")]
    timeout: Duration,
    /// Print the leader that was asked as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct WatchdogArgs {
    #[arg(long)]
    grace_ms: u64,
    #[arg(required = true, last = true)]
    command: Vec<String>,
}

/// Parses `500ms`, `2s`, `1m`, `1h 30m`.
fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{e}; use a number with a unit, like 500ms, 2s or 1m"))
}

/// One line, naming what to fix, and the exit status that tells scripts what happened.
pub fn fail(err: &baton::Error) -> ExitCode {
    eprintln!("baton: {err}");
    match err {
        baton::Error::Config(_) => ExitCode::from(EXIT_USAGE),
        _ => ExitCode::from(EXIT_UNAVAILABLE),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's first line says what is wrong; the usage block is one `--help` away.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!(
                "baton: {} (see baton --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Command::Watchdog(args) = &cli.command {
        return watchdog::main(args.grace_ms, &args.command);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BATON_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Status(args) => status::status(&args),
        Command::Watch(args) => watch::watch(&args),
        Command::Resign(args) => resign::resign(&args),
        Command::Watchdog(_) => unreachable!("handled above"),
    }
}
