package dev.baton.spring.actuate;

import dev.baton.ElectionClosedException;
import dev.baton.LeaderElection;
import dev.baton.LeaderInfo;
import java.util.OptionalLong;

/**
 * One election as the actuator shows it.
 *
 * @param election the election's name
 * @param candidateId this instance's candidate id
 * @param role {@code leader}, {@code follower}, {@code connecting} (started without its store,
 *     {@code baton.connect-in-background}) or {@code closed}
 * @param token this instance's fencing token while it leads, else null
 * @param leader who leads as last seen in the store, or null if nobody does
 */
public record ElectionDescriptor(String election, String candidateId, String role, Long token, Leader leader) {
    /**
     * The leader of an election.
     *
     * @param candidateId its candidate id ({@code host:pid:nonce})
     * @param host its host name
     * @param pid its process id
     * @param token the fencing token of its grant
     * @param since when it was granted leadership (ISO-8601, store clock)
     * @param leaseRemainingMillis lease time left when last observed, in milliseconds
     */
    public record Leader(String candidateId, String host, long pid, long token, String since,
            long leaseRemainingMillis) {
        static Leader of(LeaderInfo info) {
            return new Leader(info.candidateId(), info.host(), info.pid(), info.token(),
                info.since().toString(), info.leaseRemaining().toMillis());
        }
    }

    /**
     * Describes an election as it stands now; no store round trip.
     *
     * @param e the election
     * @return the description
     */
    public static ElectionDescriptor of(LeaderElection e) {
        if (!e.isClosed() && !e.isConnected()) {
            return new ElectionDescriptor(e.name(), e.candidateId(), "connecting", null, null);
        }
        try {
            OptionalLong token = e.fencingToken();
            Leader leader = e.leader().map(Leader::of).orElse(null);
            return new ElectionDescriptor(e.name(), e.candidateId(), token.isPresent() ? "leader" : "follower",
                token.isPresent() ? token.getAsLong() : null, leader);
        } catch (ElectionClosedException closed) {
            return new ElectionDescriptor(e.name(), e.candidateId(), "closed", null, null);
        }
    }
}
