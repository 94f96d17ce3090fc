package dev.baton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class ListenerTest {
    @RegisterExtension
    static final RedisExtension redis = new RedisExtension();


    /** Granted and revoked strictly alternate, start with granted, pair up by token. */
    static void assertPaired(List<Recorder.Call> calls) {
        assertFalse(calls.isEmpty(), "no leadership callbacks");
        long lastToken = 0;
        for (int i = 0; i < calls.size(); i++) {
            Recorder.Call c = calls.get(i);
            assertEquals(i % 2 == 0 ? "granted" : "revoked", c.kind(), "out of order: " + calls);
            if (i % 2 == 0) {
                assertTrue(c.token() > lastToken, "tokens increase across grants: " + calls);
                lastToken = c.token();
            } else {
                assertEquals(lastToken, c.token(), "revoked names its grant: " + calls);
            }
        }
        assertEquals(0, calls.size() % 2, "every grant was revoked: " + calls);
    }

    @Test
    void grantedComesBeforeRevokedAndEveryGrantIsRevoked() throws Exception {
        String name = LeaderElectionTest.unique();
        Recorder r = new Recorder();
        LeaderElection e = LeaderElection.builder(redis.url(), name).ttl(Duration.ofSeconds(1)).listener(r).build();
        for (int cycle = 0; cycle < 3; cycle++) {
            r.next("granted");
            e.resign();
            assertEquals(RevokeReason.RESIGNED, r.next("revoked").reason());
        }
        r.next("granted"); // back after sitting out one TTL
        e.close();
        assertEquals(RevokeReason.CLOSED, r.next("revoked").reason());
        List<Recorder.Call> calls = r.leadership();
        assertPaired(calls);
        for (Recorder.Call c : r.all()) {
            assertEquals("baton-events-" + name, c.thread(), "callbacks run on baton's event thread");
        }
    }

    @Test
    void aListenerAddedWhileLeadingIsGrantedFirst() throws Exception {
        String name = LeaderElectionTest.unique();
        Recorder first = new Recorder();
        LeaderElection e = LeaderElection.builder(redis.url(), name).ttl(Duration.ofSeconds(60)).listener(first).build();
        long token = first.next("granted").token();
        Recorder late = new Recorder();
        e.addListener(late);
        assertEquals(token, late.next("granted").token());
        assertEquals(e.candidateId(), late.nextLeader(e.candidateId()).leader().orElseThrow().candidateId());
        e.close();
        assertEquals(RevokeReason.CLOSED, late.next("revoked").reason());
        assertPaired(late.leadership());
    }

    @Test
    void aThrowingListenerDoesNotStopDelivery() throws Exception {
        String name = LeaderElectionTest.unique();
        LeadershipListener throwing = new LeadershipListener() {
            @Override
            public void granted(long token) {
                throw new IllegalStateException("expected by the test: a listener that throws");
            }
        };
        Recorder after = new Recorder();
        LeaderElection e = LeaderElection.builder(redis.url(), name).listener(throwing).listener(after).build();
        after.next("granted");
        e.close();
        after.next("revoked");
        assertPaired(after.leadership());
    }

    @Test
    void aRemovedListenerHearsNothingMore() throws Exception {
        String name = LeaderElectionTest.unique();
        Recorder kept = new Recorder();
        Recorder removed = new Recorder();
        LeaderElection e = LeaderElection.builder(redis.url(), name).listener(kept).listener(removed).build();
        kept.next("granted");
        removed.next("granted");
        assertTrue(e.removeListener(removed));
        assertFalse(e.removeListener(removed));
        e.close();
        kept.next("revoked");
        assertEquals(List.of("granted"), removed.leadership().stream().map(Recorder.Call::kind).toList());
    }

    @Test
    void closeFromInsideAListenerDoesNotDeadlock() throws Exception {
        String name = LeaderElectionTest.unique();
        Recorder r = new Recorder();
        LeaderElection[] holder = new LeaderElection[1];
        LeadershipListener closer = new LeadershipListener() {
            @Override
            public void granted(long token) {
                holder[0].close();
            }
        };
        LeaderElection e = LeaderElection.builder(redis.url(), name).listener(r).build();
        holder[0] = e;
        e.addListener(closer);
        r.next("granted");
        assertEquals(RevokeReason.CLOSED, r.next("revoked").reason());
        assertTrue(e.isClosed());
    }
}
