package dev.baton.spring;

import dev.baton.spring.autoconfigure.BatonAutoConfiguration;
import java.util.concurrent.CountDownLatch;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.autoconfigure.task.TaskSchedulingAutoConfiguration;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;
import org.springframework.scheduling.annotation.EnableScheduling;
import org.springframework.scheduling.annotation.Scheduled;

/** One instance of the test fleet: a leader-only scheduled job, worker and lifecycle bean. */
@Configuration(proxyBeanMethods = false)
@EnableScheduling
@ImportAutoConfiguration({BatonAutoConfiguration.class, TaskSchedulingAutoConfiguration.class})
class FleetApp {
    @Bean
    Job job(Journal journal, @Value("${test.instance}") String instance) {
        return new Job(journal, instance);
    }

    @Bean
    Worker worker() {
        return new Worker();
    }

    @Bean
    Pump pump(Journal journal, @Value("${test.instance}") String instance) {
        return new Pump(journal, instance);
    }

    @Bean
    Events events(Journal journal, @Value("${test.instance}") String instance) {
        return new Events(journal, instance);
    }

    /** The job that must run on one instance only. */
    static class Job {
        private final Journal journal;
        private final String instance;

        Job(Journal journal, String instance) {
            this.journal = journal;
            this.instance = instance;
        }

        @Scheduled(fixedDelay = 20)
        @ConditionalOnLeader
        public void tick() {
            journal.add(instance, "run", LeaderContext.currentToken(), null);
        }
    }

    /** Leader-only methods that block. */
    static class Worker {
        @ConditionalOnLeader
        public String runUntil(CountDownLatch started, CountDownLatch go) {
            started.countDown();
            try {
                go.await();
                return "finished";
            } catch (InterruptedException e) {
                return "interrupted";
            }
        }

        @ConditionalOnLeader
        public String blockUntilInterrupted(CountDownLatch started) {
            LeaderContext context = LeaderContext.current().orElseThrow();
            started.countDown();
            try {
                new CountDownLatch(1).await();
                return "not interrupted";
            } catch (InterruptedException e) {
                return "interrupted token=" + LeaderContext.currentToken() + " reason="
                    + context.revokeReason().map(r -> r.id()).orElse("none") + " leader=" + context.isLeader();
            }
        }
    }

    /** A lifecycle bean that must run on the leader only. */
    @ConditionalOnLeader
    static class Pump implements SmartLifecycle {
        private final Journal journal;
        private final String instance;
        private volatile boolean running;

        Pump(Journal journal, String instance) {
            this.journal = journal;
            this.instance = instance;
        }

        @Override
        public void start() {
            running = true;
            journal.add(instance, "pump-started", -1, null);
        }

        @Override
        public void stop() {
            running = false;
            journal.add(instance, "pump-stopped", -1, null);
        }

        @Override
        public boolean isRunning() {
            return running;
        }
    }

    /** Records the starter's events. */
    static class Events {
        private final Journal journal;
        private final String instance;

        Events(Journal journal, String instance) {
            this.journal = journal;
            this.instance = instance;
        }

        @EventListener
        public void granted(LeadershipGrantedEvent e) {
            journal.add(instance, "granted", e.getToken(), e.getElectionName());
        }

        @EventListener
        public void revoked(LeadershipRevokedEvent e) {
            journal.add(instance, "revoked", e.getToken(), e.getReason().id());
        }

        @EventListener
        public void skipped(LeaderOnlyInvocationSkippedEvent e) {
            journal.add(instance, "skipped", -1, e.getMethod().getName());
        }
    }
}
