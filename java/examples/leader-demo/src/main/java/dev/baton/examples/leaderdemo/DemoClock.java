package dev.baton.examples.leaderdemo;

import java.time.Instant;

/** Wall-clock microseconds, so that the demo script can subtract the times of two instances. */
final class DemoClock {
    private DemoClock() {}

    static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
    }
}
