package dev.baton;

import java.util.List;
import java.util.Objects;

/**
 * The election's configuration broke one or more rules; nothing was started. Every broken rule
 * is reported at once, in {@link #problems()}.
 */
public class ConfigurationException extends BatonException {
    private static final long serialVersionUID = 1L;

    /**
     * One broken rule.
     *
     * @param setting the setting's name, as in baton's Rust builder ({@code ttl},
     *     {@code renew_interval}, {@code store}, {@code election}, ...)
     * @param message what is wrong with its value and how to fix it
     */
    public record Problem(String setting, String message) implements java.io.Serializable {
        /**
         * Creates a problem.
         *
         * @param setting the setting's name
         * @param message what is wrong and how to fix it
         */
        public Problem {
            Objects.requireNonNull(setting, "setting");
            Objects.requireNonNull(message, "message");
        }

        @Override
        public String toString() {
            return setting + ": " + message;
        }
    }

    /** @serial the broken rules */
    private final List<Problem> problems;

    /**
     * Creates the exception.
     *
     * @param message a summary naming every problem
     * @param problems the broken rules
     */
    public ConfigurationException(String message, List<Problem> problems) {
        super(message);
        this.problems = List.copyOf(problems);
    }

    /**
     * The broken rules, cross-field rules first.
     *
     * @return an unmodifiable list, never empty when thrown by baton
     */
    public List<Problem> problems() {
        return problems;
    }
}
