package dev.baton.spring.autoconfigure;

import dev.baton.LeaderElection;
import dev.baton.spring.BatonLifecycle;
import dev.baton.spring.ConditionalOnLeaderBeanPostProcessor;
import dev.baton.spring.LeaderElections;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.context.annotation.Role;
import org.springframework.core.env.Environment;

/**
 * Leader election for a Spring Boot application: a {@link LeaderElection} per election on the
 * Redis that {@code spring.data.redis.*} (or {@code baton.store}) names, and
 * {@link dev.baton.spring.ConditionalOnLeader @ConditionalOnLeader} for methods and lifecycle
 * beans. Every bean backs off when the application defines its own; {@code baton.enabled=false}
 * turns it all off.
 */
@AutoConfiguration(afterName = {"org.springframework.boot.autoconfigure.data.redis.RedisAutoConfiguration",
    "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration"})
@ConditionalOnClass(LeaderElection.class)
@ConditionalOnProperty(prefix = "baton", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(BatonProperties.class)
@Import(NamedElectionsRegistrar.class)
public class BatonAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonAutoConfiguration() {}

    /**
     * Finds {@code @ConditionalOnLeader} methods and lifecycle beans. Static: a post-processor
     * must not wait for this configuration class.
     *
     * @param environment the environment, for {@code spring.aop.proxy-target-class}
     * @return the post-processor
     */
    @Bean
    @ConditionalOnMissingBean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    public static ConditionalOnLeaderBeanPostProcessor conditionalOnLeaderBeanPostProcessor(Environment environment) {
        ConditionalOnLeaderBeanPostProcessor processor = new ConditionalOnLeaderBeanPostProcessor();
        processor.setProxyTargetClass(environment.getProperty("spring.aop.proxy-target-class", Boolean.class, true));
        return processor;
    }

    /**
     * Builds elections from the properties.
     *
     * @param properties the {@code baton.*} properties
     * @param environment the environment
     * @param connectionDetails reads Spring Boot's Redis connection details (from the starter of the Boot line)
     * @param jdbcConnectionDetails reads a JDBC service connection (from the starter of the Boot line)
     * @param customizers builder customizers
     * @param sslBundles Spring's SSL bundles, for baton.ssl.bundle and spring.data.redis.ssl.bundle
     * @return the factory
     */
    @Bean
    @ConditionalOnMissingBean
    public BatonElectionFactory batonElectionFactory(BatonProperties properties, Environment environment,
            ObjectProvider<RedisConnectionDetailsStore> connectionDetails,
            ObjectProvider<JdbcConnectionDetailsStore> jdbcConnectionDetails,
            ObjectProvider<LeaderElectionCustomizer> customizers, ObjectProvider<SslBundles> sslBundles) {
        return new BatonElectionFactory(properties, environment, connectionDetails::getIfUnique,
            customizers.orderedStream().toList(), name -> {
                SslBundles bundles = sslBundles.getIfAvailable();
                if (bundles == null) {
                    throw new IllegalStateException("the application has no SslBundles bean (Spring Boot's"
                        + " SslAutoConfiguration makes one)");
                }
                return bundles.getBundle(name);
            }).jdbcConnectionDetails(jdbcConnectionDetails::getIfUnique);
    }

    /**
     * The default election, named by {@code baton.name} or {@code spring.application.name}.
     *
     * @param factory the election factory
     * @return the election, campaigning
     */
    @Bean
    @Primary
    @ConditionalOnMissingBean
    @Conditional(OnDefaultElectionCondition.class)
    public LeaderElection leaderElection(BatonElectionFactory factory) {
        return factory.create(factory.defaultName());
    }

    /**
     * Every election by name.
     *
     * @param factory the election factory, for elections that only annotations name
     * @return the registry
     */
    @Bean
    @ConditionalOnMissingBean
    public LeaderElections leaderElections(BatonElectionFactory factory) {
        return new LeaderElections(factory::create, factory.defaultName());
    }

    /**
     * Starts and stops leader-only work with leadership, and releases it on shutdown.
     *
     * @param elections the elections
     * @param postProcessor the post-processor that found the leader-only work
     * @param properties the {@code baton.*} properties
     * @return the lifecycle
     */
    @Bean
    @ConditionalOnMissingBean
    public BatonLifecycle batonLifecycle(LeaderElections elections,
            ConditionalOnLeaderBeanPostProcessor postProcessor, BatonProperties properties) {
        return new BatonLifecycle(elections, postProcessor, properties.isInterruptOnRevoke(),
            properties.getShutdown().getTimeout());
    }
}
