package dev.baton.spring.integration;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code baton.integration.*}: how baton stands in for Spring Integration's leader initiators
 * when {@code spring-integration-core} is on the class path.
 */
@ConfigurationProperties(prefix = "baton.integration")
public class BatonIntegrationProperties {
    /**
     * Whether baton publishes Spring Integration's OnGrantedEvent and OnRevokedEvent for its
     * elections (which starts and stops @Role endpoints) and elects every Candidate bean.
     */
    private boolean enabled = true;

    /**
     * Election name of a Spring Integration role, where they differ, for example
     * baton.integration.roles.cleanup=nightly-cleanup. A role not listed is elected under its own
     * name.
     */
    private Map<String, String> roles = new LinkedHashMap<>();

    /** Created by Spring Boot. */
    public BatonIntegrationProperties() {}

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public Map<String, String> getRoles() {
        return roles;
    }

    public void setRoles(Map<String, String> roles) {
        this.roles = roles;
    }
}
