package dev.baton.spring.autoconfigure;

import dev.baton.LeaderElection;

/**
 * Adjusts the builder of every election baton's auto-configuration builds, after the
 * {@code baton.*} properties were applied; for example to add a listener or wait for replicas.
 */
@FunctionalInterface
public interface LeaderElectionCustomizer {
    /**
     * Customizes one election's builder.
     *
     * @param electionName the election's name
     * @param builder the builder, with the properties applied
     */
    void customize(String electionName, LeaderElection.Builder builder);
}
