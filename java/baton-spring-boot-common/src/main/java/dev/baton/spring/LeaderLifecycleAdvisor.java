package dev.baton.spring;

import java.lang.reflect.Method;
import java.util.function.Predicate;
import org.aopalliance.aop.Advice;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.aop.Pointcut;
import org.springframework.aop.support.AbstractPointcutAdvisor;
import org.springframework.aop.support.StaticMethodMatcherPointcut;
import org.springframework.context.Lifecycle;

/**
 * Takes a {@code @ConditionalOnLeader} lifecycle bean out of the context's own start-up: its
 * {@code isAutoStartup()} answers false, and {@code start()} goes through only when
 * {@link BatonLifecycle} starts it on a grant (or, called by anyone else, while this instance
 * leads). {@code stop()} is untouched.
 */
final class LeaderLifecycleAdvisor extends AbstractPointcutAdvisor {
    private static final long serialVersionUID = 1L;
    private static final Log LOG = LogFactory.getLog(LeaderLifecycleAdvisor.class);
    private static final ThreadLocal<Boolean> GRANTING = new ThreadLocal<>();

    private final transient Pointcut pointcut = new StaticMethodMatcherPointcut() {
        @Override
        public boolean matches(Method method, Class<?> targetClass) {
            return method.getParameterCount() == 0
                && (method.getName().equals("start") || method.getName().equals("isAutoStartup"));
        }
    };
    private final transient Advice advice;

    /** @param leads whether this instance leads the bean's election (one advisor per bean) */
    LeaderLifecycleAdvisor(Predicate<Object> leads) {
        this.advice = (MethodInterceptor) invocation -> intercept(invocation, leads);
    }

    /** Runs {@code start} as a grant's start, which the advice lets through. */
    static void startOnGrant(Lifecycle bean) {
        GRANTING.set(Boolean.TRUE);
        try {
            bean.start();
        } finally {
            GRANTING.remove();
        }
    }

    private static Object intercept(MethodInvocation invocation, Predicate<Object> leads) throws Throwable {
        if (invocation.getMethod().getName().equals("isAutoStartup")) {
            return Boolean.FALSE;
        }
        if (GRANTING.get() != null || leads.test(invocation.getThis())) {
            return invocation.proceed();
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug("Not starting " + invocation.getThis() + ": it is @ConditionalOnLeader and this"
                + " instance does not lead; baton starts it when leadership is granted");
        }
        return null;
    }

    @Override
    public Pointcut getPointcut() {
        return pointcut;
    }

    @Override
    public Advice getAdvice() {
        return advice;
    }
}
