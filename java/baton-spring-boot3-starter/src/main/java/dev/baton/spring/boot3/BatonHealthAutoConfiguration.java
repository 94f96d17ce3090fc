package dev.baton.spring.boot3;

import dev.baton.spring.LeaderElections;
import dev.baton.spring.actuate.BatonHealth;
import dev.baton.spring.autoconfigure.BatonAutoConfiguration;
import dev.baton.spring.autoconfigure.BatonElectionFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.context.annotation.Bean;

/** The {@code baton} health indicator, with Spring Boot 3's health support on the classpath. */
@AutoConfiguration(after = BatonAutoConfiguration.class)
@ConditionalOnClass(AbstractHealthIndicator.class)
@ConditionalOnBean(LeaderElections.class)
public class BatonHealthAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonHealthAutoConfiguration() {}

    /**
     * The indicator; {@code management.health.baton.enabled=false} turns it off.
     *
     * @param elections the elections
     * @param factory the factory, for the store check
     * @return the indicator
     */
    @Bean
    @ConditionalOnMissingBean(name = "batonHealthIndicator")
    @ConditionalOnEnabledHealthIndicator("baton") // here, not on the class: its condition class may be absent
    public BatonHealthIndicator batonHealthIndicator(LeaderElections elections,
            ObjectProvider<BatonElectionFactory> factory) {
        return new BatonHealthIndicator(new BatonHealth(elections, factory.getIfAvailable()));
    }
}
