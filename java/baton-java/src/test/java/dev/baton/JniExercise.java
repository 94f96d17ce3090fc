package dev.baton;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Calls every native entry point once or more, including every error path, so that a JVM run
 * with {@code -Xcheck:jni} can report any misuse. Prints "OK" and exits 0 on success.
 */
public final class JniExercise {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        String name = "jni-check-" + ProcessHandle.current().pid();
        CountDownLatch granted = new CountDownLatch(1);
        CountDownLatch revoked = new CountDownLatch(1);
        LeadershipListener listener = new LeadershipListener() {
            @Override
            public void granted(long token) {
                granted.countDown();
            }

            @Override
            public void revoked(long token, RevokeReason reason) {
                revoked.countDown();
            }
        };
        LeaderElection a = LeaderElection.builder(url, name).ttl(Duration.ofSeconds(30)).listener(listener).build();
        LeaderElection b = LeaderElection.builder(url, name).ttl(Duration.ofSeconds(30)).build();
        check(granted.await(30, TimeUnit.SECONDS), "a was granted");
        long hits = 0;
        for (int i = 0; i < 100_000; i++) {
            hits += a.isLeader() ? 1 : 0;
            hits += b.isLeader() ? 1 : 0;
        }
        check(hits > 0, "isLeader");
        check(a.fencingToken().isPresent() && b.fencingToken().isEmpty(), "fencingToken");
        check(a.leader().isPresent(), "leader");
        check(LeaderElection.builder(url, name).currentLeader().isPresent(), "currentLeader");
        check(LeaderElection.builder(url, "nobody-" + name).currentLeader().isEmpty(), "currentLeader empty");
        a.resign();
        check(revoked.await(30, TimeUnit.SECONDS), "a was revoked");
        expect(ConfigurationException.class,
            () -> LeaderElection.builder(url, "").ttl(Duration.ofMillis(1)).drift(9).build());
        expect(StoreUnreachableException.class, () -> LeaderElection.builder("redis://127.0.0.1:1", name)
            .connectTimeout(Duration.ofSeconds(1)).build());
        a.close();
        b.close();
        b.close();
        check(!a.isLeader(), "a closed election does not lead");
        expect(ElectionClosedException.class, a::resign);
        // Direct native calls with handles Java would never pass: errors, not crashes.
        expect(ElectionClosedException.class, () -> Native.isLeader(0));
        expect(ElectionClosedException.class, () -> Native.token(0));
        expect(ElectionClosedException.class, () -> Native.resign(0));
        expect(NullPointerException.class, () -> Native.open(null, name, null, -1, -1, -1, Double.NaN, true, -1, -1, -1, false, true, null, null, null, null));
        Native.free(0);
        Native.freeEvents(0);
        System.gc(); // lets the Cleaner free the closed handles while the JVM still checks
        Thread.sleep(200);
        System.out.println("OK " + Native.version());
    }

    interface Call {
        void run() throws Exception;
    }

    static void expect(Class<? extends Throwable> type, Call call) throws Exception {
        try {
            call.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return;
            }
            throw new AssertionError("expected " + type.getSimpleName() + ", got " + t, t);
        }
        throw new AssertionError("expected " + type.getSimpleName() + ", got no exception");
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("failed: " + what);
        }
    }
}
