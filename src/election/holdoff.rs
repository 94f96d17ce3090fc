//! A lease found free right after connection trouble may have been lost by the store (a
//! restart without persistence, a failover to a replica that missed the write) while its
//! holder, cut off and never told, still believes until its deadline. So a follower that saw
//! another holder, then a dropped connection or a failed request, takes a free lease only a
//! ttl after that trouble, the longest the old holder's belief can last. Seeing that holder
//! again ends the wait at once: the store kept the lease, or its holder is back and knows.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
pub(super) struct HoldOff {
    /// The candidate last seen holding the lease, and the drop count at that moment.
    holder: Option<(String, u64)>,
    until: Option<Instant>,
}

impl HoldOff {
    /// A request found `candidate` holding the lease.
    pub fn saw(&mut self, candidate: &str, drops: u64) {
        if self.holder.as_ref().is_some_and(|(c, _)| c == candidate) {
            self.until = None;
        }
        self.holder = Some((candidate.to_owned(), drops));
    }

    /// A request sent at `sent` failed: the store may have restarted or hung behind it. A
    /// hung store renewed nothing since about then, and a restart also drops the connection
    /// (`until` counts from noticing that), so the old holder's belief ends a ttl after `sent`.
    pub fn trouble(&mut self, sent: Instant, ttl: Duration) {
        if self.holder.is_some() {
            self.until = self.until.max(Some(sent + ttl));
        }
    }

    /// Before a request: the instant until which a free lease must not be taken, if any.
    pub fn until(&mut self, now: Instant, drops: u64, ttl: Duration) -> Option<Instant> {
        if let Some((_, seen)) = self.holder.as_mut() {
            if *seen != drops {
                *seen = drops;
                self.until = Some(now + ttl);
            }
        }
        match self.until {
            Some(t) if now < t => Some(t),
            _ => {
                self.until = None;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(2);

    #[test]
    fn no_wait_without_a_holder_seen_before_the_trouble() {
        let mut h = HoldOff::default();
        let now = Instant::now();
        h.trouble(now, TTL);
        assert_eq!(h.until(now, 1, TTL), None);
    }

    #[test]
    fn a_drop_after_seeing_a_holder_waits_a_ttl_from_when_it_is_noticed() {
        let mut h = HoldOff::default();
        let now = Instant::now();
        h.saw("a", 0);
        assert_eq!(h.until(now, 0, TTL), None);
        let later = now + Duration::from_millis(300);
        assert_eq!(h.until(later, 1, TTL), Some(later + TTL));
        // The same drop does not re-arm it.
        assert_eq!(h.until(later + TTL / 2, 1, TTL), Some(later + TTL));
        assert_eq!(h.until(later + TTL, 1, TTL), None);
    }

    #[test]
    fn a_failed_request_after_seeing_a_holder_waits_a_ttl() {
        let mut h = HoldOff::default();
        let now = Instant::now();
        h.saw("a", 0);
        h.trouble(now, TTL);
        assert_eq!(h.until(now, 0, TTL), Some(now + TTL));
    }

    #[test]
    fn seeing_the_same_holder_again_ends_the_wait() {
        let mut h = HoldOff::default();
        let now = Instant::now();
        h.saw("a", 0);
        assert!(h.until(now, 1, TTL).is_some());
        h.saw("a", 1);
        assert_eq!(h.until(now, 1, TTL), None);
    }

    #[test]
    fn another_holder_does_not_end_the_wait() {
        let mut h = HoldOff::default();
        let now = Instant::now();
        h.saw("a", 0);
        assert!(h.until(now, 1, TTL).is_some());
        h.saw("b", 1);
        assert_eq!(h.until(now, 1, TTL), Some(now + TTL));
    }
}
