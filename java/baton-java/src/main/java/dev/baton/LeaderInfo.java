package dev.baton;

import java.time.Duration;
import java.time.Instant;

/**
 * Who leads an election, as last seen in the store.
 *
 * @param candidateId the leader's candidate id ({@code host:pid:nonce}), unique per process
 *     incarnation and election handle
 * @param host the leader's host name
 * @param pid the leader's process id
 * @param token the fencing token of the leader's grant
 * @param since when the store granted the lease (store clock, millisecond precision)
 * @param leaseRemaining lease time left, extrapolated from the last observation
 */
public record LeaderInfo(
        String candidateId, String host, long pid, long token, Instant since, Duration leaseRemaining) {}
