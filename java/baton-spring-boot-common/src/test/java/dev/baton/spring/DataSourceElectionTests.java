package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.LeaderElection;
import dev.baton.spring.autoconfigure.BatonElectionFactory;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.task.TaskSchedulingAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * An application whose only store settings are {@code spring.datasource.*} of a real PostgreSQL
 * (and Spring Data Redis on the classpath with nothing configured, as in an application that
 * uses it for a local cache): baton derives {@code postgres://} from the JDBC URL and the
 * credentials (a password that needs percent-encoding), one of two instances runs the
 * leader-only job, and closing it hands over at once by {@code NOTIFY} (the 20 s lease is longer
 * than the test waits) under a larger token.
 */
class DataSourceElectionTests {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    private final Journal journal = new Journal();

    /** The application: a leader-only job, and its events in the journal. */
    @Configuration(proxyBeanMethods = false)
    @EnableScheduling
    static class App {
        @Bean
        FleetApp.Job job(Journal journal, @Value("${test.instance}") String instance) {
            return new FleetApp.Job(journal, instance);
        }

        @Bean
        FleetApp.Events events(Journal journal, @Value("${test.instance}") String instance) {
            return new FleetApp.Events(journal, instance);
        }
    }

    private ApplicationContextRunner instance(String name) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(TaskSchedulingAutoConfiguration.class))
            .withConfiguration(BootLine.springDataRedis())
            .withConfiguration(BootLine.baton())
            .withUserConfiguration(App.class)
            .withBean("journal", Journal.class, () -> journal)
            .withPropertyValues(
                "test.instance=" + name,
                "spring.application.name=datasource-fleet",
                "spring.datasource.url=" + postgres.jdbcUrl(),
                "spring.datasource.username=" + PostgresExtension.USER,
                "spring.datasource.password=" + PostgresExtension.PASSWORD,
                "baton.ttl=20s");
    }

    @Test
    void onlySpringDatasourceElectsOnPostgresAndAGracefulStopHandsOver() {
        instance("a").run(a -> instance("b").run(b -> {
            Map<String, AssertableApplicationContext> fleet = Map.of("a", a, "b", b);
            assertThat(a).hasNotFailed();
            assertThat(b).hasNotFailed();
            assertThat(a.getBean(BatonElectionFactory.class).storeDescription())
                .matches("postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/app \\(from spring\\.datasource\\.url\\)");

            Journal.Entry first = journal.await(0, e -> e.what().equals("granted"), WAIT, "a grant");
            String leader = first.instance();
            String follower = leader.equals("a") ? "b" : "a";
            journal.awaitCount(e -> e.is(leader, "run"), 3, WAIT, "runs on the leader");
            assertThat(journal.all(e -> e.what().equals("run"))).allMatch(e -> e.instance().equals(leader));
            assertThat(fleet.get(follower).getBean(LeaderElection.class).isLeader()).isFalse();

            int mark = journal.size();
            fleet.get(leader).close();
            Journal.Entry next = journal.await(mark, e -> e.what().equals("granted"), WAIT,
                "a grant on the other instance (without the release's NOTIFY it would take the 20s lease)");
            assertThat(next.instance()).isEqualTo(follower);
            assertThat(next.token()).isGreaterThan(first.token());
            journal.await(mark, e -> e.is(follower, "run"), WAIT, "the new leader's run");
        }));
    }
}
