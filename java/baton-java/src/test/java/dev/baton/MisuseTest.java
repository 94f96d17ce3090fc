package dev.baton;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.extension.RegisterExtension;

class MisuseTest {
    @RegisterExtension
    static final RedisExtension redis = new RedisExtension();


    static void assertThrowsNaming(Class<? extends Throwable> type, String word, Executable call) {
        Throwable t = assertThrows(type, call);
        assertTrue(t.getMessage() != null && t.getMessage().contains(word),
            "message should name '" + word + "': " + t.getMessage());
    }

    @Test
    void nullArgumentsAreRefusedNamingTheParameter() {
        LeaderElection.Builder b = LeaderElection.builder(redis.url(), "x");
        assertThrowsNaming(NullPointerException.class, "storeUrl", () -> LeaderElection.builder(null, "x"));
        assertThrowsNaming(NullPointerException.class, "name", () -> LeaderElection.builder(redis.url(), null));
        assertThrowsNaming(NullPointerException.class, "ttl", () -> b.ttl(null));
        assertThrowsNaming(NullPointerException.class, "renewInterval", () -> b.renewInterval(null));
        assertThrowsNaming(NullPointerException.class, "retryInterval", () -> b.retryInterval(null));
        assertThrowsNaming(NullPointerException.class, "connectTimeout", () -> b.connectTimeout(null));
        assertThrowsNaming(NullPointerException.class, "keyPrefix", () -> b.keyPrefix(null));
        assertThrowsNaming(NullPointerException.class, "listener", () -> b.listener(null));
        assertThrowsNaming(NullPointerException.class, "waitForReplicas", () -> b.waitForReplicas(1, null));
        assertThrowsNaming(IllegalArgumentException.class, "ttl", () -> b.ttl(Duration.ofSeconds(-1)));
        assertThrowsNaming(IllegalArgumentException.class, "drift", () -> b.drift(Double.NaN));
        assertThrowsNaming(IllegalArgumentException.class, "waitForReplicas",
            () -> b.waitForReplicas(-1, Duration.ofSeconds(1)));
        try (LeaderElection e = b.build()) {
            assertThrowsNaming(NullPointerException.class, "listener", () -> e.addListener(null));
            assertThrowsNaming(NullPointerException.class, "listener", () -> e.removeListener(null));
        }
    }

    @Test
    void everyBrokenRuleIsReportedAtOnce() {
        ConfigurationException e = assertThrows(ConfigurationException.class,
            () -> LeaderElection.builder(redis.url(), "").ttl(Duration.ofMillis(1)).drift(2.0).build());
        List<String> settings = e.problems().stream().map(ConfigurationException.Problem::setting).toList();
        assertTrue(settings.containsAll(List.of("ttl", "drift", "election")), settings.toString());
        for (ConfigurationException.Problem p : e.problems()) {
            assertTrue(e.getMessage().contains(p.message()), e.getMessage());
        }
        assertThrowsNaming(ConfigurationException.class, "store",
            () -> LeaderElection.builder("http://127.0.0.1:1", "x").build());
        assertThrowsNaming(ConfigurationException.class, "reserves",
            () -> LeaderElection.builder(redis.url(), "bad{name}").currentLeader());
    }

    @Test
    void anUnreachableStoreSaysWhere() throws Exception {
        String url = "redis://127.0.0.1:" + RedisServer.freePort();
        StoreUnreachableException e = assertThrows(StoreUnreachableException.class,
            () -> LeaderElection.builder(url, "x").connectTimeout(Duration.ofSeconds(2)).build());
        assertTrue(e.getMessage().contains("127.0.0.1"), e.getMessage());
        assertTrue(e instanceof BatonException);
    }

    @Test
    void aWrongPasswordOrAnAclRefusalIsAStoreAuthenticationException() throws Exception {
        try (RedisServer locked = RedisServer.start("--requirepass", "right",
                "--user", "limited", "on", ">pw", "~other:*", "+@all")) {
            String base = "127.0.0.1:" + locked.port();
            StoreAuthenticationException wrong = assertThrows(StoreAuthenticationException.class,
                () -> LeaderElection.builder("redis://:wrong@" + base, LeaderElectionTest.unique()).build());
            assertTrue(wrong.getMessage().contains("WRONGPASS"), wrong.getMessage());
            // An ACL user without baton's keys: refused with NOPERM, as soon as it campaigns or reads.
            StoreAuthenticationException acl = assertThrows(StoreAuthenticationException.class,
                () -> LeaderElection.builder("redis://limited:pw@" + base, LeaderElectionTest.unique()).currentLeader());
            assertTrue(acl.getMessage().toUpperCase(java.util.Locale.ROOT).contains("NOPERM"), acl.getMessage());
        }
    }

    @Test
    void useAfterCloseRaisesElectionClosedAndCloseIsIdempotent() {
        LeaderElection e = LeaderElection.builder(redis.url(), LeaderElectionTest.unique()).build();
        String id = e.candidateId();
        e.close();
        assertTrue(e.isClosed());
        assertDoesNotThrow(e::close);
        // "Do I lead?" has an answer after close (a request handler asking during shutdown):
        assertFalse(e.isLeader());
        assertTrue(e.fencingToken().isEmpty());
        List<Executable> calls = List.of(e::leader, e::resign,
            () -> e.addListener(new Recorder()));
        for (Executable call : calls) {
            assertThrowsNaming(ElectionClosedException.class, e.name(), call);
        }
        assertEquals(id, e.candidateId());
        assertFalse(e.removeListener(new Recorder()));
        assertTrue(e.toString().contains("closed"));
    }

    /** Many threads read while another closes: each read returns or says closed, nothing crashes. */
    @Test
    void closingWhileOtherThreadsReadIsSafe() throws Exception {
        for (int round = 0; round < 20; round++) {
            LeaderElection e = LeaderElection.builder(redis.url(), LeaderElectionTest.unique()).build();
            CountDownLatch started = new CountDownLatch(4);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread reader = new Thread(() -> {
                    started.countDown();
                    try {
                        while (true) {
                            e.isLeader();
                            e.fencingToken();
                            e.leader(); // throws once closed
                        }
                    } catch (ElectionClosedException expected) {
                        // The only way out.
                    } catch (Throwable other) {
                        unexpected.set(other);
                    }
                });
                reader.start();
                readers.add(reader);
            }
            started.await();
            e.close();
            for (Thread reader : readers) {
                reader.join();
            }
            if (unexpected.get() != null) {
                throw new AssertionError("a reader failed", unexpected.get());
            }
        }
    }
}
