package dev.baton.spring;

import dev.baton.ElectionClosedException;
import dev.baton.LeaderElection;
import dev.baton.LeadershipListener;
import java.time.Duration;

/** Wakes calls waiting for a grant ({@code awaitLeadership}); one listener per election. */
final class GrantSignal implements LeadershipListener {
    static GrantSignal on(LeaderElection election) {
        GrantSignal s = new GrantSignal();
        try {
            election.addListener(s);
        } catch (ElectionClosedException closed) {
            // Nothing to wait for: await() sees a closed election lead nothing.
        }
        return s;
    }

    @Override
    public synchronized void granted(long token) {
        notifyAll();
    }

    /** Waits until {@code election} leads, at most {@code timeout}, or the application stops. */
    synchronized void await(LeaderElection election, Duration timeout, LeaderOnlyWork work) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (!election.isLeader() && work.isAccepting()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                wait(Math.max(1, left / 1_000_000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
