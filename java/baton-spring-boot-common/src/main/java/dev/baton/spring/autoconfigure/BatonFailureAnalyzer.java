package dev.baton.spring.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Prints a {@link BatonStartupException} as Spring Boot's "APPLICATION FAILED TO START" report. */
public class BatonFailureAnalyzer extends AbstractFailureAnalyzer<BatonStartupException> {
    /** Creates the analyzer (Spring Boot instantiates it from {@code META-INF/spring.factories}). */
    public BatonFailureAnalyzer() {}

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, BatonStartupException cause) {
        return new FailureAnalysis(cause.getDescription(), cause.getAction(), cause);
    }
}
