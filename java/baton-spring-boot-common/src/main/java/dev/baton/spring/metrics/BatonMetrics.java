package dev.baton.spring.metrics;

import dev.baton.ElectionClosedException;
import dev.baton.LeaderElection;
import dev.baton.RevokeReason;
import dev.baton.spring.LeaderElections;
import dev.baton.spring.LeaderOnlyInvocationSkippedEvent;
import dev.baton.spring.LeadershipGrantedEvent;
import dev.baton.spring.LeadershipRevokedEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;

/**
 * baton's Micrometer meters, each tagged with {@code election}:
 * <ul>
 *   <li>{@code baton.leader} (gauge): 1 while this instance leads, else 0;</li>
 *   <li>{@code baton.grants} (counter): leadership grants to this instance;</li>
 *   <li>{@code baton.revocations} (counter, tag {@code reason}: resigned, closed, lease_lost,
 *       lease_expired, store_unreachable): ends of this instance's leadership;</li>
 *   <li>{@code baton.invocations.skipped} (counter, tag {@code method}): leader-only invocations
 *       skipped because this instance did not lead;</li>
 *   <li>{@code baton.renewal.latency} (function timer): this instance's successful lease
 *       renewals and their round trips, while it leads;</li>
 *   <li>{@code baton.subscription.failures} (function counter): failed subscriptions to the
 *       store's release notifications; while they fail, a graceful handover waits for expiry.</li>
 * </ul>
 */
public class BatonMetrics implements ApplicationListener<ApplicationEvent>, SmartInitializingSingleton {
    private final MeterRegistry registry;
    private final LeaderElections elections;

    /**
     * Creates the meters' owner.
     *
     * @param registry where to register the meters
     * @param elections the elections to observe
     */
    public BatonMetrics(MeterRegistry registry, LeaderElections elections) {
        this.registry = registry;
        this.elections = elections;
    }

    @Override
    public void afterSingletonsInstantiated() {
        elections.observe(e -> {
            Gauge.builder("baton.leader", e, BatonMetrics::leading)
                .tag("election", e.name())
                .description("1 while this instance leads the election, else 0")
                .register(registry);
            // At 0 from the start: a dashboard or alert sees the series before the first event.
            FunctionTimer.builder("baton.renewal.latency", e, x -> x.renewalStats().count(),
                    x -> x.renewalStats().total().toNanos(), TimeUnit.NANOSECONDS)
                .tag("election", e.name())
                .description("Round trips of this instance's successful lease renewals")
                .register(registry);
            FunctionCounter.builder("baton.subscription.failures", e, LeaderElection::subscriptionFailures)
                .tag("election", e.name())
                .description("Failed subscriptions to release notifications (handover then waits for expiry)")
                .register(registry);
            grants(e.name());
            for (RevokeReason reason : RevokeReason.values()) {
                revocations(e.name(), reason.id());
            }
        });
    }

    private Counter grants(String election) {
        return Counter.builder("baton.grants").tag("election", election)
            .description("Leadership grants to this instance").register(registry);
    }

    private Counter revocations(String election, String reason) {
        return Counter.builder("baton.revocations").tag("election", election).tag("reason", reason)
            .description("Ends of this instance's leadership, by reason").register(registry);
    }

    private static double leading(LeaderElection e) {
        try {
            return e.isLeader() ? 1 : 0;
        } catch (ElectionClosedException closed) {
            return 0;
        }
    }

    @Override
    public void onApplicationEvent(ApplicationEvent event) {
        if (event instanceof LeadershipGrantedEvent g) {
            grants(g.getElectionName()).increment();
        } else if (event instanceof LeadershipRevokedEvent r) {
            revocations(r.getElectionName(), r.getReason().id()).increment();
        } else if (event instanceof LeaderOnlyInvocationSkippedEvent s) {
            Counter.builder("baton.invocations.skipped").tag("election", s.getElectionName())
                .tag("method", s.getMethod().getDeclaringClass().getSimpleName() + "." + s.getMethod().getName())
                .description("Leader-only invocations skipped because this instance did not lead")
                .register(registry).increment();
        }
    }
}
