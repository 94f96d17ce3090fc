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
 * (or MariaDB)
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

    @RegisterExtension
    static final MariaDbExtension mariadb = new MariaDbExtension();

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
        return instance(name, postgres.jdbcUrl(), PostgresExtension.USER, PostgresExtension.PASSWORD, "20s");
    }

    private ApplicationContextRunner instance(String name, String url, String user, String password, String ttl) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(TaskSchedulingAutoConfiguration.class))
            .withConfiguration(BootLine.springDataRedis())
            .withConfiguration(BootLine.baton())
            .withUserConfiguration(App.class)
            .withBean("journal", Journal.class, () -> journal)
            .withPropertyValues(
                "test.instance=" + name,
                "spring.application.name=datasource-fleet",
                "spring.datasource.url=" + url,
                "spring.datasource.username=" + user,
                "spring.datasource.password=" + password,
                "baton.ttl=" + ttl);
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

    /** MariaDB has no push: the other instance takes over at the released lease's expiry (2 s). */
    @Test
    void onlySpringDatasourceElectsOnMariaDbAndTheOtherInstanceTakesOver() {
        ApplicationContextRunner a0 = instance("a", mariadb.jdbcUrl(), MariaDbExtension.USER,
            MariaDbExtension.PASSWORD, "2s");
        ApplicationContextRunner b0 = instance("b", mariadb.jdbcUrl(), MariaDbExtension.USER,
            MariaDbExtension.PASSWORD, "2s");
        a0.run(a -> b0.run(b -> {
            Map<String, AssertableApplicationContext> fleet = Map.of("a", a, "b", b);
            assertThat(a).hasNotFailed();
            assertThat(a.getBean(BatonElectionFactory.class).storeDescription())
                .matches("mariadb://app:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/app \\(from spring\\.datasource\\.url\\)");
            Journal.Entry first = journal.await(0, e -> e.what().equals("granted"), WAIT, "a grant");
            String leader = first.instance();
            String follower = leader.equals("a") ? "b" : "a";
            journal.await(0, e -> e.is(leader, "run"), WAIT, "a run on the leader");
            int mark = journal.size();
            fleet.get(leader).close();
            Journal.Entry next = journal.await(mark, e -> e.what().equals("granted"), WAIT,
                "a grant on the other instance");
            assertThat(next.instance()).isEqualTo(follower);
            assertThat(next.token()).isGreaterThan(first.token());
            journal.await(mark, e -> e.is(follower, "run"), WAIT, "the new leader's run");
        }));
    }
}
