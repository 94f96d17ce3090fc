package dev.baton.spring.boot4;

import dev.baton.spring.actuate.BatonHealth;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/** The {@code baton} health indicator on Spring Boot 4; see {@link BatonHealth}. */
public class BatonHealthIndicator extends AbstractHealthIndicator {
    private final BatonHealth check;

    /**
     * Creates the indicator.
     *
     * @param check the check
     */
    public BatonHealthIndicator(BatonHealth check) {
        super("baton health check failed");
        this.check = check;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        BatonHealth.Result r = check.check();
        (r.up() ? builder.up() : builder.down()).withDetails(r.details());
    }
}
