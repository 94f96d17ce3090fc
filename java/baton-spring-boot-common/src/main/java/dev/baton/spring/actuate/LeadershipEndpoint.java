package dev.baton.spring.actuate;

import dev.baton.LeaderElection;
import dev.baton.spring.LeaderElections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * The {@code leadership} actuator endpoint: each election with this instance's role and who
 * leads ({@code GET /actuator/leadership}, {@code GET /actuator/leadership/{election}}), and a
 * manual failover ({@code POST /actuator/leadership/{election}}: this instance resigns, another
 * one takes over at once, and this one sits out one ttl).
 */
@Endpoint(id = "leadership")
public class LeadershipEndpoint {
    private final LeaderElections elections;

    /**
     * Creates the endpoint.
     *
     * @param elections the application's elections
     */
    public LeadershipEndpoint(LeaderElections elections) {
        this.elections = elections;
    }

    /**
     * Every election of this instance.
     *
     * @return descriptions by election name
     */
    @ReadOperation
    public Map<String, ElectionDescriptor> elections() {
        Map<String, ElectionDescriptor> all = new LinkedHashMap<>();
        for (LeaderElection e : elections.all()) {
            all.put(e.name(), ElectionDescriptor.of(e));
        }
        return all;
    }

    /**
     * One election.
     *
     * @param election the election's name
     * @return its description, or null (404) if this instance does not take part in it
     */
    @ReadOperation
    public ElectionDescriptor election(@Selector String election) {
        return elections.find(election).map(ElectionDescriptor::of).orElse(null);
    }

    /**
     * Resigns an election: if this instance leads, it releases leadership now and another
     * instance takes over at once; this instance competes again after one ttl.
     *
     * @param election the election's name
     * @return the election's description after resigning, or null (404) if this instance does
     *     not take part in it
     */
    @WriteOperation
    public ElectionDescriptor resign(@Selector String election) {
        return elections.find(election).map(e -> {
            e.resign();
            return ElectionDescriptor.of(e);
        }).orElse(null);
    }
}
