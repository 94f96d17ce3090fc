package dev.baton.spring.autoconfigure;

import dev.baton.spring.LeaderElections;
import dev.baton.spring.actuate.BatonHealthIndicator;
import dev.baton.spring.actuate.LeadershipEndpoint;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Actuator support, when Spring Boot Actuator is on the classpath: the {@code baton} health
 * indicator and the {@code leadership} endpoint.
 */
@AutoConfiguration(after = BatonAutoConfiguration.class)
@ConditionalOnClass(name = "org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint")
@ConditionalOnBean(LeaderElections.class)
public class BatonActuatorAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonActuatorAutoConfiguration() {}

    /** The health indicator; {@code management.health.baton.enabled=false} turns it off. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnEnabledHealthIndicator("baton")
    static class Health {
        @Bean
        @ConditionalOnMissingBean(name = "batonHealthIndicator")
        BatonHealthIndicator batonHealthIndicator(LeaderElections elections,
                ObjectProvider<BatonElectionFactory> factory) {
            return new BatonHealthIndicator(elections, factory.getIfAvailable());
        }
    }

    /** The endpoint; expose it with {@code management.endpoints.web.exposure.include=leadership}. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnAvailableEndpoint(LeadershipEndpoint.class)
    static class Endpoint {
        @Bean
        @ConditionalOnMissingBean
        LeadershipEndpoint leadershipEndpoint(LeaderElections elections) {
            return new LeadershipEndpoint(elections);
        }
    }
}
