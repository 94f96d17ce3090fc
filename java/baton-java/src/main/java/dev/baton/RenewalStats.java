package dev.baton;

import java.time.Duration;

/**
 * This instance's successful lease renewals of one election so far: their number and the sum of
 * their round trips (request sent to answer received). Both only grow, so the mean renewal
 * latency of any interval is the difference of two readings' totals divided by that of their
 * counts (Micrometer's {@code FunctionTimer} does exactly that).
 *
 * @param count successful renewals
 * @param total their round trips, added up
 */
public record RenewalStats(long count, Duration total) {}
