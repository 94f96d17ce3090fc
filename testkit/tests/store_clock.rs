//! The controllable store clock moves a real redis-server's TIME and key expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baton_testkit::RedisServer;

/// The server's TIME minus the real wall clock, in milliseconds.
fn offset_ms(s: &RedisServer) -> i64 {
    let reply = s.cmd(&["TIME"]);
    let mut parts = reply.lines().map(|l| l.trim().parse::<i64>().unwrap());
    let (secs, micros) = (parts.next().unwrap(), parts.next().unwrap());
    let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (secs * 1_000_000 + micros) / 1000 - real.as_millis() as i64
}

#[test]
fn steps_and_rates_move_time_and_expiry() {
    let s = RedisServer::start_with_clock(&[]);
    let clock = s.clock().expect("a controllable clock");
    assert!(offset_ms(&s).abs() < 50, "starts on the real clock");

    clock.step(5_000_000_000);
    let off = offset_ms(&s);
    assert!(
        (4_950..5_050).contains(&off),
        "a 5s step shows in TIME: {off}ms"
    );

    // Expiry follows the stepped clock: a key with 2s left is gone after another 3s step.
    s.cmd(&["SET", "k", "v", "PX", "2000"]);
    clock.step(3_000_000_000);
    assert_eq!(
        s.cmd(&["GET", "k"]),
        "",
        "the key expired by the store's clock"
    );

    clock.step(-8_000_000_000);
    clock.set_rate(2.0);
    std::thread::sleep(Duration::from_millis(300));
    clock.set_rate(1.0);
    let off = offset_ms(&s);
    assert!(
        (250..500).contains(&off),
        "300ms at double speed gains about 300ms: {off}ms"
    );
}
