package dev.baton.peers;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The one table: rows are measures, columns contenders, each cell a figure and its ratio to baton. */
final class Table {
    private Table() {}

    private record Row(String key, String label, String unit) {}

    private static final List<Row> ROWS = List.of(
        new Row("handover.p50", "graceful handover p50", "ms"),
        new Row("handover.p99", "graceful handover p99", "ms"),
        new Row("stalls", "stalled rounds: handover, crash", "stalls"),
        new Row("crash.default.kill", "crash, defaults: kill -> grant", "ms"),
        new Row("crash.default.past", "crash, defaults: past expiry", "ms"),
        new Row("crash.common.p50", "crash, common lease: past expiry p50", "ms"),
        new Row("crash.common.max", "crash, common lease: past expiry max", "ms"),
        new Row("idle.follower", "idle follower, requests/s", "/s"),
        new Row("idle.leader", "idle leader, requests/s", "/s"),
        new Row("pause.acts", "paused leader: acts after resume", ""),
        new Row("pause.ms", "paused leader: acting for", "ms"),
        new Row("check.ns", "leadership check, ns/call", "ns"),
        new Row("check.io", "leadership check, requests/call", ""));

    static void print(List<String> contenders, Map<String, Map<String, Double>> results, long lease) {
        List<String[]> lines = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("measure (common lease " + lease + " ms)"));
        header.addAll(contenders);
        lines.add(header.toArray(new String[0]));
        for (Row r : ROWS) {
            List<String> cells = new ArrayList<>(List.of(r.label));
            for (String c : contenders) {
                cells.add(cell(c, r, results));
            }
            lines.add(cells.toArray(new String[0]));
        }
        int[] w = new int[header.size()];
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                w[i] = Math.max(w[i], l[i].length());
            }
        }
        System.out.println();
        for (int n = 0; n < lines.size(); n++) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < w.length; i++) {
                sb.append(String.format(Locale.ROOT, "%-" + w[i] + "s  ", lines.get(n)[i]));
            }
            System.out.println(sb.toString().stripTrailing());
            if (n == 0) {
                StringBuilder dash = new StringBuilder();
                for (int x : w) {
                    dash.append("-".repeat(x)).append("  ");
                }
                System.out.println(dash.toString().stripTrailing());
            }
        }
        System.out.println("Cells: figure (ratio to baton on the same store: baton for Redis and the floor, "
            + "baton-zk for curator, baton-pg for si-jdbc); '-' where a contender cannot express the measure or it "
            + "was not measured.");
    }

    private static String cell(String c, Row r, Map<String, Map<String, Double>> results) {
        if (r.unit.equals("stalls")) {
            return stalls(results.getOrDefault(c, Map.of()));
        }
        Double v = results.getOrDefault(c, Map.of()).get(r.key);
        if (v == null || v.isNaN()) {
            return "-";
        }
        String fig = format(v, r.unit);
        String base = Contenders.batonOf(c);
        Double b = results.getOrDefault(base, Map.of()).get(r.key);
        if (c.equals(base) || b == null || b == 0 || b.isNaN()) {
            return fig;
        }
        return fig + String.format(Locale.ROOT, " (%s)", ratio(v / b));
    }

    /**
     * Rounds that got no grant (handover: no release or no grant; crash: no takeover), of those
     * run, so that a column resting on fewer samples says so. No ratio: 0 is the only good value.
     */
    private static String stalls(Map<String, Double> r) {
        Double h = r.get("handover.stalls");
        Double n = r.get("handover.n");
        Double k = r.get("crash.stalls");
        Double kn = r.get("crash.rounds");
        if (h == null) {
            return "-";
        }
        String s = String.format(Locale.ROOT, "%.0f of %.0f", h, h + n);
        return k == null || kn == null ? s : s + String.format(Locale.ROOT, ", %.0f of %.0f", k, kn);
    }

    private static String ratio(double x) {
        if (Math.abs(x) >= 100) {
            return String.format(Locale.ROOT, "%.0fx", x);
        }
        return String.format(Locale.ROOT, Math.abs(x) >= 10 ? "%.1fx" : "%.2fx", x);
    }

    static String format(double v, String unit) {
        return switch (unit) {
            case "ms" -> Math.abs(v) >= 1000 ? String.format(Locale.ROOT, "%.2f s", v / 1000)
                : Math.abs(v) >= 10 ? String.format(Locale.ROOT, "%.0f ms", v)
                : Math.abs(v) >= 1 ? String.format(Locale.ROOT, "%.1f ms", v)
                : String.format(Locale.ROOT, "%.0f µs", v * 1000);
            case "ns" -> v >= 1000 ? String.format(Locale.ROOT, "%.1f µs", v / 1000) : String.format(Locale.ROOT, "%.1f ns", v);
            case "/s" -> String.format(Locale.ROOT, "%.2f/s", v);
            default -> v >= 100 || v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
        };
    }
}
