//! The `baton` CLI as a user runs it, against a real redis-server.

mod runners;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::channel;

use baton_testkit::RedisServer;
use runners::{alive, run, signal, BATON, WAIT};

#[test]
fn three_runners_run_one_command_and_a_killed_leaders_command_dies_with_it() {
    let redis = RedisServer::start();
    runners::one_command_and_a_killed_leaders_command_dies_with_it(&redis.url(), "1s");
}

#[test]
fn a_graceful_stop_hands_over_without_waiting_for_the_lease() {
    let redis = RedisServer::start();
    runners::a_graceful_stop_hands_over_without_waiting_for_the_lease(&redis.url(), "1m");
}

#[test]
fn losing_leadership_stops_the_command_and_exits_75() {
    let redis = RedisServer::start();
    let (tx, started) = channel();
    let mut runner = run(&redis.url(), "cli", "1s", 0, &tx);
    let first = started.recv_timeout(WAIT).unwrap();
    redis.pause();
    let status = runner.child.wait().unwrap();
    redis.resume();
    assert_eq!(status.code(), Some(75));
    assert!(!alive(first.cmd_pid));
}

#[test]
fn the_commands_status_becomes_batons_and_the_lease_is_released() {
    let redis = RedisServer::start();
    let out = baton(&[
        "run",
        "--store",
        &redis.url(),
        "--election",
        "x",
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7));
    let status = baton(&[
        "status",
        "--store",
        &redis.url(),
        "--election",
        "x",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json, serde_json::json!({"election": "x", "leader": null}));
}

#[test]
fn status_json_names_the_leader() {
    let redis = RedisServer::start();
    let (tx, started) = channel();
    let runner = run(&redis.url(), "cli", "10s", 0, &tx);
    let first = started.recv_timeout(WAIT).unwrap();
    let out = baton(&[
        "status",
        "--store",
        &redis.url(),
        "--election",
        "cli",
        "--json",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let leader = &json["leader"];
    assert_eq!(json["election"], "cli");
    assert_eq!(leader["token"], first.token);
    assert_eq!(leader["pid"], runner.child.id());
    let left = leader["lease_remaining_ms"].as_u64().unwrap();
    assert!(left > 0 && left <= 10_000, "{left}");
    for field in ["candidate_id", "host", "since"] {
        assert!(leader[field].is_string(), "{field} in {json}");
    }
}

#[test]
fn watch_prints_a_line_per_leader() {
    let redis = RedisServer::start();
    let mut watch = Command::new(BATON)
        .args([
            "watch",
            "--store",
            &redis.url(),
            "--election",
            "cli",
            "--json",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let (line_tx, seen) = channel();
    std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .for_each(|l| drop(line_tx.send(l)))
    });
    let json = |l: String| serde_json::from_str::<serde_json::Value>(&l).unwrap();
    assert_eq!(
        json(seen.recv_timeout(WAIT).unwrap())["leader"],
        serde_json::Value::Null
    );
    let (tx, started) = channel();
    let _runner = run(&redis.url(), "cli", "10s", 0, &tx);
    let first = started.recv_timeout(WAIT).unwrap();
    let change = json(seen.recv_timeout(WAIT).unwrap());
    assert_eq!(change["leader"]["token"], first.token);
    watch.kill().unwrap();
    watch.wait().unwrap();
}

fn baton(args: &[&str]) -> Output {
    Command::new(BATON).args(args).output().unwrap()
}

/// Bad input: a non-zero status and one line on stderr that names the setting and the fix.
fn rejects<S: AsRef<str>>(args: &[S], code: i32, needles: &[&str]) {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let out = baton(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line for {args:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} should mention {n:?}");
    }
}

#[test]
fn bad_input_gets_one_line_that_names_the_fix() {
    let dead = format!("redis://127.0.0.1:{}", baton_testkit::free_port());
    let run = |extra: &[&str]| {
        let mut a = vec!["run", "--store", "redis://127.0.0.1:1", "--election", "e"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&["--", "true"]);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    rejects(&["run", "--bogus"], 2, &["--bogus"]);
    rejects(&run(&["--ttl", "5x"]), 2, &["--ttl", "500ms"]);
    rejects(
        &run(&["--ttl", "1s", "--grace", "2s"]),
        2,
        &[
            "--grace 2s",
            "--ttl 1s",
            "604ms",
            "lower --grace or raise --ttl",
        ],
    );
    rejects(
        &run(&["--ttl", "50ms"]),
        2,
        &["ttl", "between 100ms and 24h"],
    );
    rejects(
        &["status", "--store", "http://x", "--election", "e"],
        2,
        &["store", "redis://"],
    );
    rejects(
        &["status", "--store", "redis://h:1", "--election", "a{b}"],
        2,
        &["election", "hash tag"],
    );
    rejects(
        &[
            "status",
            "--store",
            &dead,
            "--election",
            "e",
            "--connect-timeout",
            "300ms",
        ],
        69,
        &["unreachable", &dead],
    );
}

#[test]
fn not_elected_within_wait_timeout_exits_124_without_running_the_command() {
    let redis = RedisServer::start();
    let (tx, started) = channel();
    let _leader = run(&redis.url(), "cli", "10s", 0, &tx);
    started.recv_timeout(WAIT).unwrap();
    let out = baton(&[
        "run",
        "--store",
        &redis.url(),
        "--election",
        "cli",
        "--wait-timeout",
        "300ms",
        "--",
        "sh",
        "-c",
        "echo ran",
    ]);
    assert_eq!(out.status.code(), Some(124));
    assert!(out.stdout.is_empty(), "the command must not run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--wait-timeout"));
}

#[test]
fn a_command_that_cannot_start_exits_127_and_releases_the_lease() {
    let redis = RedisServer::start();
    let out = baton(&[
        "run",
        "--store",
        &redis.url(),
        "--election",
        "x",
        "--ttl",
        "1m",
        "--",
        "/nonexistent/command",
    ]);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/command"));
    // Released at once, not left to expire after a minute.
    let status = baton(&[
        "status",
        "--store",
        &redis.url(),
        "--election",
        "x",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["leader"], serde_json::Value::Null);
}

#[test]
fn a_signal_while_waiting_for_leadership_exits_128_plus_n_without_running_the_command() {
    let redis = RedisServer::start();
    let (tx, started) = channel();
    let _leader = run(&redis.url(), "cli", "10s", 0, &tx);
    started.recv_timeout(WAIT).unwrap();
    let mut waiting = Command::new(BATON)
        .args(["run", "--store", &redis.url(), "--election", "cli"])
        .args(["--", "sh", "-c", "echo ran"])
        .env("BATON_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its "waiting for leadership" log line comes after its signal handlers are in place.
    let stderr = BufReader::new(waiting.stderr.take().unwrap());
    let waits = stderr
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("waiting for leadership"));
    assert!(waits);
    signal(&waiting, libc::SIGTERM);
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + libc::SIGTERM));
    assert!(out.stdout.is_empty(), "the command never ran");
}

#[test]
fn resign_wait_gives_up_with_124_when_the_leader_cannot_act() {
    let redis = RedisServer::start();
    let (tx, started) = channel();
    let mut leader = run(&redis.url(), "cli", "10s", 0, &tx);
    let first = started.recv_timeout(WAIT).unwrap();
    // A stopped leader hears nothing; its lease runs for 10s.
    signal(&leader.child, libc::SIGSTOP);
    let out = baton(&[
        "resign",
        "--store",
        &redis.url(),
        "--election",
        "cli",
        "--wait",
        "--timeout",
        "300ms",
        "--json",
    ]);
    signal(&leader.child, libc::SIGCONT);
    assert_eq!(out.status.code(), Some(124));
    let asked: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(asked["leader"]["token"], first.token);
    // Resumed, it hears the request and hands over: its command stopped, exit 75.
    assert_eq!(leader.child.wait().unwrap().code(), Some(75));
}
