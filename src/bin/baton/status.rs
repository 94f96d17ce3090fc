//! `baton status`: one election, or every election under the prefix that has a leader.

use std::process::ExitCode;

use crate::show::line;
use crate::StatusArgs;

pub fn status(args: &StatusArgs) -> ExitCode {
    let Some(election) = &args.election else {
        return list(args);
    };
    match args.store.builder(election).current_leader() {
        Ok(leader) => {
            println!("{}", line(election, leader.as_ref(), args.json));
            ExitCode::SUCCESS
        }
        Err(e) => crate::fail(&e),
    }
}

fn list(args: &StatusArgs) -> ExitCode {
    let s = &args.store;
    match baton::leaders(&s.store, &s.prefix, s.connect_timeout) {
        Ok(all) => {
            if all.is_empty() && !args.json {
                eprintln!(
                    "baton: no election under prefix {:?} has a leader",
                    s.prefix
                );
            }
            for (election, leader) in &all {
                println!("{}", line(election, Some(leader), args.json));
            }
            ExitCode::SUCCESS
        }
        Err(e) => crate::fail(&e),
    }
}
