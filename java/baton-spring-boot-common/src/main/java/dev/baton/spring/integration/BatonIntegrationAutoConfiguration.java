package dev.baton.spring.integration;

import dev.baton.spring.LeaderElections;
import dev.baton.spring.autoconfigure.BatonAutoConfiguration;
import dev.baton.spring.autoconfigure.BatonProperties;
import java.util.Arrays;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.integration.context.IntegrationContextUtils;
import org.springframework.integration.leader.Candidate;
import org.springframework.integration.leader.event.DefaultLeaderEventPublisher;
import org.springframework.integration.leader.event.LeaderEventPublisher;
import org.springframework.integration.support.SmartLifecycleRoleController;
import org.springframework.util.ClassUtils;

/**
 * With {@code spring-integration-core} on the class path, baton stands in for Spring
 * Integration's leader initiator: {@code OnGrantedEvent}/{@code OnRevokedEvent} for every
 * election ({@code @Role} endpoints follow them) and an election for every {@link Candidate} bean
 * (see {@link LeaderEventBridge}). {@code baton.integration.enabled=false} turns it off.
 *
 * <p>It backs off when the application still defines a leader initiator of its own
 * ({@code LockRegistryLeaderInitiator}, the ZooKeeper or Hazelcast {@code LeaderInitiator}, Spring
 * Cloud Kubernetes' {@code LeaderInitiator}), and says so in a warning: two initiators would both
 * start the role's endpoints, on different instances. Remove that bean to let baton elect.
 */
@AutoConfiguration(after = BatonAutoConfiguration.class, afterName = {
    "org.springframework.boot.autoconfigure.integration.IntegrationAutoConfiguration",
    "org.springframework.boot.integration.autoconfigure.IntegrationAutoConfiguration",
    "org.springframework.cloud.kubernetes.fabric8.leader.Fabric8LeaderAutoConfiguration"})
@ConditionalOnClass(Candidate.class)
@ConditionalOnBean(LeaderElections.class)
@ConditionalOnProperty(prefix = "baton.integration", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(BatonIntegrationProperties.class)
public class BatonIntegrationAutoConfiguration {
    /** The leader initiators whose presence turns the bridge off. */
    static final String[] INITIATORS = {
        "org.springframework.integration.support.leader.LockRegistryLeaderInitiator",
        "org.springframework.integration.zookeeper.leader.LeaderInitiator",
        "org.springframework.integration.hazelcast.leader.LeaderInitiator",
        "org.springframework.cloud.kubernetes.commons.leader.LeaderInitiator",
    };

    /** Created by Spring Boot. */
    public BatonIntegrationAutoConfiguration() {}

    /** The bridge, when no other leader initiator is defined. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnMissingBean(type = {
        "org.springframework.integration.support.leader.LockRegistryLeaderInitiator",
        "org.springframework.integration.zookeeper.leader.LeaderInitiator",
        "org.springframework.integration.hazelcast.leader.LeaderInitiator",
        "org.springframework.cloud.kubernetes.commons.leader.LeaderInitiator"})
    static class Bridge {
        @Bean
        @ConditionalOnMissingBean
        LeaderEventBridge batonLeaderEventBridge(LeaderElections elections, BatonIntegrationProperties integration,
                BatonProperties properties, ObjectProvider<Candidate> candidates, ListableBeanFactory beans,
                ObjectProvider<LeaderEventPublisher> publisher, ApplicationEventPublisher events) {
            return new LeaderEventBridge(elections, integration.getRoles(), candidates.orderedStream().toList(),
                () -> roleController(beans), publisher.getIfUnique(() -> new DefaultLeaderEventPublisher(events)),
                properties.isInterruptOnRevoke(), properties.getShutdown().getTimeout());
        }

        private static SmartLifecycleRoleController roleController(ListableBeanFactory beans) {
            String name = IntegrationContextUtils.INTEGRATION_LIFECYCLE_ROLE_CONTROLLER;
            if (beans.containsBean(name)) {
                return beans.getBean(name, SmartLifecycleRoleController.class);
            }
            return beans.getBeanProvider(SmartLifecycleRoleController.class).getIfUnique();
        }
    }

    /** When another leader initiator elects, says why baton does not. */
    @Configuration(proxyBeanMethods = false)
    static class BackedOff {
        @Bean
        static SmartInitializingSingleton batonLeaderEventBridgeBackedOff(ListableBeanFactory beans) {
            return () -> warn(beans);
        }

        private static void warn(ListableBeanFactory beans) {
            Log log = LogFactory.getLog(LeaderEventBridge.class);
            for (String type : INITIATORS) {
                if (!ClassUtils.isPresent(type, BatonIntegrationAutoConfiguration.class.getClassLoader())) {
                    continue;
                }
                Class<?> c = ClassUtils.resolveClassName(type, BatonIntegrationAutoConfiguration.class.getClassLoader());
                String[] names = beans.getBeanNamesForType(c, true, false);
                if (names.length > 0) {
                    log.warn("baton does not publish Spring Integration's leader events nor elect Candidate beans:"
                        + " bean(s) " + Arrays.toString(names) + " (" + c.getSimpleName() + ") elect instead, and two"
                        + " initiators would start a role's endpoints on two instances. To let baton elect, remove"
                        + " that bean (docs/spring.md, \"Migrating from Spring Integration\"); to keep it, set"
                        + " baton.integration.enabled=false to silence this warning.");
                }
            }
        }
    }
}
