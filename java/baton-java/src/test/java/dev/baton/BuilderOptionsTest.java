package dev.baton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The builder options beyond timing: resignOnRequest, allowEviction, connectInBackground. */
class BuilderOptionsTest {
    @RegisterExtension
    static final RedisExtension redis = new RedisExtension();

    private static final Duration TTL = LeaderElectionTest.LONG_TTL;

    @Test
    void aDeferringLeaderIsAskedAndKeepsLeadingUntilItResigns() throws Exception {
        String name = LeaderElectionTest.unique();
        LeaderElection.Builder asker = LeaderElection.builder(redis.url(), name);
        assertTrue(asker.requestResign().isEmpty(), "nobody leads yet");
        Recorder r = new Recorder();
        try (LeaderElection a = LeaderElection.builder(redis.url(), name).ttl(TTL).resignOnRequest(false)
                .listener(r).build()) {
            long token = r.next("granted").token();
            LeaderInfo asked = asker.requestResign().orElseThrow();
            assertEquals(a.candidateId(), asked.candidateId());
            assertEquals(token, r.next("resignRequested").token());
            assertTrue(a.isLeader(), "a deferring leader keeps leading until it resigns");
            a.resign();
            Recorder.Call revoked = r.next("revoked");
            assertEquals(RevokeReason.RESIGNED, revoked.reason());
            assertEquals(token, revoked.token());
        }
    }

    @Test
    void byDefaultALeaderResignsWhenAsked() throws Exception {
        String name = LeaderElectionTest.unique();
        Recorder r = new Recorder();
        try (LeaderElection a = LeaderElection.builder(redis.url(), name).ttl(TTL).listener(r).build()) {
            long token = r.next("granted").token();
            assertEquals(token, LeaderElection.builder(redis.url(), name).requestResign().orElseThrow().token());
            assertEquals(RevokeReason.RESIGNED, r.next("revoked").reason());
            assertFalse(r.all().stream().anyMatch(c -> c.kind().equals("resignRequested")), r.all().toString());
        }
    }

    @Test
    void anEvictingStoreIsRefusedUnlessTheRiskIsAccepted() throws Exception {
        try (RedisServer lru = RedisServer.start("--maxmemory-policy", "allkeys-lru")) {
            String name = LeaderElectionTest.unique();
            ConfigurationException e = assertThrows(ConfigurationException.class,
                () -> LeaderElection.builder(lru.url(), name).build().close());
            assertEquals("allow_eviction", e.problems().get(0).setting());
            assertTrue(e.getMessage().contains("allkeys-lru"), e.getMessage());
            try (LeaderElection accepted = LeaderElection.builder(lru.url(), name).allowEviction(true).build()) {
                assertTrue(accepted.isConnected());
            }
        }
    }

    @Test
    void withoutTheStoreBuildFailsUnlessAskedToConnectInTheBackground() throws Exception {
        int port = RedisServer.freePort();
        String url = "redis://127.0.0.1:" + port;
        String name = LeaderElectionTest.unique();
        assertThrows(StoreUnreachableException.class,
            () -> LeaderElection.builder(url, name).connectTimeout(Duration.ofMillis(300)).build().close());

        Recorder r = new Recorder();
        try (LeaderElection e = LeaderElection.builder(url, name).ttl(TTL).connectTimeout(Duration.ofMillis(300))
                .connectInBackground(true).listener(r).build()) {
            assertFalse(e.isConnected());
            assertFalse(e.isLeader());
            assertTrue(e.fencingToken().isEmpty());
            assertTrue(e.leader().isEmpty());
            e.resign(); // nothing to give up: no error
            assertInstanceOf(StoreUnreachableException.class, e.connectFailure().orElseThrow());
            try (RedisServer late = RedisServer.startOn(port)) {
                long token = r.next("granted").token();
                assertTrue(e.isConnected());
                assertTrue(e.isLeader());
                assertEquals(token, e.fencingToken().orElseThrow());
                assertTrue(e.connectFailure().isEmpty());
                assertFalse(e.candidateId().isEmpty());
            }
        }
    }

    @Test
    void closingWhileConnectingStopsTrying() throws Exception {
        int port = RedisServer.freePort();
        LeaderElection e = LeaderElection.builder("redis://127.0.0.1:" + port, LeaderElectionTest.unique())
            .connectTimeout(Duration.ofMillis(200)).connectInBackground(true).build();
        e.close();
        assertTrue(e.isClosed());
        assertFalse(e.isLeader());
        assertThrows(ElectionClosedException.class, e::leader);
        assertThrows(ElectionClosedException.class, () -> e.addListener(new Recorder()));
    }

    @Test
    void renewalsAreCountedWithTheirRoundTrips() throws Exception {
        Recorder r = new Recorder();
        LeaderElection e = LeaderElection.builder(redis.url(), LeaderElectionTest.unique())
            .ttl(Duration.ofMillis(300)).listener(r).build();
        try {
            r.next("granted");
            // A renewal every 100ms: no event announces one, so poll, bounded.
            long until = System.nanoTime() + Recorder.WAIT.toNanos();
            while (e.renewalStats().count() < 3) {
                assertTrue(System.nanoTime() < until, "fewer than 3 renewals within " + Recorder.WAIT);
                Thread.sleep(20);
            }
            RenewalStats stats = e.renewalStats();
            assertTrue(stats.total().toNanos() > 0, stats.toString());
        } finally {
            e.close();
        }
        RenewalStats afterClose = e.renewalStats();
        assertTrue(afterClose.count() >= 3, "the last reading stays readable after close: " + afterClose);
    }

    @Test
    void refusedSubscriptionsAreCountedAndTheElectionStillWorks() throws Exception {
        // A user who may not subscribe to baton's channels: elected, and every refusal counted.
        try (RedisServer deafOnly = RedisServer.start("--user", "deaf", "on", ">pw", "~baton:*",
                "resetchannels", "+@all")) {
            String url = "redis://deaf:pw@127.0.0.1:" + deafOnly.port();
            Recorder r = new Recorder();
            LeaderElection e = LeaderElection.builder(url, LeaderElectionTest.unique()).listener(r).build();
            try {
                r.next("granted");
                assertTrue(e.subscriptionFailures() >= 1, "failures: " + e.subscriptionFailures());
            } finally {
                e.close();
            }
            assertTrue(e.subscriptionFailures() >= 1, "the last reading stays readable after close");
        }
        try (LeaderElection heard = LeaderElection.builder(redis.url(), LeaderElectionTest.unique()).build()) {
            assertEquals(0, heard.subscriptionFailures());
        }
    }
}
