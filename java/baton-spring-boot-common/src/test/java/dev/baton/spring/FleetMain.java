package dev.baton.spring;

import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;

/**
 * One instance of the process fleet ({@link ProcessFleetTests}): {@link FleetApp} in its own JVM,
 * printing each journal entry as a {@code JOURNAL} line on stdout, stopped by a signal.
 */
public final class FleetMain {
    private FleetMain() {}

    /**
     * Runs until SIGTERM (Spring Boot's shutdown hook closes the context) or SIGKILL.
     *
     * @param args instance name, store URL, election name, ttl
     */
    public static void main(String[] args) {
        String instance = args[0];
        Journal journal = new Journal(e -> {
            System.out.println("JOURNAL " + e.instance() + " " + e.what() + " " + e.token() + " " + e.detail());
            System.out.flush();
        });
        new SpringApplicationBuilder(FleetApp.class)
            .web(WebApplicationType.NONE)
            .bannerMode(Banner.Mode.OFF)
            .logStartupInfo(false)
            .initializers(c -> c.getBeanFactory().registerSingleton("journal", journal))
            .properties("test.instance=" + instance, "baton.store=" + args[1], "spring.application.name=" + args[2],
                "baton.ttl=" + args[3], "logging.level.root=WARN")
            .run();
        journal.add(instance, "started", -1, null);
    }
}
