package dev.baton.spring.integration;

import dev.baton.LeaderElection;
import dev.baton.spring.BatonLifecycle;
import dev.baton.spring.LeaderElections;
import dev.baton.spring.autoconfigure.BatonStartupException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.SmartLifecycle;
import org.springframework.integration.leader.Candidate;
import org.springframework.integration.leader.event.LeaderEventPublisher;
import org.springframework.integration.support.SmartLifecycleRoleController;
import org.springframework.util.StringUtils;

/**
 * baton in place of Spring Integration's leader initiator: every election publishes
 * {@code OnGrantedEvent}/{@code OnRevokedEvent} for its role (so that
 * {@link SmartLifecycleRoleController} starts and stops the role's {@code @Role} endpoints), and
 * every {@link Candidate} bean is called on its role's grants and revocations.
 *
 * <p>A role is elected under its own name unless {@code baton.integration.roles.<role>} names the
 * election. At startup every role that a {@code Candidate} bean or the role controller knows
 * gets its election, so that it campaigns without further configuration.
 *
 * <p>Shutdown: this lifecycle stops just before {@link BatonLifecycle} (phase
 * {@link #PHASE}): it revokes the roles this instance leads (endpoints stopped, candidates
 * revoked) and only then does baton release the leases, so that the next leader never runs the
 * role's endpoints while this one still does.
 */
public class LeaderEventBridge implements SmartLifecycle, SmartInitializingSingleton, DisposableBean {
    /** Stops before {@link BatonLifecycle#PHASE}, which releases the leases. */
    public static final int PHASE = BatonLifecycle.PHASE + 1;

    private final LeaderElections elections;
    private final Map<String, String> roleToElection;
    private final List<Candidate> candidates;
    private final Supplier<SmartLifecycleRoleController> roleController;
    private final LeaderEventPublisher publisher;
    private final boolean interruptOnRevoke;
    private final Duration shutdownTimeout;
    private final Map<LeaderElection, RoleRelay> relays = new ConcurrentHashMap<>();
    private volatile boolean running;

    /**
     * Creates the bridge.
     *
     * @param elections the application's elections
     * @param roleToElection {@code baton.integration.roles}: role to election name
     * @param candidates the application's {@link Candidate} beans
     * @param roleController the role controller, or a supplier of null
     * @param publisher publishes the leader events
     * @param interruptOnRevoke whether a revocation interrupts a {@code Candidate.onGranted} that still runs
     * @param shutdownTimeout how long shutdown waits for the candidates and listeners of the revocations
     */
    public LeaderEventBridge(LeaderElections elections, Map<String, String> roleToElection, List<Candidate> candidates,
            Supplier<SmartLifecycleRoleController> roleController, LeaderEventPublisher publisher,
            boolean interruptOnRevoke, Duration shutdownTimeout) {
        this.elections = elections;
        this.roleToElection = Map.copyOf(roleToElection);
        this.candidates = List.copyOf(candidates);
        this.roleController = roleController;
        this.publisher = publisher;
        this.interruptOnRevoke = interruptOnRevoke;
        this.shutdownTimeout = shutdownTimeout;
        for (Map.Entry<String, String> e : this.roleToElection.entrySet()) {
            if (!StringUtils.hasText(e.getValue())) {
                throw new BatonStartupException("baton.integration.roles." + e.getKey() + " is empty.",
                    "Name the election of role '" + e.getKey() + "' (baton.integration.roles." + e.getKey()
                        + "=nightly-" + e.getKey() + "), or remove the entry to elect the role under its own name.");
            }
        }
    }

    /**
     * The election that elects a role.
     *
     * @param role a Spring Integration role
     * @return {@code baton.integration.roles.<role>}, else the role itself
     */
    public String electionOf(String role) {
        return roleToElection.getOrDefault(role, role);
    }

    /**
     * The roles an election stands for: those that {@code baton.integration.roles} maps to it,
     * else the election's own name (unless that name is a role mapped to another election).
     *
     * @param election an election's name
     * @return the roles, possibly none
     */
    public List<String> rolesOf(String election) {
        List<String> roles = new ArrayList<>();
        for (Map.Entry<String, String> e : roleToElection.entrySet()) {
            if (e.getValue().equals(election)) {
                roles.add(e.getKey());
            }
        }
        if (roles.isEmpty() && !roleToElection.containsKey(election)) {
            roles.add(election);
        }
        return roles;
    }

    /** Builds the roles' elections, so that they campaign from startup, and follows every election. */
    @Override
    public void afterSingletonsInstantiated() {
        Set<String> roles = new LinkedHashSet<>();
        for (Candidate c : candidates) {
            roles.add(c.getRole());
        }
        SmartLifecycleRoleController controller = roleController.get();
        if (controller != null) {
            roles.addAll(controller.getRoles());
        }
        for (String role : roles) {
            String name = electionOf(role);
            try {
                elections.get(name);
            } catch (BatonStartupException e) {
                throw new BatonStartupException("Spring Integration role '" + role + "' is elected as '" + name
                    + "': " + e.getDescription(), e.getAction() + " To elect the role under another name, set"
                    + " baton.integration.roles." + role + "=<election name>.", e);
            }
        }
        elections.observe(e -> relays.computeIfAbsent(e, this::attach));
    }

    private RoleRelay attach(LeaderElection election) {
        List<String> roles = rolesOf(election.name());
        if (roles.isEmpty()) {
            return null;
        }
        List<Candidate> mine = candidates.stream().filter(c -> roles.contains(c.getRole())).toList();
        RoleRelay relay = new RoleRelay(election, roles, mine, publisher, this, interruptOnRevoke, shutdownTimeout);
        if (!election.isClosed()) {
            election.addListener(relay);
        }
        if (running) {
            relay.start();
        }
        return relay;
    }

    @Override
    public void start() {
        running = true;
        for (RoleRelay r : relays.values()) {
            r.start();
        }
    }

    @Override
    public void stop() {
        running = false;
        Map<RoleRelay, Future<?>> stopping = new LinkedHashMap<>();
        for (RoleRelay r : relays.values()) {
            stopping.put(r, r.stop());
        }
        long deadline = System.nanoTime() + shutdownTimeout.toNanos();
        stopping.forEach((r, done) -> r.awaitStopped(done, deadline));
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    @Override
    public void destroy() {
        for (RoleRelay r : relays.values()) {
            r.close();
        }
    }

    @Override
    public String toString() {
        return "baton (Spring Integration leader events)";
    }
}
