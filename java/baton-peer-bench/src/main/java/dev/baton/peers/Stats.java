package dev.baton.peers;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

final class Stats {
    private Stats() {}

    /** Nearest-rank percentile: with 50 samples p99 is the largest. */
    static double percentile(List<Double> samples, double p) {
        List<Double> s = new ArrayList<>(samples);
        Collections.sort(s);
        int rank = (int) Math.ceil(p / 100.0 * s.size());
        return s.get(Math.max(0, Math.min(s.size() - 1, rank - 1)));
    }
}
