package dev.baton.spring;

import dev.baton.LeaderElection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;

/**
 * Every election of the application, by name: the {@link LeaderElection} beans of the context
 * (the default one, those declared under {@code baton.elections.<name>}, and the application's
 * own), plus elections that only a {@code @ConditionalOnLeader("name")} refers to, which are
 * built on first use.
 *
 * <p>Inject it to reach an election by name, for example to resign it; inject
 * {@link LeaderElection} itself for the default election.
 */
public class LeaderElections implements BeanFactoryAware, DisposableBean {
    /**
     * How long closing every election may take: releases run concurrently, each bounded by the
     * core (about 2 s on a hung store); this is the cap on top of which nothing waits.
     */
    public static final Duration RELEASE_BOUND = Duration.ofSeconds(5);
    private static final Log LOG = LogFactory.getLog(LeaderElections.class);

    private final Function<String, LeaderElection> factory;
    private final String defaultName;
    private final Map<String, LeaderElection> elections = new LinkedHashMap<>(); // guarded by this
    private final List<LeaderElection> built = new ArrayList<>(); // guarded by this; closed by us
    private final List<Consumer<LeaderElection>> observers = new CopyOnWriteArrayList<>();
    private ListableBeanFactory beanFactory;
    private boolean beansLoaded; // guarded by this
    private boolean closed; // guarded by this

    /**
     * Creates the registry.
     *
     * @param factory builds an election that no bean provides
     * @param defaultName the default election's name, or null if the application names none
     */
    public LeaderElections(Function<String, LeaderElection> factory, String defaultName) {
        this.factory = factory;
        this.defaultName = defaultName;
    }

    @Override
    public void setBeanFactory(BeanFactory beanFactory) {
        this.beanFactory = beanFactory instanceof ListableBeanFactory l ? l : null;
    }

    /**
     * The election with this name, built now if no bean provides it.
     *
     * @param name the election's name
     * @return the election
     */
    public LeaderElection get(String name) {
        if (name == null || name.isEmpty()) {
            return getDefault();
        }
        LeaderElection e;
        synchronized (this) {
            loadBeans();
            e = elections.get(name);
            if (e != null) {
                return e;
            }
            if (closed) {
                throw new IllegalStateException("election '" + name + "' was asked for after the"
                    + " application released its elections (it is shutting down)");
            }
            e = factory.apply(name);
            elections.put(name, e);
            built.add(e);
        }
        announce(e);
        return e;
    }

    /**
     * The election with this name, if it exists already.
     *
     * @param name the election's name
     * @return the election, or empty
     */
    public synchronized Optional<LeaderElection> find(String name) {
        loadBeans();
        return Optional.ofNullable(elections.get(name));
    }

    /**
     * The default election: the primary (or only) {@link LeaderElection} bean, else the one named
     * by {@code baton.name} or {@code spring.application.name}.
     *
     * @return the election
     * @throws IllegalStateException if the application names no default election
     */
    public LeaderElection getDefault() {
        if (beanFactory != null) {
            ObjectProvider<LeaderElection> beans = beanFactory.getBeanProvider(LeaderElection.class);
            LeaderElection unique = beans.getIfUnique();
            if (unique != null) {
                return unique;
            }
        }
        if (defaultName == null) {
            throw new IllegalStateException("@ConditionalOnLeader without a value uses the default"
                + " election, but the application names none; set spring.application.name or"
                + " baton.name, or name the election: @ConditionalOnLeader(\"nightly-report\")");
        }
        return get(defaultName);
    }

    /**
     * The default election's name from the configuration.
     *
     * @return the name, or empty if none is configured
     */
    public Optional<String> defaultName() {
        return Optional.ofNullable(defaultName);
    }

    /**
     * Every election known so far, in the order they appeared.
     *
     * @return a snapshot
     */
    public synchronized Collection<LeaderElection> all() {
        loadBeans();
        return List.copyOf(elections.values());
    }

    /**
     * Calls {@code observer} for every election now and for every election built later.
     *
     * @param observer the callback; it must not block
     */
    public void observe(Consumer<LeaderElection> observer) {
        observers.add(observer);
        for (LeaderElection e : all()) {
            observer.accept(e);
        }
    }

    /** Closes every election, releasing the leases this instance holds; each waits for its store. */
    public void closeAll() {
        synchronized (this) {
            closed = true;
        }
        closeConcurrently(all());
    }

    /**
     * Closes elections each on its own thread: a hung store makes every release wait for the
     * core's release timeout (about 2 s), which must be paid once, not once per election.
     * Returns when all are closed, or after {@link #RELEASE_BOUND} (their leases then expire).
     */
    static void closeConcurrently(Collection<LeaderElection> elections) {
        List<Thread> closing = new ArrayList<>();
        for (LeaderElection e : elections) {
            Thread t = new Thread(() -> {
                try {
                    e.close();
                } catch (RuntimeException ex) {
                    LOG.warn("Closing election '" + e.name() + "' failed; its lease expires on its own", ex);
                }
            }, "baton-close-" + e.name());
            t.setDaemon(true);
            t.start();
            closing.add(t);
        }
        long deadline = System.nanoTime() + RELEASE_BOUND.toNanos();
        try {
            for (Thread t : closing) {
                long left = deadline - System.nanoTime();
                if (left > 0) {
                    t.join(Math.max(1, left / 1_000_000));
                }
                if (t.isAlive()) {
                    LOG.warn("Releasing leadership did not finish within " + RELEASE_BOUND.toSeconds()
                        + "s (" + t.getName() + "); the lease expires on its own");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes the elections built here (bean elections are closed by the context). */
    @Override
    public void destroy() {
        List<LeaderElection> mine;
        synchronized (this) {
            mine = List.copyOf(built);
        }
        closeConcurrently(mine);
    }

    private void loadBeans() {
        if (beansLoaded || beanFactory == null) {
            return;
        }
        beansLoaded = true;
        Map<String, LeaderElection> beans = beanFactory.getBeansOfType(LeaderElection.class);
        Map<String, String> beanNameOf = new LinkedHashMap<>();
        for (Map.Entry<String, LeaderElection> b : beans.entrySet()) {
            String name = b.getValue().name();
            String other = beanNameOf.putIfAbsent(name, b.getKey());
            if (other != null) {
                beansLoaded = false;
                throw new IllegalStateException("beans '" + other + "' and '" + b.getKey()
                    + "' are both LeaderElections of election '" + name + "'; one process needs one"
                    + " candidacy per election: remove one of them (or its baton.elections." + name
                    + " entry)");
            }
            elections.put(name, b.getValue());
        }
    }

    private void announce(LeaderElection e) {
        for (Consumer<LeaderElection> o : observers) {
            o.accept(e);
        }
    }
}
