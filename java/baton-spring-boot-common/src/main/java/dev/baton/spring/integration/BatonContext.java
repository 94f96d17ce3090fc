package dev.baton.spring.integration;

import dev.baton.ElectionClosedException;
import dev.baton.LeaderElection;
import dev.baton.RevokeReason;
import java.util.Optional;
import java.util.OptionalLong;
import org.springframework.integration.leader.Context;

/**
 * Spring Integration's leadership {@link Context} for one grant of a baton election: passed to
 * {@code Candidate} beans and carried by {@code OnGrantedEvent}/{@code OnRevokedEvent}. Cast the
 * event's context to reach the fencing token:
 *
 * <pre>{@code
 * @EventListener
 * void granted(OnGrantedEvent e) {
 *     long token = ((BatonContext) e.getContext()).token();
 * }
 * }</pre>
 */
public final class BatonContext implements Context {
    private final LeaderElection election;
    private final String role;
    private final long token;
    private final RoleRelay relay;
    private volatile RevokeReason revokeReason;

    BatonContext(LeaderElection election, String role, long token, RoleRelay relay) {
        this.election = election;
        this.role = role;
        this.token = token;
        this.relay = relay;
    }

    /**
     * Whether this grant still leads: baton's {@link LeaderElection#isLeader()} (checked against
     * the lease deadline at every call, no store round trip), and false once a later grant
     * replaced this one.
     *
     * @return true while this grant leads
     */
    @Override
    public boolean isLeader() {
        return election.isLeader() && holdsThisGrant();
    }

    /**
     * Gives the leadership up through baton's release path: first this instance is told of the
     * revocation (the role's endpoints stop, the candidates' {@code onRevoked} and the
     * {@code OnRevokedEvent} listeners run; a {@code Candidate.onGranted} still running is
     * interrupted, unless {@code baton.interrupt-on-revoke=false}), then
     * {@link LeaderElection#resign()} deletes the lease and wakes the other instances, one of
     * which leads a few milliseconds later. This instance sits out one ttl before it competes
     * again. Does nothing when this grant no longer leads. Blocks until the store confirmed the
     * release.
     *
     * @throws dev.baton.BatonException if the store refused or could not be reached (the lease
     *     then expires on its own)
     */
    @Override
    public void yield() {
        if (!holdsThisGrant()) {
            return;
        }
        relay.yield(this);
        if (!holdsThisGrant()) {
            return;
        }
        try {
            election.resign();
        } catch (ElectionClosedException closed) {
            // Closing released the lease already.
        }
    }

    /**
     * The Spring Integration role: the election's name, or the role that
     * {@code baton.integration.roles} maps to it.
     *
     * @return the role
     */
    @Override
    public String getRole() {
        return role;
    }

    /**
     * The fencing token of this grant: pass it to the resource the role writes to, so that it can
     * refuse a leader that was replaced while paused.
     *
     * @return the token, larger than every earlier grant's of this election
     */
    public long token() {
        return token;
    }

    /**
     * The baton election behind the role.
     *
     * @return the election's name
     */
    public String electionName() {
        return election.name();
    }

    /**
     * Why this grant ended.
     *
     * @return the reason once the grant was revoked, else empty
     */
    public Optional<RevokeReason> revokeReason() {
        return Optional.ofNullable(revokeReason);
    }

    void revoked(RevokeReason reason) {
        revokeReason = reason;
    }

    private boolean holdsThisGrant() {
        OptionalLong now = election.fencingToken();
        return now.isPresent() && now.getAsLong() == token;
    }

    @Override
    public String toString() {
        return "BatonContext{role=" + role + ", election=" + election.name() + ", token=" + token
            + ", leader=" + isLeader() + "}";
    }
}
