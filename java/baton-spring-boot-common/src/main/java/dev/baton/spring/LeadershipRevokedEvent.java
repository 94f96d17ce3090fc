package dev.baton.spring;

import dev.baton.LeaderElection;
import dev.baton.RevokeReason;

/**
 * This instance stopped leading an election. Published after running leader-only methods were
 * interrupted (if configured) and the election's {@code @ConditionalOnLeader} lifecycle beans
 * were stopped; {@link LeaderElection#isLeader()} is already false.
 */
public class LeadershipRevokedEvent extends LeadershipEvent {
    private static final long serialVersionUID = 1L;

    /** @serial why leadership ended */
    private final RevokeReason reason;

    /**
     * Creates the event.
     *
     * @param election the election
     * @param token the ended grant's fencing token
     * @param reason why it ended
     */
    public LeadershipRevokedEvent(LeaderElection election, long token, RevokeReason reason) {
        super(election, token);
        this.reason = reason;
    }

    /**
     * Why leadership ended.
     *
     * @return the reason
     */
    public RevokeReason getReason() {
        return reason;
    }

    @Override
    public String toString() {
        return "LeadershipRevokedEvent[election=" + getElectionName() + ", token=" + getToken()
            + ", reason=" + reason.id() + "]";
    }
}
