package dev.baton.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Restricts a method, or a whole {@link org.springframework.context.Lifecycle Lifecycle} bean, to
 * the one instance of the fleet that leads an election.
 *
 * <p><b>On a method</b>, typically a {@code @Scheduled} one: an invocation runs only while this
 * instance leads, and is skipped otherwise (logged at debug, counted in the
 * {@code baton.invocations.skipped} metric). A skipped invocation returns {@code null}, or
 * {@code Optional.empty()} for a method returning {@link java.util.Optional}; a method returning
 * a primitive other than {@code void} cannot express "skipped" and is rejected at startup. While
 * the method runs, {@link LeaderContext#current()} gives the fencing token of the grant it runs
 * under; if leadership is lost meanwhile, its thread is interrupted (unless
 * {@code baton.interrupt-on-revoke=false}).
 *
 * <pre>{@code
 * @Scheduled(fixedDelay = 60_000)
 * @ConditionalOnLeader
 * public void sendNightlyReport() {
 *     reports.send(LeaderContext.currentToken());
 * }
 * }</pre>
 *
 * <p><b>On a class</b> that implements {@link org.springframework.context.Lifecycle Lifecycle} or
 * {@link org.springframework.context.SmartLifecycle SmartLifecycle}: the bean is not started with
 * the application context; it is started when this instance is granted leadership and stopped
 * when leadership is revoked. On any other class the annotation is rejected at startup.
 */
@Target({ElementType.METHOD, ElementType.TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
public @interface ConditionalOnLeader {
    /**
     * The election's name. Empty (the default) means the application's default election, named
     * by {@code baton.name}, else {@code spring.application.name}.
     *
     * @return the election name, or empty for the default election
     */
    String value() default "";

    /**
     * How long a call on an instance that does not lead waits for leadership before it is
     * skipped, as a duration such as {@code "2s"} or {@code "500ms"}; empty (the default) skips at
     * once. For a trigger that may fire while leadership changes hands (at startup, before the
     * first grant; during a graceful handover, which takes milliseconds): the call runs as soon as
     * this instance is granted. It does not help a trigger that fires while another instance leads:
     * that one runs the job. A call that waits holds its thread (a scheduler thread, for
     * {@code @Scheduled}).
     *
     * @return the longest wait, or empty for none
     */
    String awaitLeadership() default "";

    /**
     * The least time between the starts of two runs of this method anywhere in the fleet, as a
     * duration such as {@code "10m"}; empty (the default) for none. A run starts only this long
     * after this instance was granted leadership and after its own previous run; calls before
     * that are skipped. No clocks are compared: every earlier leader's last run started before
     * this instance's grant (single belief), and each instance measures on its own monotonic
     * clock (see docs/spring.md for the assumptions). A fresh leader therefore skips the triggers
     * of its first {@code minSpacing}.
     *
     * @return the least spacing, or empty for none
     */
    String minSpacing() default "";

    /**
     * Whether a trigger skipped while nobody led is run once when this instance is granted
     * leadership: before the first grant at startup, after a graceful handover's few
     * milliseconds, or while a crashed leader's lease ran out. At most one catch-up run per
     * grant, whatever the number of triggers missed; a method with arguments is run with those of
     * the first missed call. See docs/spring.md for when a trigger counts as missed (and the
     * narrow case where it may run twice). Default: false.
     *
     * @return whether to catch up
     */
    boolean catchUp() default false;
}
