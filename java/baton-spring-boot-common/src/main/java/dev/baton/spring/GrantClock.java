package dev.baton.spring;

import dev.baton.ElectionClosedException;
import dev.baton.LeaderElection;
import dev.baton.LeadershipListener;

/**
 * When this instance learned of its current grant, on its own monotonic clock ({@link System#nanoTime()}).
 * Always at or after the store granted it, which is after every earlier leader's belief ended
 * (the single-belief invariant): what {@code minSpacing} and {@code catchUp} measure from.
 */
final class GrantClock implements LeadershipListener {
    private long token = -1; // guarded by this
    private long at; // guarded by this

    static GrantClock on(LeaderElection election) {
        GrantClock c = new GrantClock();
        try {
            election.addListener(c);
        } catch (ElectionClosedException closed) {
            // Nothing will be granted.
        }
        return c;
    }

    @Override
    public void granted(long token) {
        grantedAt(token, System.nanoTime());
    }

    /**
     * When {@code token} was granted as far as this instance knows: the first of the listener's
     * delivery and {@code now}, a call that saw the token before the listener did (both are at
     * or after the grant).
     */
    synchronized long grantedAt(long token, long now) {
        if (this.token != token) {
            this.token = token;
            this.at = now;
        }
        return at;
    }
}
