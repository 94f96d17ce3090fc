//! `baton status` (every election), `baton watch` (several elections) and `baton resign`, as
//! an operator runs them, against standalone Redis, a Cluster and Sentinel.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use baton_testkit::{RedisCluster, RedisSentinel, RedisServer};
use serde_json::Value;

const BATON: &str = env!("CARGO_BIN_EXE_baton");
const WAIT: Duration = Duration::from_secs(20);
/// A prefix with glob characters: listing must treat them literally.
const PREFIX: &str = "ops*:";
/// What the glob `ops*:` would also match: never listed.
const OTHER_PREFIX: &str = "opsX:";

/// A process whose stdout lines arrive on a channel; killed when dropped.
struct Proc {
    child: Child,
    lines: Receiver<String>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::new(BATON)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Proc { child, lines }
    }

    fn line(&self) -> String {
        self.lines.recv_timeout(WAIT).expect("a line within WAIT")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.line()).unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `baton run` leading `election`; returns it with its fencing token.
fn leader(url: &str, prefix: &str, election: &str) -> (Proc, u64) {
    let p = Proc::spawn(&[
        "run",
        "--store",
        url,
        "--prefix",
        prefix,
        "--election",
        election,
        "--ttl",
        "2s",
        "--",
        "sh",
        "-c",
        "echo $BATON_FENCING_TOKEN; exec sleep 600",
    ]);
    let token = p.line().parse().unwrap();
    (p, token)
}

fn baton(args: &[&str]) -> Output {
    Command::new(BATON).args(args).output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The whole operator story on one deployment.
fn operator_commands(url: &str, elections: [&str; 2]) {
    let store = ["--store", url, "--prefix", PREFIX];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(store.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: &[&str]| {
        let a = with(args);
        baton(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // Nobody leads yet: an empty list, and nobody to ask.
    let out = run(&["status", "--json"]);
    assert!(out.status.success());
    assert!(json_lines(&out).is_empty());
    let out = run(&["resign", "--election", elections[0]]);
    assert_eq!(out.status.code(), Some(3), "nobody leads: exit 3");

    let (mut first, t0) = leader(url, PREFIX, elections[0]);
    let (_second, t1) = leader(url, PREFIX, elections[1]);
    let (_elsewhere, _) = leader(url, OTHER_PREFIX, "hidden");

    // Every election under the prefix, sorted by name, with its leader; no other prefix.
    let out = run(&["status", "--json"]);
    assert!(out.status.success());
    let listed = json_lines(&out);
    let names: Vec<&str> = listed
        .iter()
        .map(|j| j["election"].as_str().unwrap())
        .collect();
    assert_eq!(names, elections, "{listed:?}");
    assert_eq!(listed[0]["leader"]["token"], t0);
    assert_eq!(listed[1]["leader"]["token"], t1);
    let left = listed[0]["leader"]["lease_remaining_ms"].as_u64().unwrap();
    assert!(left > 0 && left <= 2_000, "{left}");
    let text = String::from_utf8(run(&["status"]).stdout).unwrap();
    assert!(
        text.contains(&format!("{}: led by", elections[0])),
        "{text}"
    );

    // watch follows both elections: their current leaders first.
    let watch = with(&[
        "watch",
        "--json",
        "--election",
        elections[0],
        "--election",
        elections[1],
    ]);
    let watch = Proc::spawn(&watch.iter().map(String::as_str).collect::<Vec<_>>());
    let mut seen: Vec<(String, Value)> = (0..2)
        .map(|_| {
            let j = watch.json();
            (
                j["election"].as_str().unwrap().to_string(),
                j["leader"]["token"].clone(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen[0], (elections[0].to_string(), t0.into()));
    assert_eq!(seen[1], (elections[1].to_string(), t1.into()));

    // resign: the leader is asked, lets go (its command stopped, exit 75), watch sees it.
    let out = run(&[
        "resign",
        "--election",
        elections[0],
        "--json",
        "--wait",
        "--timeout",
        "10s",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asked = &json_lines(&out)[0];
    assert_eq!(asked["leader"]["token"], t0);
    assert_eq!(first.child.wait().unwrap().code(), Some(75));
    let change = watch.json();
    assert_eq!(change["election"], elections[0]);
    assert_eq!(change["leader"], Value::Null);
}

#[test]
fn status_watch_and_resign_on_standalone_redis() {
    let redis = RedisServer::start();
    operator_commands(&redis.url(), ["alpha", "beta"]);
}

#[test]
fn status_watch_and_resign_on_a_cluster() {
    let cluster = RedisCluster::start();
    // Two elections on different masters: the listing must scan every master.
    let key = |name: &str| format!("{PREFIX}{{{name}}}:lease");
    let names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];
    let a = names[0];
    let b = names[1..]
        .iter()
        .find(|n| cluster.master_for(&key(n)) != cluster.master_for(&key(a)))
        .expect("some name on another master");
    let mut pair = [a, *b];
    pair.sort();
    operator_commands(&cluster.url(), pair);
}

#[test]
fn status_watch_and_resign_through_sentinel() {
    let sentinel = RedisSentinel::start();
    operator_commands(&sentinel.url(), ["alpha", "beta"]);
}

/// The README's `ACL SETUSER` line is enough for listing (`SCAN`) and resigning.
#[test]
fn the_readme_acl_user_can_list_and_resign() {
    let redis = RedisServer::start();
    let acl = include_str!("../README.md")
        .lines()
        .find(|l| l.starts_with("ACL SETUSER baton "))
        .expect("README.md shows the ACL SETUSER line");
    assert_eq!(
        redis
            .cmd(&acl.split_whitespace().collect::<Vec<_>>())
            .trim(),
        "+OK"
    );
    let url = format!("redis://baton:change-me@127.0.0.1:{}", redis.port());
    let (_leader, token) = leader(&url, "baton:", "acl");
    let out = baton(&["status", "--store", &url, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out)[0]["leader"]["token"], token);
    let out = baton(&["resign", "--store", &url, "--election", "acl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Rust API behind `baton status` without `--election`, on the in-process store.
#[test]
fn baton_leaders_lists_the_held_elections_under_a_prefix() {
    let store = "memory://leaders-test";
    let build = |prefix: &str, name: &str| {
        baton::Election::builder(store, name)
            .key_prefix(prefix)
            .build()
            .unwrap()
    };
    let (b, a, other) = (build("p:", "b"), build("p:", "a"), build("q:", "c"));
    let tokens: Vec<u64> = [&a, &b, &other]
        .iter()
        .map(|e| e.wait_for_leadership(WAIT).unwrap())
        .collect();
    let listed = baton::leaders(store, "p:", Duration::from_secs(5)).unwrap();
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(listed[0].1.token, tokens[0]);
    assert_eq!(listed[1].1.token, tokens[1]);
    a.close();
    let listed = baton::leaders(store, "p:", Duration::from_secs(5)).unwrap();
    assert_eq!(
        listed.len(),
        1,
        "a released lease is not listed: {listed:?}"
    );
}
