//! `baton watch`: one line per change of leader, for one or several elections.

use std::process::ExitCode;

use baton::Event;

use crate::show::line;
use crate::WatchArgs;

pub fn watch(args: &WatchArgs) -> ExitCode {
    // One observer per election (they share one connection); their events meet in one channel.
    let (tx, rx) = flume::unbounded();
    let mut observers = Vec::new();
    let mut last = std::collections::HashMap::new();
    for name in &args.election {
        // What the store says now comes first: an observer's first event is its own state
        // before it read the store (no leader).
        let now = match args.store.builder(name).current_leader() {
            Ok(l) => l,
            Err(e) => return crate::fail(&e),
        };
        println!("{}", line(name, now.as_ref(), args.json));
        last.insert(name.clone(), now.map(|l| (l.candidate_id, l.token)));
        let observer = match args.store.builder(name).campaign(false).build() {
            Ok(o) => o,
            Err(e) => return crate::fail(&e),
        };
        let (events, tx, name) = (observer.events(), tx.clone(), name.clone());
        std::thread::spawn(move || {
            for event in events.skip(1) {
                if let Event::LeaderChanged(leader) = event {
                    if tx.send((name.clone(), leader)).is_err() {
                        return;
                    }
                }
            }
        });
        observers.push(observer);
    }
    drop(tx);
    for (name, leader) in rx {
        let id = leader.as_ref().map(|l| (l.candidate_id.clone(), l.token));
        if last.get(&name) != Some(&id) {
            println!("{}", line(&name, leader.as_ref(), args.json));
            last.insert(name, id);
        }
    }
    ExitCode::SUCCESS
}
