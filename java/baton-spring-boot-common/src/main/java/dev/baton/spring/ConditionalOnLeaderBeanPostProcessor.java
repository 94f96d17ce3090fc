package dev.baton.spring;

import dev.baton.ElectionClosedException;
import java.lang.reflect.Method;
import java.util.Map;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.aop.framework.autoproxy.AbstractBeanFactoryAwareAdvisingPostProcessor;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanCreationException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.ApplicationEventPublisherAware;
import org.springframework.context.Lifecycle;
import org.springframework.core.MethodIntrospector;
import org.springframework.core.Ordered;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.annotation.AnnotationUtils;

/**
 * Finds {@link ConditionalOnLeader @ConditionalOnLeader} on beans: guards annotated methods with
 * a leader check (ShedLock's shape: a pointcut advisor on the annotation), takes annotated
 * lifecycle beans out of the context's start-up so that {@link BatonLifecycle} starts them on a
 * grant, and rejects what cannot work (a method returning a primitive, an annotated class that
 * is no lifecycle) at startup.
 *
 * <p>It runs before the other advising post-processors and puts its advice first, so a skipped
 * invocation never opens a transaction, and {@code @Async} hands the leader check to the thread
 * that runs the method.
 */
public class ConditionalOnLeaderBeanPostProcessor extends AbstractBeanFactoryAwareAdvisingPostProcessor
        implements ApplicationEventPublisherAware {
    private static final long serialVersionUID = 1L;

    private final transient LeaderOnlyWork work = new LeaderOnlyWork();
    private final transient LeaderLifecycleAdvisor lifecycleAdvisor;
    private transient BeanFactory beans;
    private transient ApplicationEventPublisher publisher;
    private transient volatile LeaderElections elections;

    /** Creates the post-processor; it finds {@link LeaderElections} in the bean factory when first needed. */
    public ConditionalOnLeaderBeanPostProcessor() {
        this.advisor = new LeaderOnlyAdvisor(new LeaderOnlyInterceptor(work, this::elections, () -> publisher));
        this.lifecycleAdvisor = new LeaderLifecycleAdvisor(this::leads);
        setBeforeExistingAdvisors(true);
        setOrder(Ordered.LOWEST_PRECEDENCE - 10);
    }

    @Override
    public void setBeanFactory(BeanFactory beanFactory) {
        super.setBeanFactory(beanFactory);
        this.beans = beanFactory;
    }

    @Override
    public void setApplicationEventPublisher(ApplicationEventPublisher applicationEventPublisher) {
        this.publisher = applicationEventPublisher;
    }

    LeaderOnlyWork work() {
        return work;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
        Class<?> type = AopUtils.getTargetClass(bean);
        checkMethods(type, beanName);
        Object result = super.postProcessAfterInitialization(bean, beanName);
        ConditionalOnLeader onClass = AnnotatedElementUtils.findMergedAnnotation(type, ConditionalOnLeader.class);
        if (onClass == null) {
            return result;
        }
        if (!(bean instanceof Lifecycle)) {
            throw new BeanCreationException(beanName, "@ConditionalOnLeader on class " + type.getName()
                + " is only supported for Lifecycle or SmartLifecycle beans (started on grant, stopped on"
                + " revoke); put it on the methods that must run on the leader only instead");
        }
        work.referenceElection(onClass.value());
        result = addLifecycleAdvisor(result, beanName);
        work.addLifecycleBean(new LeaderOnlyWork.LifecycleBean(beanName, (Lifecycle) result, onClass.value()));
        return result;
    }

    /** Records the elections named on methods and rejects return types that cannot say "skipped". */
    private void checkMethods(Class<?> type, String beanName) {
        if (!AnnotationUtils.isCandidateClass(type, ConditionalOnLeader.class)) {
            return; // JDK types and the like: cannot carry the annotation
        }
        Map<Method, ConditionalOnLeader> methods = MethodIntrospector.selectMethods(type,
            (MethodIntrospector.MetadataLookup<ConditionalOnLeader>) m ->
                AnnotatedElementUtils.findMergedAnnotation(m, ConditionalOnLeader.class));
        for (Map.Entry<Method, ConditionalOnLeader> e : methods.entrySet()) {
            Method m = e.getKey();
            if (AnnotatedElementUtils.hasAnnotation(m, Bean.class)) {
                throw new BeanCreationException(beanName, "@ConditionalOnLeader on @Bean method "
                    + type.getName() + "." + m.getName() + "(): baton decides at run time, while the"
                    + " bean is registered once at startup on every instance; put @ConditionalOnLeader"
                    + " on the bean's class (if it is a Lifecycle) or on the methods that must run on the"
                    + " leader only");
            }
            Class<?> returns = m.getReturnType();
            if (returns.isPrimitive() && returns != void.class) {
                throw new BeanCreationException(beanName, "@ConditionalOnLeader method "
                    + type.getName() + "." + m.getName() + "() returns " + returns.getName()
                    + ", which cannot express a skipped invocation on an instance that does not lead;"
                    + " return void, a wrapper type such as " + wrapperName(returns)
                    + " (null when skipped) or an Optional (empty when skipped)");
            }
            work.referenceElection(e.getValue().value());
        }
    }

    private Object addLifecycleAdvisor(Object bean, String beanName) {
        if (bean instanceof Advised advised && !advised.isFrozen()) {
            advised.addAdvisor(0, lifecycleAdvisor);
            return bean;
        }
        ProxyFactory factory = prepareProxyFactory(bean, beanName);
        factory.addAdvisor(lifecycleAdvisor);
        customizeProxyFactory(factory);
        return factory.getProxy(getProxyClassLoader());
    }

    /** Whether this instance leads the election of a {@code @ConditionalOnLeader} lifecycle bean. */
    private boolean leads(Object target) {
        ConditionalOnLeader a = AnnotatedElementUtils.findMergedAnnotation(
            AopUtils.getTargetClass(target), ConditionalOnLeader.class);
        try {
            return a != null && work.isAccepting() && elections().get(a.value()).isLeader();
        } catch (ElectionClosedException e) {
            return false;
        }
    }

    private LeaderElections elections() {
        LeaderElections e = elections;
        if (e == null) {
            e = beans.getBean(LeaderElections.class);
            elections = e;
        }
        return e;
    }

    private static String wrapperName(Class<?> primitive) {
        return switch (primitive.getName()) {
            case "int" -> "Integer";
            case "char" -> "Character";
            default -> Character.toUpperCase(primitive.getName().charAt(0)) + primitive.getName().substring(1);
        };
    }
}
