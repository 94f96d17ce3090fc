package dev.baton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class LeaderElectionTest {
    @RegisterExtension
    static final RedisExtension redis = new RedisExtension();


    static String unique() {
        return "test-" + UUID.randomUUID();
    }

    /** A TTL far longer than any wait of these tests: a handover they see was pushed, not expired. */
    static final Duration LONG_TTL = Duration.ofSeconds(120);

    @Test
    void twoElectionsInOneJvmExactlyOneLeads() throws Exception {
        String name = unique();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        BlockingQueue<Integer> firstGrant = new LinkedBlockingQueue<>();
        try (LeaderElection a = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL).listener(ra)
                 .listener(grantsTo(firstGrant, 0)).build();
             LeaderElection b = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL).listener(rb)
                 .listener(grantsTo(firstGrant, 1)).build()) {
            assertNotEquals(a.candidateId(), b.candidateId());
            Integer winner = firstGrant.poll(Recorder.WAIT.toSeconds(), TimeUnit.SECONDS);
            assertNotNull(winner, "nobody was granted leadership");
            LeaderElection leader = winner == 0 ? a : b;
            LeaderElection follower = winner == 0 ? b : a;
            Recorder followerEvents = winner == 0 ? rb : ra;
            // The follower learns who leads from the store.
            followerEvents.nextLeader(leader.candidateId());
            assertTrue(leader.isLeader());
            assertFalse(follower.isLeader());
            long token = leader.fencingToken().orElseThrow();
            assertTrue(follower.fencingToken().isEmpty());
            LeaderInfo seen = follower.leader().orElseThrow();
            assertEquals(leader.candidateId(), seen.candidateId());
            assertEquals(token, seen.token());
            assertEquals(ProcessHandle.current().pid(), seen.pid());
            assertTrue(seen.leaseRemaining().compareTo(LONG_TTL) <= 0);
            assertEquals(leader.candidateId(), leader.leader().orElseThrow().candidateId());
            assertTrue(followerEvents.leadership().isEmpty(), "the follower was granted: " + followerEvents.all());
        }
    }

    static LeadershipListener grantsTo(BlockingQueue<Integer> queue, int who) {
        return new LeadershipListener() {
            @Override
            public void granted(long token) {
                queue.add(who);
            }
        };
    }

    @Test
    void closingTheLeaderHandsLeadershipOver() throws Exception {
        String name = unique();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        LeaderElection a = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL).listener(ra).build();
        long first = ra.next("granted").token();
        try (LeaderElection b = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL).listener(rb).build()) {
            rb.nextLeader(a.candidateId());
            a.close();
            assertEquals(RevokeReason.CLOSED, ra.next("revoked").reason());
            long second = rb.next("granted").token();
            assertTrue(second > first, "tokens increase: " + first + " then " + second);
            assertTrue(b.isLeader());
        }
    }

    @Test
    void resignHandsLeadershipOver() throws Exception {
        String name = unique();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        try (LeaderElection a = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL).listener(ra).build()) {
            long first = ra.next("granted").token();
            try (LeaderElection b = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL).listener(rb).build()) {
                rb.nextLeader(a.candidateId());
                a.resign();
                assertFalse(a.isLeader());
                assertEquals(RevokeReason.RESIGNED, ra.next("revoked").reason());
                assertTrue(rb.next("granted").token() > first);
            }
        }
    }

    @Test
    void anObserverSeesTheLeaderButNeverCampaigns() throws Exception {
        String name = unique();
        Recorder ra = new Recorder();
        Recorder ro = new Recorder();
        try (LeaderElection a = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL).listener(ra).build();
             LeaderElection observer = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL)
                 .campaign(false).listener(ro).build()) {
            long token = ra.next("granted").token();
            assertEquals(token, ro.nextLeader(a.candidateId()).leader().orElseThrow().token());
            a.close();
            ro.nextNoLeader();
            assertFalse(observer.isLeader());
            assertTrue(ro.leadership().isEmpty());
        }
    }

    @Test
    void currentLeaderReadsTheStoreWithoutCampaigning() throws Exception {
        String name = unique();
        assertTrue(LeaderElection.builder(redis.url(), name).currentLeader().isEmpty());
        Recorder ra = new Recorder();
        try (LeaderElection a = LeaderElection.builder(redis.url(), name).ttl(LONG_TTL).listener(ra).build()) {
            long token = ra.next("granted").token();
            LeaderInfo info = LeaderElection.builder(redis.url(), name).currentLeader().orElseThrow();
            assertEquals(a.candidateId(), info.candidateId());
            assertEquals(token, info.token());
            assertFalse(info.host().isEmpty());
        }
    }

    @Test
    void keyPrefixSeparatesElectionsOfTheSameName() throws Exception {
        String name = unique();
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        try (LeaderElection a = LeaderElection.builder(redis.url(), name).keyPrefix("one:").listener(ra).build();
             LeaderElection b = LeaderElection.builder(redis.url(), name).keyPrefix("two:").listener(rb).build()) {
            ra.next("granted");
            rb.next("granted");
            assertTrue(a.isLeader());
            assertTrue(b.isLeader());
        }
    }
}
