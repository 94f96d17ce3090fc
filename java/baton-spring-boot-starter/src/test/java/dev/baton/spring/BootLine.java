package dev.baton.spring;

import dev.baton.spring.autoconfigure.BatonAutoConfiguration;
import dev.baton.spring.autoconfigure.BatonDisabledAutoConfiguration;
import dev.baton.spring.boot4.BatonDataRedisAutoConfiguration;
import dev.baton.spring.boot4.BatonHealthAutoConfiguration;
import dev.baton.spring.boot4.BatonHealthIndicator;
import java.util.Map;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.context.ApplicationContext;

/** What the shared tests need of Spring Boot 4: the classes that moved since Boot 3. */
public final class BootLine {
    private BootLine() {}

    /** baton's auto-configuration as this starter registers it. */
    public static AutoConfigurations baton() {
        return AutoConfigurations.of(BatonAutoConfiguration.class, BatonDisabledAutoConfiguration.class, BatonDataRedisAutoConfiguration.class);
    }

    /** Spring Data Redis's auto-configuration. */
    public static AutoConfigurations springDataRedis() {
        return AutoConfigurations.of(DataRedisAutoConfiguration.class);
    }

    /** The actuator's health and endpoint support, with baton's health indicator. */
    public static AutoConfigurations health() {
        return AutoConfigurations.of(HealthContributorAutoConfiguration.class, EndpointAutoConfiguration.class,
            BatonHealthAutoConfiguration.class);
    }

    /** baton's health auto-configuration alone. */
    public static AutoConfigurations batonHealth() {
        return AutoConfigurations.of(BatonHealthAutoConfiguration.class);
    }

    /** The health indicator's class. */
    public static Class<?> healthIndicator() {
        return BatonHealthIndicator.class;
    }

    /** One health check: its status code and details. */
    public record Checked(String status, Map<String, Object> details) {}

    /** Runs baton's health check. */
    public static Checked checkHealth(ApplicationContext context) {
        Health h = context.getBean(BatonHealthIndicator.class).health();
        return new Checked(h.getStatus().getCode(), h.getDetails());
    }
}
