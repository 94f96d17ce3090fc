use baton::{Election, Event};
use baton_testkit::RedisServer;
use std::time::Duration;

#[test]
fn smoke() {
    let redis = RedisServer::start();
    let a = Election::builder(redis.url(), "smoke")
        .ttl(Duration::from_millis(500))
        .build()
        .unwrap();
    let ta = a.wait_for_leadership(Duration::from_secs(5)).unwrap();
    assert!(a.is_leader());
    let b = Election::builder(redis.url(), "smoke")
        .ttl(Duration::from_millis(500))
        .build()
        .unwrap();
    let ev = b.events();
    std::thread::sleep(Duration::from_millis(100));
    assert!(!b.is_leader());
    println!("leader seen by b: {:?}", b.leader());
    let t0 = std::time::Instant::now();
    a.close();
    loop {
        match ev.recv_timeout(Duration::from_secs(5)).unwrap() {
            Event::Granted { token } => {
                println!("handover {:?} token {token} > {ta}", t0.elapsed());
                assert!(token > ta);
                break;
            }
            e => println!("{e:?}"),
        }
    }
    println!("{}", redis.cmd(&["HGETALL", "baton:{smoke}:lease"]));
}
