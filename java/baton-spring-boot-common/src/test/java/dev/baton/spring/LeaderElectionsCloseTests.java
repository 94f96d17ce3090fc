package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.RedisServer;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Shutdown: elections are released together, so a dead store costs one release timeout, not one per election. */
class LeaderElectionsCloseTests {
    private static final int ELECTIONS = 4;

    @Test
    void electionsOnADeadStoreCloseConcurrentlyAndThenAnswerNotLeader() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            String url = redis.url();
            LeaderElections elections = new LeaderElections(name -> LeaderElection.builder(url, name)
                .ttl(Duration.ofSeconds(30)).connectTimeout(Duration.ofSeconds(2)).build(), null);
            List<LeaderElection> all = IntStream.range(0, ELECTIONS).mapToObj(i -> elections.get("close-" + i + "-" + System.nanoTime()))
                .toList();
            LeaderElection probe = LeaderElection.builder(url, "close-probe-" + System.nanoTime())
                .ttl(Duration.ofSeconds(30)).build();
            await().atMost(Duration.ofSeconds(20)).until(() -> all.stream().allMatch(LeaderElection::isLeader)
                && probe.isLeader());
            redis.pause(); // the store hangs: every release waits for its own timeout
            long t0 = System.nanoTime();
            probe.close();
            Duration one = Duration.ofNanos(System.nanoTime() - t0);
            t0 = System.nanoTime();
            elections.closeAll();
            Duration together = Duration.ofNanos(System.nanoTime() - t0);
            // One after the other would take ELECTIONS times as long as one release.
            assertThat(one).as("one release on a hung store").isGreaterThan(Duration.ofMillis(500));
            assertThat(together).as("closing %d elections (one took %s)", ELECTIONS, one)
                .isLessThan(one.multipliedBy(2));
            assertThat(all).allSatisfy(e -> {
                assertThat(e.isClosed()).isTrue();
                assertThat(e.isLeader()).isFalse();
            });
        }
    }
}
