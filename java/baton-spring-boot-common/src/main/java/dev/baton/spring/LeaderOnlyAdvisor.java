package dev.baton.spring;

import org.aopalliance.aop.Advice;
import org.springframework.aop.Pointcut;
import org.springframework.aop.support.AbstractPointcutAdvisor;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;

/** Applies {@link LeaderOnlyInterceptor} to methods annotated {@code @ConditionalOnLeader}. */
final class LeaderOnlyAdvisor extends AbstractPointcutAdvisor {
    private static final long serialVersionUID = 1L;

    private final transient Pointcut pointcut =
        new AnnotationMatchingPointcut(null, ConditionalOnLeader.class, true);
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
