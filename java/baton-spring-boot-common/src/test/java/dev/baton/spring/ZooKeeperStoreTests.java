package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.LeaderElection;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * An application with {@code baton.store=zookeeper://...} and nothing else about its store:
 * one of two instances runs the leader-only job, and closing it hands over at once (the 20 s
 * lease, ZooKeeper's session, is longer than the test waits) under a larger token.
 */
class ZooKeeperStoreTests {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @RegisterExtension
    static final ZooKeeperExtension zookeeper = new ZooKeeperExtension();

    private final Journal journal = new Journal();
    private final Map<String, ConfigurableApplicationContext> fleet = new LinkedHashMap<>();

    @AfterEach
    void stopFleet() {
        fleet.values().forEach(ConfigurableApplicationContext::close);
    }

    private void start(String... instances) {
        for (String instance : instances) {
            fleet.put(instance, new SpringApplicationBuilder(FleetApp.class)
                .web(WebApplicationType.NONE)
                .bannerMode(Banner.Mode.OFF)
                .logStartupInfo(false)
                .registerShutdownHook(false)
                .initializers(c -> c.getBeanFactory().registerSingleton("journal", journal))
                .properties(
                    "test.instance=" + instance,
                    "spring.application.name=zookeeper-fleet",
                    "baton.store=" + zookeeper.url(),
                    "baton.ttl=20s")
                .run());
        }
    }

    @Test
    void oneInstanceLeadsOnZooKeeperAndAGracefulStopHandsOver() throws Exception {
        start("a", "b");
        Journal.Entry first = journal.await(0, e -> e.what().equals("granted"), WAIT, "a grant");
        String leader = first.instance();
        String follower = leader.equals("a") ? "b" : "a";
        journal.awaitCount(e -> e.is(leader, "run"), 3, WAIT, "runs on the leader");
        assertThat(journal.all(e -> e.what().equals("run"))).allMatch(e -> e.instance().equals(leader));
        assertThat(fleet.get(follower).getBean(LeaderElection.class).isLeader()).isFalse();

        int mark = journal.size();
        fleet.remove(leader).close();
        Journal.Entry next = journal.await(mark, e -> e.what().equals("granted"), WAIT,
            "a grant on the other instance (without the release it would take the 20s session)");
        assertThat(next.instance()).isEqualTo(follower);
        assertThat(next.token()).isGreaterThan(first.token());
        journal.await(mark, e -> e.is(follower, "run"), WAIT, "the new leader's run");
    }
}
