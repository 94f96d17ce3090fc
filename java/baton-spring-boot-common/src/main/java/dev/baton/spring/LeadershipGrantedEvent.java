package dev.baton.spring;

import dev.baton.LeaderElection;

/**
 * This instance became leader of an election. Published once the application context is running
 * (a grant that arrived during startup is published when the context starts), after the
 * election's {@code @ConditionalOnLeader} lifecycle beans were started.
 */
public class LeadershipGrantedEvent extends LeadershipEvent {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the event.
     *
     * @param election the election
     * @param token the new grant's fencing token
     */
    public LeadershipGrantedEvent(LeaderElection election, long token) {
        super(election, token);
    }

    @Override
    public String toString() {
        return "LeadershipGrantedEvent[election=" + getElectionName() + ", token=" + getToken() + "]";
    }
}
