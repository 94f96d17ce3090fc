package dev.baton.spring;

import java.util.function.Supplier;
import org.springframework.context.SmartLifecycle;

/**
 * A {@link SmartLifecycle} that starts and stops something found only when needed, typically a
 * message listener container that its registry creates after the beans: returned by a
 * {@code @ConditionalOnLeader @Bean} method, it makes that container leader-only (started on
 * grant, stopped on revoke). Declare the listener with {@code autoStartup = "false"} so that
 * nothing else starts it:
 *
 * <pre>{@code
 * @KafkaListener(id = "orders", topics = "orders", autoStartup = "false")
 * void on(Order order) { ... }
 *
 * @Bean
 * @ConditionalOnLeader
 * ContainerLifecycle ordersOnLeaderOnly(KafkaListenerEndpointRegistry registry) {
 *     return ContainerLifecycle.of(() -> registry.getListenerContainer("orders"));
 * }
 * }</pre>
 *
 * The same holds for {@code RabbitListenerEndpointRegistry}, {@code JmsListenerEndpointRegistry}
 * and Spring Cloud AWS's SQS registry: all their containers are lifecycles.
 */
public class ContainerLifecycle implements SmartLifecycle { // not final: baton proxies it
    private final Supplier<? extends org.springframework.context.Lifecycle> target;

    /**
     * Use {@link #of(Supplier)}.
     *
     * @param target finds the lifecycle
     */
    protected ContainerLifecycle(Supplier<? extends org.springframework.context.Lifecycle> target) {
        this.target = target;
    }

    /**
     * Wraps a lifecycle looked up at each start and stop.
     *
     * @param target finds the lifecycle (for example a registry's container by id); may return null
     *     while it does not exist yet
     * @return the wrapper
     */
    public static ContainerLifecycle of(Supplier<? extends org.springframework.context.Lifecycle> target) {
        return new ContainerLifecycle(target);
    }

    @Override
    public void start() {
        org.springframework.context.Lifecycle t = target.get();
        if (t == null) {
            throw new IllegalStateException("ContainerLifecycle found no container to start: its supplier"
                + " returned null (check the listener's id)");
        }
        t.start();
    }

    @Override
    public void stop() {
        org.springframework.context.Lifecycle t = target.get();
        if (t != null) {
            t.stop();
        }
    }

    @Override
    public boolean isRunning() {
        org.springframework.context.Lifecycle t = target.get();
        return t != null && t.isRunning();
    }
}
