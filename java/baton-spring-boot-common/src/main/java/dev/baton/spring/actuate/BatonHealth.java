package dev.baton.spring.actuate;

import dev.baton.BatonException;
import dev.baton.LeaderElection;
import dev.baton.spring.LeaderElections;
import dev.baton.spring.autoconfigure.BatonElectionFactory;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What baton's health indicator reports, independent of the actuator's health classes (they
 * moved in Boot 4; each starter wraps this in its own {@code HealthIndicator}). {@code DOWN} when
 * the store cannot be reached (one lease read over baton's shared connection); the details list
 * each election with this instance's role, its token and who leads. A follower is {@code UP}; an
 * election still waiting for its store ({@code baton.connect-in-background}) is {@code DOWN}.
 */
public final class BatonHealth {
    /**
     * The result of one check.
     *
     * @param up whether the store answered
     * @param details the store, each election and, when down, the error
     */
    public record Result(boolean up, Map<String, Object> details) {}

    private final LeaderElections elections;
    private final BatonElectionFactory factory;

    /**
     * Creates the check.
     *
     * @param elections the elections to list
     * @param factory reads the store for the reachability check; null to skip it
     */
    public BatonHealth(LeaderElections elections, BatonElectionFactory factory) {
        this.elections = elections;
        this.factory = factory;
    }

    /**
     * Checks the store and lists the elections.
     *
     * @return the result
     */
    public Result check() {
        Collection<LeaderElection> all = elections.all();
        Map<String, ElectionDescriptor> described = new LinkedHashMap<>();
        for (LeaderElection e : all) {
            described.put(e.name(), ElectionDescriptor.of(e));
        }
        Map<String, Object> details = new LinkedHashMap<>();
        boolean up = true;
        if (factory != null && !all.isEmpty()) {
            details.put("store", factory.storeDescription());
            try {
                factory.readLeader(all.iterator().next().name());
            } catch (BatonException unreachable) {
                up = false;
                details.put("error", unreachable.getMessage());
            }
        }
        for (LeaderElection e : all) {
            // Started without its store (baton.connect-in-background): down until it answers.
            if (!e.isClosed() && !e.isConnected()) {
                up = false;
                e.connectFailure().ifPresent(f -> details.putIfAbsent("error", f.getMessage()));
            }
        }
        details.put("elections", described);
        return new Result(up, details);
    }
}
