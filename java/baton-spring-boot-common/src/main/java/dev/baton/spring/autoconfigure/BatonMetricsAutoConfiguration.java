package dev.baton.spring.autoconfigure;

import dev.baton.spring.LeaderElections;
import dev.baton.spring.metrics.BatonMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/** Micrometer meters for baton, when the application has a {@link MeterRegistry}. */
@AutoConfiguration(after = BatonAutoConfiguration.class, afterName = {
    "org.springframework.boot.actuate.autoconfigure.metrics.MetricsAutoConfiguration",
    "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
    "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
    "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration"})
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean({MeterRegistry.class, LeaderElections.class})
public class BatonMetricsAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonMetricsAutoConfiguration() {}

    /**
     * The meters.
     *
     * @param registry the meter registry
     * @param elections the elections
     * @return the meters' owner
     */
    @Bean
    @ConditionalOnMissingBean
    public BatonMetrics batonMetrics(MeterRegistry registry, LeaderElections elections) {
        return new BatonMetrics(registry, elections);
    }
}
