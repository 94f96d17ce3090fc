package dev.baton.examples.leaderdemo;

import dev.baton.spring.LeadershipGrantedEvent;
import dev.baton.spring.LeadershipRevokedEvent;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/** Logs the starter's leadership events, which the demo script measures handovers with. */
@Component
public class LeadershipLog {
    private static final Logger LOG = LoggerFactory.getLogger(LeadershipLog.class);
    private final String instance;

    LeadershipLog(@Value("${demo.instance}") String instance) {
        this.instance = instance;
    }

    /** @param e the grant */
    @EventListener
    public void granted(LeadershipGrantedEvent e) {
        LOG.info("demo instance={} event=granted token={} at={}", instance, e.getToken(), DemoClock.micros(Instant.now()));
    }

    /** @param e the revocation */
    @EventListener
    public void revoked(LeadershipRevokedEvent e) {
        LOG.info("demo instance={} event=revoked token={} reason={} at={}", instance, e.getToken(),
            e.getReason().id(), DemoClock.micros(Instant.now()));
    }
}
