package dev.baton.spring;

import dev.baton.ElectionClosedException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.Map;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.aop.framework.autoproxy.AbstractBeanFactoryAwareAdvisingPostProcessor;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanCreationException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.annotation.AnnotatedBeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.ApplicationEventPublisherAware;
import org.springframework.context.Lifecycle;
import org.springframework.core.KotlinDetector;
import org.springframework.core.MethodIntrospector;
import org.springframework.core.ReactiveAdapter;
import org.springframework.core.ReactiveAdapterRegistry;
import org.springframework.core.Ordered;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.annotation.AnnotationUtils;
import org.springframework.core.annotation.MergedAnnotation;
import org.springframework.core.annotation.MergedAnnotations;

/**
 * Finds {@link ConditionalOnLeader @ConditionalOnLeader} on beans: guards annotated methods with
 * a leader check (ShedLock's shape: a pointcut advisor on the annotation; a class-level one
 * reaches the public methods), takes annotated lifecycle beans (a class, or a {@code @Bean}
 * method returning one) out of the context's start-up so that {@link BatonLifecycle} starts them
 * on a grant, and refuses at startup what a per-call check cannot guard: listener methods
 * (messages would be acknowledged and lost), reactive and Kotlin {@code suspend} methods, final,
 * private and static methods, and methods returning a primitive.
 *
 * <p>It runs before the other advising post-processors and puts its advice first, so a skipped
 * invocation never opens a transaction, and {@code @Async} hands the leader check to the thread
 * that runs the method.
 */
public class ConditionalOnLeaderBeanPostProcessor extends AbstractBeanFactoryAwareAdvisingPostProcessor
        implements ApplicationEventPublisherAware {
    private static final long serialVersionUID = 1L;
    private static final org.apache.commons.logging.Log LOG =
        org.apache.commons.logging.LogFactory.getLog(ConditionalOnLeaderBeanPostProcessor.class);

    private final transient LeaderOnlyWork work = new LeaderOnlyWork();
    private final boolean disabled;
    private transient BeanFactory beans;
    private transient ApplicationEventPublisher publisher;
    private transient volatile LeaderElections elections;

    /** Creates the post-processor; it finds {@link LeaderElections} in the bean factory when first needed. */
    public ConditionalOnLeaderBeanPostProcessor() {
        this(false);
    }

    private ConditionalOnLeaderBeanPostProcessor(boolean disabled) {
        this.disabled = disabled;
        this.advisor = new LeaderOnlyAdvisor(
            new LeaderOnlyInterceptor(work, disabled ? null : this::elections, () -> publisher));
        setBeforeExistingAdvisors(true);
        setOrder(Ordered.LOWEST_PRECEDENCE - 10);
    }

    /**
     * For {@code baton.enabled=false}: the same startup checks, but every call runs, with a
     * {@link LeaderContext} of token 0, and leader-only lifecycle beans start with the context.
     *
     * @return the post-processor
     */
    public static ConditionalOnLeaderBeanPostProcessor disabled() {
        return new ConditionalOnLeaderBeanPostProcessor(true);
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
        String election = disabled ? null : lifecycleElection(type, beanName);
        if (election == null || !(bean instanceof Lifecycle)) {
            return result; // a class-level annotation on any other bean guards its methods
        }
        work.referenceElection(election);
        result = addLifecycleAdvisor(result, beanName, new LeaderLifecycleAdvisor(target -> leads(election)));
        work.addLifecycleBean(new LeaderOnlyWork.LifecycleBean(beanName, (Lifecycle) result, election));
        return result;
    }

    /** The election of a leader-only lifecycle: from its class, or from the @Bean method that made it. */
    private String lifecycleElection(Class<?> type, String beanName) {
        ConditionalOnLeader onClass = AnnotatedElementUtils.findMergedAnnotation(type, ConditionalOnLeader.class);
        if (onClass != null) {
            return onClass.value();
        }
        if (beans instanceof ConfigurableListableBeanFactory f && f.containsBeanDefinition(beanName)
                && f.getMergedBeanDefinition(beanName) instanceof AnnotatedBeanDefinition d
                && d.getFactoryMethodMetadata() != null) {
            MergedAnnotation<ConditionalOnLeader> a = d.getFactoryMethodMetadata().getAnnotations()
                .get(ConditionalOnLeader.class);
            if (a.isPresent()) {
                return a.getString("value");
            }
        }
        return null;
    }

    /** Records the elections of guarded methods; refuses, at startup, what a leader check cannot guard. */
    private void checkMethods(Class<?> type, String beanName) {
        if (!AnnotationUtils.isCandidateClass(type, ConditionalOnLeader.class)) {
            return; // JDK types and the like: cannot carry the annotation
        }
        boolean classLevel = LeaderOnlyMethods.classLevel(type);
        Map<Method, String> electionOf = new java.util.LinkedHashMap<>();
        Map<Method, Boolean> methods = MethodIntrospector.selectMethods(type,
            (MethodIntrospector.MetadataLookup<Boolean>) m -> LeaderOnlyMethods.annotated(m, type)
                ? Boolean.TRUE : classLevel && LeaderOnlyMethods.guarded(m, type) ? Boolean.FALSE : null);
        for (Map.Entry<Method, Boolean> e : methods.entrySet()) {
            Method m = e.getKey();
            String label = type.getName() + "." + m.getName() + "()";
            if (AnnotatedElementUtils.hasAnnotation(m, Bean.class)) {
                if (!Lifecycle.class.isAssignableFrom(m.getReturnType())) {
                    throw new BeanCreationException(beanName, "@ConditionalOnLeader on @Bean method " + label
                        + ", which returns " + m.getReturnType().getName() + ": baton decides at run time,"
                        + " while the bean is registered once at startup on every instance; return a Lifecycle"
                        + " (started on grant, stopped on revoke; ContainerLifecycle wraps a listener"
                        + " container), or put @ConditionalOnLeader on the methods that must run on the leader"
                        + " only");
                }
                continue; // the Lifecycle it returns is leader-only: see lifecycleElection
            }
            refuseUnguardable(m, label, beanName, e.getValue());
            ConditionalOnLeader a = AnnotatedElementUtils.findMergedAnnotation(m, ConditionalOnLeader.class);
            if (a == null) {
                a = AnnotatedElementUtils.findMergedAnnotation(type, ConditionalOnLeader.class);
            }
            try {
                LeaderOnlyInterceptor.awaitOf(a);
                if (!LeaderOnlyInterceptor.minSpacingOf(a).isZero() || a != null && a.catchUp()) {
                    work.referenceClock(a.value());
                }
            } catch (IllegalArgumentException bad) {
                throw new BeanCreationException(beanName, label + ": " + bad.getMessage());
            }
            work.referenceElection(a == null ? "" : a.value());
            electionOf.put(m, a == null ? "" : a.value());
        }
        if (!electionOf.isEmpty() && work.firstScan(type)) {
            for (String call : SelfInvocations.find(type, electionOf)) {
                String report = call + ": the call bypasses the proxy, so no leader check runs and it runs on every"
                    + " instance. Call the method through the bean (inject it, or ObjectProvider<" + type.getSimpleName()
                    + ">), or move it to another bean";
                LOG.warn(report);
                work.selfInvocation(report);
            }
        }
        if (classLevel) {
            for (String listener : LISTENERS) {
                if (MergedAnnotations.from(type, MergedAnnotations.SearchStrategy.TYPE_HIERARCHY).isPresent(listener)) {
                    throw new BeanCreationException(beanName, listenerRefusal(type.getName(), listener));
                }
            }
        }
    }

    private static final List<String> LISTENERS = List.of(
        "org.springframework.kafka.annotation.KafkaListener",
        "org.springframework.amqp.rabbit.annotation.RabbitListener",
        "org.springframework.jms.annotation.JmsListener",
        "io.awspring.cloud.sqs.annotation.SqsListener",
        "org.springframework.pulsar.annotation.PulsarListener");

    private static String listenerRefusal(String what, String listener) {
        String simple = listener.substring(listener.lastIndexOf('.') + 1);
        return "@ConditionalOnLeader on @" + simple + " " + what + ": on an instance that does not lead,"
            + " the call would be skipped and the container would acknowledge the message, so it would be"
            + " lost. Make the listener container leader-only instead: give the listener an id and"
            + " autoStartup = \"false\", and declare @Bean @ConditionalOnLeader ContainerLifecycle"
            + " ordersOnLeader(<registry>) { return ContainerLifecycle.of(() ->"
            + " registry.getListenerContainer(\"<id>\")); } (see docs/spring.md, \"Message listeners\")";
    }

    /** What AOP cannot guard, or a leader check per call cannot express. */
    private void refuseUnguardable(Method m, String label, String beanName, boolean onMethod) {
        for (String listener : LISTENERS) {
            if (MergedAnnotations.from(m).isPresent(listener)) {
                throw new BeanCreationException(beanName, listenerRefusal(label, listener));
            }
        }
        int mod = m.getModifiers();
        if (onMethod && (Modifier.isPrivate(mod) || Modifier.isStatic(mod))) {
            throw new BeanCreationException(beanName, "@ConditionalOnLeader method " + label + " is "
                + (Modifier.isPrivate(mod) ? "private" : "static") + ": a proxy cannot intercept it, so it"
                + " would run on every instance; make it a public instance method and call it through the bean");
        }
        if (Modifier.isFinal(mod)) {
            throw new BeanCreationException(beanName, "@ConditionalOnLeader method " + label + " is final:"
                + " a class-based proxy cannot intercept it, so it would run on every instance; remove final"
                + " (or the annotation" + (onMethod ? "" : " from the class") + ")");
        }
        Class<?> returns = m.getReturnType();
        ReactiveAdapter reactive = ReactiveAdapterRegistry.getSharedInstance().getAdapter(returns);
        if ((reactive != null && reactive.getDescriptor().isDeferred()) || KotlinDetector.isSuspendingFunction(m)) {
            throw new BeanCreationException(beanName, "@ConditionalOnLeader method " + label + " "
                + (reactive != null ? "returns " + returns.getSimpleName() + ", a publisher that Spring subscribes"
                    + " to later (for @Scheduled: at every trigger)" : "is a Kotlin suspend function")
                + ": baton checks leadership once per call, not per subscription, so a follower's job would"
                + " never run anywhere and a former leader's would keep running; return void or a value"
                + " (block inside), or check LeaderElection.isLeader() inside the publisher");
        }
        if (returns.isPrimitive() && returns != void.class) {
            throw new BeanCreationException(beanName, "@ConditionalOnLeader method " + label + " returns "
                + returns.getName() + ", which cannot express a skipped invocation on an instance that does"
                + " not lead; return void, a wrapper type such as " + wrapperName(returns)
                + " (null when skipped) or an Optional (empty when skipped)"
                + (onMethod ? "" : ", or annotate the methods that must run on the leader only, not the class"));
        }
    }

    private Object addLifecycleAdvisor(Object bean, String beanName, LeaderLifecycleAdvisor lifecycleAdvisor) {
        if (bean instanceof Advised advised && !advised.isFrozen()) {
            advised.addAdvisor(0, lifecycleAdvisor);
            return bean;
        }
        ProxyFactory factory = prepareProxyFactory(bean, beanName);
        factory.addAdvisor(lifecycleAdvisor);
        customizeProxyFactory(factory);
        return factory.getProxy(getProxyClassLoader());
    }

    /** Whether this instance leads the election of a leader-only lifecycle bean. */
    private boolean leads(String election) {
        try {
            return work.isAccepting() && elections().get(election).isLeader();
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
