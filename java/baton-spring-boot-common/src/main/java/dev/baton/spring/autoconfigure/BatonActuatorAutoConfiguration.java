package dev.baton.spring.autoconfigure;

import dev.baton.spring.LeaderElections;
import dev.baton.spring.actuate.LeadershipEndpoint;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Actuator support, when Spring Boot Actuator is on the classpath: the {@code leadership}
 * endpoint. The {@code baton} health indicator is each starter's (the health classes moved in
 * Boot 4).
 */
@AutoConfiguration(after = BatonAutoConfiguration.class)
@ConditionalOnClass(name = "org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint")
@ConditionalOnBean(LeaderElections.class)
public class BatonActuatorAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonActuatorAutoConfiguration() {}

    /** The endpoint, when enabled and exposed. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnAvailableEndpoint(endpoint = LeadershipEndpoint.class) // "value" is 3.4+
    static class Endpoint {
        @Bean
        @ConditionalOnMissingBean
        LeadershipEndpoint leadershipEndpoint(LeaderElections elections) {
            return new LeadershipEndpoint(elections);
        }
    }
}
