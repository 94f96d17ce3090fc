package dev.baton.spring;

import dev.baton.LeaderElection;
import org.springframework.context.ApplicationEvent;

/**
 * A change of this instance's leadership in one election, published to the application context
 * on baton's event thread for that election (never on the thread that renews leases).
 */
public abstract class LeadershipEvent extends ApplicationEvent {
    private static final long serialVersionUID = 1L;

    /** @serial the grant's fencing token */
    private final long token;

    /**
     * Creates the event.
     *
     * @param election the election
     * @param token the grant's fencing token
     */
    protected LeadershipEvent(LeaderElection election, long token) {
        super(election);
        this.token = token;
    }

    /**
     * The election.
     *
     * @return the election the event is about
     */
    public LeaderElection getElection() {
        return (LeaderElection) getSource();
    }

    /**
     * The election's name.
     *
     * @return the name
     */
    public String getElectionName() {
        return getElection().name();
    }

    /**
     * The fencing token of the grant that began or ended.
     *
     * @return the token
     */
    public long getToken() {
        return token;
    }
}
