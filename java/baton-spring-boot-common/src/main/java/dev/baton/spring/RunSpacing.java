package dev.baton.spring;

import java.time.Duration;

/**
 * {@code @ConditionalOnLeader(minSpacing = ...)} of one method and election: a run starts only
 * {@code minSpacing} after this instance's grant and after its own previous run, both on this
 * instance's monotonic clock.
 *
 * <p>Why that spaces runs across the fleet without comparing clocks: a run starts while its
 * instance believes it leads; under the single-belief invariant an earlier leader's belief ended
 * before the store granted the lease to this instance, and this instance learns of its grant
 * after that. So the earlier leader's last run started before this instance's grant time, and
 * waiting {@code minSpacing} from it on any clock that runs at the right rate (baton's drift
 * assumption) leaves at least {@code minSpacing} of real time between the two starts. Runs on one
 * instance are spaced by the same clock.
 */
final class RunSpacing {
    private final long spacing;
    private boolean ran; // guarded by this
    private long lastRun; // guarded by this

    RunSpacing(Duration spacing) {
        this.spacing = spacing.toNanos();
    }

    /**
     * Claims a run at {@code now}, or says why it must be skipped.
     *
     * @param grantedAt when this instance learned of the grant the run would run under
     * @return null if the run may start (recorded as started), else the reason to skip
     */
    synchronized String claim(long grantedAt, long now) {
        if (now - grantedAt < spacing) {
            return "minSpacing has not passed since this instance was granted leadership"
                + " (the previous leader may have run it just before)";
        }
        if (ran && now - lastRun < spacing) {
            return "minSpacing has not passed since the previous run";
        }
        ran = true;
        lastRun = now;
        return null;
    }
}
