//! `baton resign`: ask the leader, wherever it runs, to hand over (manual failover). The leader
//! hears it and releases through its normal path; nobody's lease is deleted.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::show::line;
use crate::{ResignArgs, EXIT_NO_LEADER, EXIT_TIMEOUT};

pub fn resign(args: &ResignArgs) -> ExitCode {
    let builder = args.store.builder(&args.election);
    let asked = match builder.clone().request_resign() {
        Ok(Some(leader)) => leader,
        Ok(None) => {
            if args.json {
                println!("{}", line(&args.election, None, true));
            } else {
                eprintln!("baton: nobody leads {}; nobody was asked", args.election);
            }
            return ExitCode::from(EXIT_NO_LEADER);
        }
        Err(e) => return crate::fail(&e),
    };
    if args.json {
        println!("{}", line(&args.election, Some(&asked), true));
    } else {
        println!(
            "asked {} (host {}, pid {}, token {}) to hand over {}",
            asked.candidate_id, asked.host, asked.pid, asked.token, args.election
        );
    }
    if !args.wait {
        return ExitCode::SUCCESS;
    }
    // The asked leader acts within milliseconds, or at its next renewal if it cannot hear the
    // notification; a few reads a second are plenty for a human-driven failover.
    let until = Instant::now() + args.timeout;
    loop {
        match builder.clone().current_leader() {
            Ok(l) if l.as_ref().map(|l| l.token) != Some(asked.token) => {
                if !args.json {
                    match l {
                        Some(l) => println!("{} now led by {}", args.election, l.candidate_id),
                        None => println!("{} has no leader now", args.election),
                    }
                }
                return ExitCode::SUCCESS;
            }
            Ok(_) => {}
            Err(e) => return crate::fail(&e),
        }
        if Instant::now() >= until {
            eprintln!(
                "baton: {} still leads {} after --timeout {}; it may be unable to reach the store (it then steps down at its lease deadline)",
                asked.candidate_id,
                args.election,
                humantime::format_duration(args.timeout)
            );
            return ExitCode::from(EXIT_TIMEOUT);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
