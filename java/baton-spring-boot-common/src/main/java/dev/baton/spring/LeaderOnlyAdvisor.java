package dev.baton.spring;

import org.aopalliance.aop.Advice;
import org.springframework.aop.Pointcut;
import org.springframework.aop.support.AbstractPointcutAdvisor;
import java.lang.reflect.Method;
import org.springframework.aop.support.StaticMethodMatcherPointcut;

/** Applies {@link LeaderOnlyInterceptor} to the methods {@link LeaderOnlyMethods} says are leader-only. */
final class LeaderOnlyAdvisor extends AbstractPointcutAdvisor {
    private static final long serialVersionUID = 1L;

    private final transient Pointcut pointcut = new StaticMethodMatcherPointcut() {
        @Override
        public boolean matches(Method method, Class<?> targetClass) {
            return LeaderOnlyMethods.guarded(method, targetClass);
        }
    };
    private final transient Advice advice;

    LeaderOnlyAdvisor(LeaderOnlyInterceptor advice) {
        this.advice = advice;
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
