package dev.baton.spring;

import dev.baton.spring.autoconfigure.BatonAutoConfiguration;
import dev.baton.spring.integration.BatonContext;
import dev.baton.spring.integration.BatonIntegrationAutoConfiguration;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;
import org.springframework.integration.annotation.InboundChannelAdapter;
import org.springframework.integration.annotation.Poller;
import org.springframework.integration.annotation.Role;
import org.springframework.integration.channel.NullChannel;
import org.springframework.integration.config.EnableIntegration;
import org.springframework.integration.core.MessageSource;
import org.springframework.integration.leader.Context;
import org.springframework.integration.leader.event.OnGrantedEvent;
import org.springframework.integration.leader.event.OnRevokedEvent;
import org.springframework.messaging.MessageChannel;

/**
 * One instance of the Spring Integration fleet ({@link IntegrationFleetTests}): an application
 * written for Spring Integration's leader election (a {@code @Role("cleanup")} polling endpoint
 * that the role controller starts on a grant, {@code @EventListener}s of the leader events), with
 * its initiator bean replaced by baton's starter. Every journal entry carries the process's
 * System.nanoTime(), comparable across processes of one Linux host (CLOCK_MONOTONIC).
 */
@Configuration(proxyBeanMethods = false)
@EnableIntegration
@ImportAutoConfiguration({BatonAutoConfiguration.class, BatonIntegrationAutoConfiguration.class})
class IntegrationFleetApp {
    @Bean
    MessageChannel cleanupOut() {
        return new NullChannel();
    }

    /** The role's work: polled only while this instance leads the role. */
    @Bean
    @InboundChannelAdapter(value = "cleanupOut", poller = @Poller(fixedDelay = "20"), autoStartup = "false")
    @Role("cleanup")
    MessageSource<String> cleanup(Journal journal, @Value("${test.instance}") String instance) {
        return () -> {
            journal.add(instance, "run", -1, "cleanup " + System.nanoTime());
            return null;
        };
    }

    @Bean
    LeaderEvents leaderEvents(Journal journal, @Value("${test.instance}") String instance) {
        return new LeaderEvents(journal, instance);
    }

    /** The application's own listeners, as written for Spring Integration. */
    static class LeaderEvents {
        private final Journal journal;
        private final String instance;
        private volatile Context granted;

        LeaderEvents(Journal journal, String instance) {
            this.journal = journal;
            this.instance = instance;
        }

        @EventListener(condition = "#event.role == 'cleanup'")
        public void granted(OnGrantedEvent event) {
            granted = event.getContext();
            journal.add(instance, "granted", token(event.getContext()), event.getRole() + " " + System.nanoTime());
        }

        /**
         * Finishes the role's work (200 ms, as a flush would), then journals: with baton, the next
         * leader is granted only after this returned, since the lease is released after the
         * revocation was told.
         */
        @EventListener(condition = "#event.role == 'cleanup'")
        public void revoked(OnRevokedEvent event) throws InterruptedException {
            Thread.sleep(200);
            String reason = event.getContext() instanceof BatonContext b
                ? b.revokeReason().map(r -> r.id()).orElse("?") : "?";
            journal.add(instance, "revoked", token(event.getContext()),
                event.getRole() + " " + System.nanoTime() + " " + reason);
        }

        /** Gives the role up, as an application calls {@code Context.yield()}. */
        void yieldRole() {
            Context c = granted;
            journal.add(instance, "yielding", c == null ? -1 : token(c), "cleanup " + System.nanoTime());
            if (c != null) {
                c.yield();
            }
        }

        private static long token(Context c) {
            return c instanceof BatonContext b ? b.token() : -1;
        }
    }
}
