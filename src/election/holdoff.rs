//! A lease found free may have been lost by the store (a restart without persistence, a
//! failover to a replica that missed the write, a flush) while its holder, cut off or not yet
//! told, still believes until its deadline. So a follower that saw another holder takes a free
//! lease only a ttl, the longest that belief can last, after any sign of such a loss: a
//! dropped connection, a failed request, or a store with no record of the lease at all
//! (releases and expiry leave one; it asks warily, see `Store::acquire_wary`). Seeing that
//! holder again ends the wait at once: the store kept the lease, or its holder is back and
//! knows it stepped down.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
pub(super) struct HoldOff {
    /// The candidate last seen holding the lease, and the drop count at that moment.
    holder: Option<(String, u64)>,
    until: Option<Instant>,
    /// The store had no record of the lease since that holder was seen: once the wait is over,
    /// the next acquire may create one.
    absent: bool,
}

impl HoldOff {
    /// A request found `candidate` holding the lease.
    pub fn saw(&mut self, candidate: &str, drops: u64) {
        if self.holder.as_ref().is_some_and(|(c, _)| c == candidate) {
            self.until = None;
        }
        self.holder = Some((candidate.to_owned(), drops));
        self.absent = false;
    }

    /// The store shows a lease of our own, from a grant whose answer never reached us. The
    /// store kept it and gave it by its rules (a wary acquire after seeing a holder), so no
    /// cut-off holder believes in it: the wait ends, and the drops so far are accounted for.
    pub fn ours(&mut self, drops: u64) {
        if let Some((_, seen)) = self.holder.as_mut() {
            *seen = drops;
        }
        self.until = None;
    }

    /// Whether an acquire must not create a lease the store has no record of.
    pub fn wary(&self) -> bool {
        self.holder.is_some() && !self.absent
    }

    /// A wary acquire found no record of the lease: wait a ttl from now (when the old holder
    /// may only now be told), then acquire. Returns when to try again.
    pub fn absent(&mut self, now: Instant, ttl: Duration) -> Instant {
        self.absent = true;
        let until = self.until.max(Some(now + ttl)).unwrap_or(now + ttl);
        self.until = Some(until);
        until
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
    fn a_lease_of_our_own_ends_the_wait_and_keeps_the_acquire_wary() {
        let mut h = HoldOff::default();
        let now = Instant::now();
        h.saw("a", 0);
        assert!(h.until(now, 1, TTL).is_some());
        h.ours(2);
        assert_eq!(
            h.until(now, 2, TTL),
            None,
            "the drops so far are accounted for"
        );
        assert!(h.wary());
        assert!(h.until(now, 3, TTL).is_some(), "a later drop waits again");
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
    fn a_lease_the_store_lost_is_taken_only_a_ttl_later_and_then_without_wariness() {
        let mut h = HoldOff::default();
        let now = Instant::now();
        assert!(
            !h.wary(),
            "nothing seen: a first acquire may create the lease"
        );
        h.saw("a", 0);
        assert!(h.wary());
        let again = h.absent(now, TTL);
        assert_eq!(again, now + TTL);
        assert_eq!(h.until(now, 0, TTL), Some(now + TTL));
        assert_eq!(h.until(now + TTL, 0, TTL), None);
        assert!(!h.wary(), "after the wait, the lease may be created");
        h.saw("a", 0);
        assert!(
            h.wary(),
            "a holder seen again makes the next acquire wary again"
        );
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
