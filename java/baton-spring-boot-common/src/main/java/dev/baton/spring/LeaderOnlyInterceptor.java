package dev.baton.spring;

import dev.baton.ElectionClosedException;
import dev.baton.LeaderElection;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.support.AopUtils;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.core.MethodClassKey;
import org.springframework.core.annotation.AnnotatedElementUtils;

/**
 * Runs a {@code @ConditionalOnLeader} method only while this instance leads its election, with
 * the grant bound to the thread as a {@link LeaderContext}; otherwise returns "skipped".
 */
final class LeaderOnlyInterceptor implements MethodInterceptor {
    private static final Log LOG = LogFactory.getLog(LeaderOnlyInterceptor.class);

    /** A method's election and how it says "skipped"; resolved once per method. */
    private record Target(String election, Object skipped, String label, Duration await, Duration minSpacing,
            boolean catchUp) {}

    private final LeaderOnlyWork work;
    private final Supplier<LeaderElections> elections;
    private final Supplier<ApplicationEventPublisher> publisher;
    private final Map<MethodClassKey, Target> targets = new ConcurrentHashMap<>();
    private final Map<MethodClassKey, LeaderElection> resolved = new ConcurrentHashMap<>();
    private final Map<LeaderElection, GrantSignal> signals = new ConcurrentHashMap<>();
    private final Map<MethodClassKey, RunSpacing> spacings = new ConcurrentHashMap<>();

    LeaderOnlyInterceptor(LeaderOnlyWork work, Supplier<LeaderElections> elections,
            Supplier<ApplicationEventPublisher> publisher) {
        this.work = work;
        this.elections = elections;
        this.publisher = publisher;
    }

    @Override
    public Object invoke(MethodInvocation invocation) throws Throwable {
        Class<?> targetClass = invocation.getThis() != null
            ? AopUtils.getTargetClass(invocation.getThis()) : invocation.getMethod().getDeclaringClass();
        MethodClassKey key = new MethodClassKey(invocation.getMethod(), targetClass);
        Target target = targets.computeIfAbsent(key, k -> resolve(invocation.getMethod(), targetClass));
        if (elections == null) { // baton.enabled=false: every instance runs, with token 0
            LeaderContext context = LeaderContext.enter(null);
            context.arm(0);
            try {
                return invocation.proceed();
            } finally {
                context.exit();
            }
        }
        if (!work.isAccepting()) {
            // Stopping: leadership is being released; no election is looked up or built now.
            if (LOG.isDebugEnabled()) {
                LOG.debug("Skipped " + target.label() + ": the application is stopping");
            }
            return target.skipped();
        }
        LeaderElection election = resolved.computeIfAbsent(key, k -> elections.get().get(target.election()));
        if (!target.await().isZero() && tokenOf(election).isEmpty()) {
            // Before the context is registered: a waiting call must not hold up shutdown.
            signals.computeIfAbsent(election, GrantSignal::on).await(election, target.await(), work);
        }
        LeaderContext context = LeaderContext.enter(election);
        work.started(context);
        try {
            OptionalLong token = tokenOf(election);
            if (token.isEmpty()) {
                if (target.catchUp() && invocation instanceof ProxyMethodInvocation p) {
                    work.catchUp().skipped(key, election, p.getProxy(), invocation.getMethod(), invocation.getArguments());
                }
                return skip(invocation, target, election, "this instance does not lead");
            }
            if (work.isHandingOver(election)) {
                return skip(invocation, target, election, "leadership is being handed over on request");
            }
            if (!target.minSpacing().isZero()) {
                long now = System.nanoTime();
                long grantedAt = work.clock(election).grantedAt(token.getAsLong(), now);
                String tooSoon = spacings.computeIfAbsent(key, k -> new RunSpacing(target.minSpacing()))
                    .claim(grantedAt, now);
                if (tooSoon != null) {
                    return skip(invocation, target, election, tooSoon);
                }
            }
            context.arm(token.getAsLong());
            // Armed first, checked again: a revocation that raced with the first check either
            // fails this check or finds the context armed and interrupts it.
            if (!context.isLeader()) {
                return skip(invocation, target, election, "leadership ended as the method started");
            }
            return invocation.proceed();
        } finally {
            context.exit();
            work.finished(context);
        }
    }

    private static OptionalLong tokenOf(LeaderElection election) {
        try {
            return election.fencingToken();
        } catch (ElectionClosedException e) {
            return OptionalLong.empty();
        }
    }

    private Object skip(MethodInvocation invocation, Target target, LeaderElection election, String why) {
        if (LOG.isDebugEnabled()) {
            LOG.debug("Skipped " + target.label() + ": " + why + " (election '" + election.name() + "')");
        }
        ApplicationEventPublisher p = publisher.get();
        if (p != null) {
            Object bean = invocation.getThis() != null ? invocation.getThis() : invocation.getMethod();
            p.publishEvent(new LeaderOnlyInvocationSkippedEvent(bean, invocation.getMethod(), election));
        }
        return target.skipped();
    }

    private static Target resolve(Method method, Class<?> targetClass) {
        Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
        ConditionalOnLeader a = AnnotatedElementUtils.findMergedAnnotation(specific, ConditionalOnLeader.class);
        if (a == null) {
            a = AnnotatedElementUtils.findMergedAnnotation(method, ConditionalOnLeader.class);
        }
        if (a == null) { // a class-level annotation
            a = AnnotatedElementUtils.findMergedAnnotation(targetClass, ConditionalOnLeader.class);
        }
        String election = a == null ? "" : a.value();
        Object skipped = Optional.class.equals(method.getReturnType()) ? Optional.empty() : null;
        return new Target(election, skipped, targetClass.getSimpleName() + "." + method.getName() + "()",
            awaitOf(a), minSpacingOf(a), a != null && a.catchUp());
    }

    /**
     * The annotation's {@code awaitLeadership} as a duration.
     *
     * @throws IllegalArgumentException naming the attribute, the value and the format
     */
    static Duration awaitOf(ConditionalOnLeader a) {
        return durationOf("awaitLeadership", a == null ? "" : a.awaitLeadership(), "skip at once");
    }

    /**
     * The annotation's {@code minSpacing} as a duration.
     *
     * @throws IllegalArgumentException naming the attribute, the value and the format
     */
    static Duration minSpacingOf(ConditionalOnLeader a) {
        return durationOf("minSpacing", a == null ? "" : a.minSpacing(), "space nothing");
    }

    private static Duration durationOf(String attribute, String value, String emptyMeans) {
        String s = value.trim();
        if (s.isEmpty()) {
            return Duration.ZERO;
        }
        try {
            Duration d = DurationStyle.detectAndParse(s);
            if (d.isNegative()) {
                throw new IllegalArgumentException("negative");
            }
            return d;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("@ConditionalOnLeader(" + attribute + " = \"" + s + "\") is not a"
                + " duration; use a value such as \"2s\" or \"500ms\", or leave it empty to " + emptyMeans, e);
        }
    }
}
