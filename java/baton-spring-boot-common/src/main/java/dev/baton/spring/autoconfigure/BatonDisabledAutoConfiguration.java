package dev.baton.spring.autoconfigure;

import dev.baton.spring.ConditionalOnLeaderBeanPostProcessor;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Role;

/**
 * {@code baton.enabled=false}: no elections and no native library, but code written for baton
 * keeps working: {@code @ConditionalOnLeader} methods run on every instance with a
 * {@link dev.baton.spring.LeaderContext} of token 0, and the startup checks still apply.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "baton", name = "enabled", havingValue = "false")
public class BatonDisabledAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonDisabledAutoConfiguration() {}

    /**
     * Runs every {@code @ConditionalOnLeader} call. Static: a post-processor must not wait for
     * this configuration class.
     *
     * @return the post-processor
     */
    @Bean
    @ConditionalOnMissingBean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    public static ConditionalOnLeaderBeanPostProcessor conditionalOnLeaderBeanPostProcessor() {
        return ConditionalOnLeaderBeanPostProcessor.disabled();
    }
}
