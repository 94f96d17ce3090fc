//! `baton`: run a command only while leading, see who leads, watch leadership change.

mod run;
mod show;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Exit status when the store cannot be reached or refuses baton (sysexits EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: u8 = 69;
/// Exit status for bad flags or configuration (as clap uses for usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit status when leadership was lost and the command was stopped (sysexits EX_TEMPFAIL).
pub const EXIT_LOST: u8 = 75;

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
    /// Wait for leadership, then run CMD while leading.
    ///
    /// CMD gets BATON_ELECTION, BATON_FENCING_TOKEN and BATON_CANDIDATE_ID. When CMD exits,
    /// baton releases the lease and exits with CMD's status. When leadership is lost, CMD gets
    /// SIGTERM, then SIGKILL after --grace, and baton exits with 75. SIGTERM/SIGINT/SIGHUP are
    /// forwarded to CMD. If baton is killed, CMD is killed too. Exit 69: store unreachable;
    /// exit 2: bad flags or configuration.
    Run(RunArgs),
    /// Show who leads an election right now (one read of the store).
    Status(ShowArgs),
    /// Print one line each time the leader of an election changes (Ctrl-C to stop).
    Watch(ShowArgs),
}

#[derive(Args, Clone)]
struct Target {
    /// Store URL: redis://[user:password@]host:port[/db], rediss:// for TLS, a
    /// comma-separated list of Redis Cluster seeds, or
    /// zookeeper://[user:password@]host:port[,host:port...][/chroot].
    #[arg(long, env = "BATON_STORE", value_name = "URL")]
    store: String,
    /// Name of the election (the job): one leader per name.
    #[arg(long, value_name = "NAME")]
    election: String,
    /// Prefix of baton's keys and channels in the store.
    #[arg(long, default_value = "baton:", value_name = "PREFIX")]
    prefix: String,
    /// How long to wait for the first connection to the store.
    #[arg(long, default_value = "5s", value_parser = duration, value_name = "DURATION")]
    connect_timeout: Duration,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    target: Target,
    /// Lease time to live: a crashed leader is replaced this long after its last renewal.
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    ttl: Duration,
    /// After leadership is lost, how long CMD may take to exit after SIGTERM before SIGKILL.
    #[arg(long, default_value = "5s", value_parser = duration, value_name = "DURATION")]
    grace: Duration,
    /// The command to run while leading, after `--`.
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Args)]
struct ShowArgs {
    #[command(flatten)]
    target: Target,
    /// One JSON object per leader (status) or per change (watch).
    #[arg(long)]
    json: bool,
}

/// Parses `500ms`, `2s`, `1m`, `1h 30m`.
fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{e}; use a number with a unit, like 500ms, 2s or 1m"))
}

impl Target {
    fn builder(&self) -> baton::ElectionBuilder {
        baton::Election::builder(&self.store, &self.election)
            .key_prefix(&self.prefix)
            .connect_timeout(self.connect_timeout)
    }
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
        Command::Status(args) => show::status(&args),
        Command::Watch(args) => show::watch(&args),
    }
}
