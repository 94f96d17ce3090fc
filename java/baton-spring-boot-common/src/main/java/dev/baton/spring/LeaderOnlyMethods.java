package dev.baton.spring;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.Set;
import org.springframework.aop.support.AopUtils;
import org.springframework.context.Lifecycle;
import org.springframework.context.Phased;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.AnnotatedElementUtils;

/**
 * Which methods {@code @ConditionalOnLeader} guards: those annotated (directly or through a
 * composed annotation), and, when the class is annotated, its public methods, the way
 * {@code @Transactional} reaches them. Never {@code @Bean} methods, {@code Object}'s methods or
 * a lifecycle's own methods (baton starts and stops those on grant and revoke).
 */
final class LeaderOnlyMethods {
    private static final Set<String> OBJECT_METHODS = Set.of("equals", "hashCode", "toString");
    private static final List<Class<?>> LIFECYCLE_TYPES = List.of(Lifecycle.class, SmartLifecycle.class, Phased.class);

    private LeaderOnlyMethods() {}

    /** Whether the annotation sits on the method itself (or an annotation on it). */
    static boolean annotated(Method method, Class<?> targetClass) {
        Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
        return AnnotatedElementUtils.hasAnnotation(specific, ConditionalOnLeader.class)
            || AnnotatedElementUtils.hasAnnotation(method, ConditionalOnLeader.class);
    }

    /** Whether the class carries the annotation. */
    static boolean classLevel(Class<?> targetClass) {
        return AnnotatedElementUtils.hasAnnotation(targetClass, ConditionalOnLeader.class);
    }

    /** Whether a call of {@code method} on a {@code targetClass} bean is leader-only. */
    static boolean guarded(Method method, Class<?> targetClass) {
        Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
        if (AnnotatedElementUtils.hasAnnotation(specific, Bean.class)) {
            return false;
        }
        if (annotated(method, targetClass)) {
            return true;
        }
        return classLevel(targetClass) && businessMethod(specific);
    }

    private static boolean businessMethod(Method m) {
        int mod = m.getModifiers();
        if (!Modifier.isPublic(mod) || Modifier.isStatic(mod) || m.isBridge() || m.isSynthetic()
                || m.getDeclaringClass() == Object.class || OBJECT_METHODS.contains(m.getName())) {
            return false;
        }
        for (Class<?> lifecycle : LIFECYCLE_TYPES) {
            try {
                lifecycle.getMethod(m.getName(), m.getParameterTypes());
                return false;
            } catch (NoSuchMethodException notALifecycleMethod) {
                // keep looking
            }
        }
        return true;
    }
}
