package dev.baton.examples.leaderdemo;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * A Spring Boot application that already talks to Redis ({@code spring.data.redis.url}) and
 * added baton's starter: its report job runs on one instance of the fleet only.
 */
@SpringBootApplication
@EnableScheduling
public class LeaderDemoApplication {
    /**
     * Starts one instance.
     *
     * @param args Spring Boot arguments
     */
    public static void main(String[] args) {
        SpringApplication.run(LeaderDemoApplication.class, args);
    }
}
