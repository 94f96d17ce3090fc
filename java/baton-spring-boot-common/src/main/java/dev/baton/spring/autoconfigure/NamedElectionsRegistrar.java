package dev.baton.spring.autoconfigure;

import dev.baton.LeaderElection;
import java.util.Map;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.support.AutowireCandidateQualifier;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.EnvironmentAware;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotationMetadata;

/**
 * Registers a {@link LeaderElection} bean for each election under {@code baton.elections.<name>},
 * qualified by the election's name ({@code @Qualifier("nightly-report") LeaderElection}). The
 * default election has its own bean and is skipped here. Each is made by the
 * {@code batonElectionFactory} bean: an application that replaces that factory gives its bean
 * the same name.
 */
class NamedElectionsRegistrar implements ImportBeanDefinitionRegistrar, EnvironmentAware {
    /** The bean name of {@link BatonAutoConfiguration#batonElectionFactory}. */
    static final String FACTORY_BEAN = "batonElectionFactory";
    private Environment environment;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public void registerBeanDefinitions(AnnotationMetadata metadata, BeanDefinitionRegistry registry) {
        Binder binder = Binder.get(environment);
        Map<String, BatonProperties.Election> elections = binder
            .bind("baton.elections", Bindable.mapOf(String.class, BatonProperties.Election.class))
            .orElse(Map.of());
        BatonProperties properties = binder.bind("baton", BatonProperties.class).orElseGet(BatonProperties::new);
        String defaultName = BatonElectionFactory.defaultName(properties, environment);
        for (String name : elections.keySet()) {
            String beanName = "leaderElection-" + name;
            if (name.equals(defaultName) || registry.containsBeanDefinition(beanName)) {
                continue;
            }
            // A factory method, not an instance supplier: ahead-of-time processing can turn it into code.
            RootBeanDefinition definition = new RootBeanDefinition(LeaderElection.class);
            definition.setFactoryBeanName(FACTORY_BEAN);
            definition.setFactoryMethodName("create");
            definition.getConstructorArgumentValues().addIndexedArgumentValue(0, name);
            definition.addQualifier(new AutowireCandidateQualifier(Qualifier.class, name));
            definition.setDestroyMethodName("close");
            registry.registerBeanDefinition(beanName, definition);
        }
    }
}
