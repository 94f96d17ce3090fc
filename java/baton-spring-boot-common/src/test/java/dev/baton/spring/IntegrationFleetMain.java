package dev.baton.spring;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * One instance of {@link IntegrationFleetTests}: {@link IntegrationFleetApp} in its own JVM,
 * printing each journal entry as a {@code JOURNAL} line; the line {@code yield} on stdin makes it
 * yield the role; the end of stdin (the test JVM is gone) ends it.
 */
public final class IntegrationFleetMain {
    private IntegrationFleetMain() {}

    /**
     * Runs until SIGTERM, SIGKILL or the end of stdin.
     *
     * @param args instance name, store URL, application name, ttl
     * @throws IOException if stdin cannot be read
     */
    public static void main(String[] args) throws IOException {
        String instance = args[0];
        Journal journal = new Journal(e -> {
            System.out.println("JOURNAL " + e.instance() + " " + e.what() + " " + e.token() + " " + e.detail());
            System.out.flush();
        });
        ConfigurableApplicationContext context = new SpringApplicationBuilder(IntegrationFleetApp.class)
            .web(WebApplicationType.NONE)
            .bannerMode(Banner.Mode.OFF)
            .logStartupInfo(false)
            .initializers(c -> c.getBeanFactory().registerSingleton("journal", journal))
            .properties("test.instance=" + instance, "baton.store=" + args[1], "spring.application.name=" + args[2],
                "baton.integration.roles.cleanup=" + args[2] + "-cleanup", "baton.ttl=" + args[3],
                "logging.level.root=WARN")
            .run();
        journal.add(instance, "started", -1, "- " + System.nanoTime());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null;) {
            if (line.equals("yield")) {
                context.getBean(IntegrationFleetApp.LeaderEvents.class).yieldRole();
            }
        }
        System.exit(0);
    }
}
