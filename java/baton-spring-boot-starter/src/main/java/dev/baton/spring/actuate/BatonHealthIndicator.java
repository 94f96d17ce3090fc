package dev.baton.spring.actuate;

import dev.baton.BatonException;
import dev.baton.LeaderElection;
import dev.baton.spring.LeaderElections;
import dev.baton.spring.autoconfigure.BatonElectionFactory;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * Health of baton: down when the store cannot be reached (one read of a lease, over the shared
 * connection); the details show each election with this instance's role and who leads. A
 * follower is healthy: not leading is the normal state of most instances.
 */
public class BatonHealthIndicator extends AbstractHealthIndicator {
    private final LeaderElections elections;
    private final BatonElectionFactory factory;

    /**
     * Creates the indicator.
     *
     * @param elections the application's elections
     * @param factory the election factory, for the store check; may be null
     */
    public BatonHealthIndicator(LeaderElections elections, BatonElectionFactory factory) {
        super("baton health check failed");
        this.elections = elections;
        this.factory = factory;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        Collection<LeaderElection> all = elections.all();
        Map<String, ElectionDescriptor> details = new LinkedHashMap<>();
        for (LeaderElection e : all) {
            details.put(e.name(), ElectionDescriptor.of(e));
        }
        builder.up();
        if (factory != null && !all.isEmpty()) {
            builder.withDetail("store", factory.storeDescription());
            try {
                factory.readLeader(all.iterator().next().name());
            } catch (BatonException unreachable) {
                builder.down().withDetail("error", unreachable.getMessage());
            }
        }
        builder.withDetail("elections", details);
    }
}
