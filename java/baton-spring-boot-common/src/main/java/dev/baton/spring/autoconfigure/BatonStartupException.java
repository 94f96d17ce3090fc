package dev.baton.spring.autoconfigure;

/**
 * baton cannot start with the application's configuration: the store is missing, unsupported or
 * unreachable, or a setting breaks a rule. The message names the property and the fix; Spring
 * Boot prints it through {@link BatonFailureAnalyzer}.
 */
public class BatonStartupException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @serial what to do about it */
    private final String action;

    /**
     * Creates the exception.
     *
     * @param description what is wrong, naming the property
     * @param action what to do about it
     */
    public BatonStartupException(String description, String action) {
        this(description, action, null);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param description what is wrong, naming the property
     * @param action what to do about it
     * @param cause the underlying failure
     */
    public BatonStartupException(String description, String action, Throwable cause) {
        super(description + " " + action, cause);
        this.action = action;
    }

    /**
     * What is wrong.
     *
     * @return the description
     */
    public String getDescription() {
        String m = getMessage();
        return m.substring(0, m.length() - action.length() - 1);
    }

    /**
     * What to do about it.
     *
     * @return the action
     */
    public String getAction() {
        return action;
    }
}
