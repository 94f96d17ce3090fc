package dev.baton.spring;

import dev.baton.ElectionClosedException;
import dev.baton.LeaderElection;
import dev.baton.RevokeReason;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The grant a running {@link ConditionalOnLeader @ConditionalOnLeader} method runs under, bound to
 * the method's thread for the duration of the call.
 *
 * <pre>{@code
 * @Scheduled(fixedDelay = 10_000)
 * @ConditionalOnLeader
 * public void sweep() {
 *     long token = LeaderContext.currentToken();
 *     queue.sweep(token); // the queue refuses tokens smaller than one it has seen
 * }
 * }</pre>
 *
 * <p>Pass {@link #fencingToken()} to the resource the method writes to: tokens of one election
 * strictly increase across grants, so the resource can refuse a leader that was replaced while
 * it was paused. The token stays readable after leadership was lost (for example in the
 * {@code catch (InterruptedException e)} of an interrupted method), together with
 * {@link #revokeReason()}.
 */
public final class LeaderContext {
    private static final ThreadLocal<LeaderContext> CURRENT = new ThreadLocal<>();
    private static final long UNARMED = -1;

    private final LeaderElection election;
    private final Thread thread;
    private final LeaderContext previous;
    // Guarded by this: the token is armed, the interrupt decided and the exit recorded atomically,
    // so that an interrupt never lands on the thread after the method returned.
    private long token = UNARMED;
    private boolean active = true;
    private boolean interrupted;
    private volatile RevokeReason revokeReason;

    private LeaderContext(LeaderElection election, Thread thread, LeaderContext previous) {
        this.election = election;
        this.thread = thread;
        this.previous = previous;
    }

    /**
     * The grant of the innermost leader-only method running on this thread.
     *
     * @return the context, or empty outside a {@code @ConditionalOnLeader} method
     */
    public static Optional<LeaderContext> current() {
        LeaderContext c = CURRENT.get();
        return c != null && c.isArmed() ? Optional.of(c) : Optional.empty();
    }

    /**
     * The fencing token of the grant the calling leader-only method runs under.
     *
     * @return the token
     * @throws IllegalStateException outside a {@code @ConditionalOnLeader} method
     */
    public static long currentToken() {
        return current().orElseThrow(() -> new IllegalStateException(
            "LeaderContext.currentToken() was called outside a @ConditionalOnLeader method; call it"
                + " from the method itself (on its thread), or use LeaderElection.fencingToken()"))
            .fencingToken();
    }

    /**
     * The election's name.
     *
     * @return the name
     */
    public String electionName() {
        return election == null ? "" : election.name();
    }

    /**
     * The election the method runs under.
     *
     * @return the election; null with {@code baton.enabled=false} (token 0, no election)
     */
    public LeaderElection election() {
        return election;
    }

    /**
     * The fencing token of the grant the method started under; it does not change while the
     * method runs, even if leadership is lost meanwhile.
     *
     * @return the token
     */
    public synchronized long fencingToken() {
        return token;
    }

    /**
     * Whether the grant the method started under still holds (no store round trip): false once
     * leadership was lost, also if it was regained since with a new token.
     *
     * @return true while this grant leads
     */
    public boolean isLeader() {
        if (revokeReason != null) {
            return false;
        }
        if (election == null) {
            return true; // baton.enabled=false: every instance runs
        }
        try {
            OptionalLong now = election.fencingToken();
            return now.isPresent() && now.getAsLong() == fencingToken();
        } catch (ElectionClosedException e) {
            return false;
        }
    }

    /**
     * Why the grant ended, if it ended while the method ran.
     *
     * @return the reason, or empty while the grant holds
     */
    public Optional<RevokeReason> revokeReason() {
        return Optional.ofNullable(revokeReason);
    }

    @Override
    public String toString() {
        return "LeaderContext[election=" + electionName() + ", token=" + fencingToken()
            + (revokeReason != null ? ", revoked=" + revokeReason.id() : "") + "]";
    }

    /** Binds a new, not yet armed context to the calling thread. */
    static LeaderContext enter(LeaderElection election) {
        LeaderContext c = new LeaderContext(election, Thread.currentThread(), CURRENT.get());
        CURRENT.set(c);
        return c;
    }

    /** Records the grant the method runs under; from now on a revocation interrupts it. */
    synchronized void arm(long grantToken) {
        this.token = grantToken;
    }

    synchronized boolean isArmed() {
        return token != UNARMED;
    }

    /**
     * The grant {@code revokedToken} ended: marks this context and interrupts its thread if it
     * runs under that grant (or an older one).
     *
     * @return whether this call interrupted the thread
     */
    synchronized boolean revoke(long revokedToken, RevokeReason reason, boolean interrupt) {
        if (!active || token == UNARMED || token > revokedToken) {
            return false;
        }
        revokeReason = reason;
        if (interrupt && !interrupted) {
            interrupted = true;
            thread.interrupt();
            return true;
        }
        return false;
    }

    /** Unbinds this context; clears an interrupt baton delivered, so a pooled thread starts clean. */
    void exit() {
        boolean clear;
        synchronized (this) {
            active = false;
            clear = interrupted;
        }
        if (clear) {
            Thread.interrupted();
        }
        if (previous != null) {
            CURRENT.set(previous);
        } else {
            CURRENT.remove();
        }
    }
}
