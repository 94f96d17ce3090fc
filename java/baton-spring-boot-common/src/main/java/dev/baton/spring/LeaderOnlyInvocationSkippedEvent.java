package dev.baton.spring;

import dev.baton.LeaderElection;
import java.lang.reflect.Method;
import org.springframework.context.ApplicationEvent;

/**
 * A {@link ConditionalOnLeader @ConditionalOnLeader} method was called on an instance that does
 * not lead its election, so it did not run. Published on the caller's thread.
 */
public class LeaderOnlyInvocationSkippedEvent extends ApplicationEvent {
    private static final long serialVersionUID = 1L;

    /** @serial the election's name */
    private final String electionName;
    /** The method that was skipped (not serialized). */
    private final transient Method method;

    /**
     * Creates the event.
     *
     * @param bean the bean whose method was skipped
     * @param method the method
     * @param election the election it needs to lead
     */
    public LeaderOnlyInvocationSkippedEvent(Object bean, Method method, LeaderElection election) {
        super(bean);
        this.method = method;
        this.electionName = election.name();
    }

    /**
     * The method that did not run.
     *
     * @return the method
     */
    public Method getMethod() {
        return method;
    }

    /**
     * The election the method needs this instance to lead.
     *
     * @return the election's name
     */
    public String getElectionName() {
        return electionName;
    }
}
