package dev.baton.examples.leaderdemo;

import dev.baton.spring.ConditionalOnLeader;
import dev.baton.spring.LeaderContext;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/** The job that must run on one instance only: the one annotation baton asks for. */
@Component
public class ReportJob {
    private static final Logger LOG = LoggerFactory.getLogger(ReportJob.class);
    private final String instance;

    ReportJob(@Value("${demo.instance}") String instance) {
        this.instance = instance;
    }

    /** Runs on the leader only; the token goes with every write the job makes. */
    @Scheduled(fixedDelayString = "${demo.interval}")
    @ConditionalOnLeader
    public void sendReport() {
        LOG.info("demo instance={} event=job token={} at={}", instance, LeaderContext.currentToken(),
            DemoClock.micros(Instant.now()));
    }
}
