package dev.teletrace.searchnode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Command-line options shared by the OpenSearch and Elasticsearch launchers.
 *
 * <pre>
 *   --http-port P --transport-port T --home DIR [--data DIR] [--logs DIR]
 *   [--cluster-name C] [--node-name N]
 *   [--seed-hosts host:port,...] [--initial-masters n1,n2,...]   (default: single-node discovery)
 *   [--max-seconds S] [--owner-pid PID]
 * </pre>
 *
 * --max-seconds makes the JVM exit by itself after S seconds (0: never); --owner-pid makes it exit
 * once that process has gone. Both are backstops for tests that die without stopping the node.
 */
final class LauncherOptions {
    static final String USAGE = "usage: --http-port P --transport-port T --home DIR [--data DIR] [--logs DIR]"
            + " [--cluster-name C] [--node-name N] [--seed-hosts h:p,...] [--initial-masters n1,...]"
            + " [--max-seconds S] [--owner-pid PID]";

    int httpPort = -1;
    int transportPort = -1;
    Path home;
    Path data;
    Path logs;
    String clusterName = "teletrace-test";
    String nodeName = "node-1";
    List<String> seedHosts = List.of();
    List<String> initialMasters = List.of();
    long maxSeconds = 0;
    long ownerPid = 0;

    private LauncherOptions() {}

    static LauncherOptions parse(String[] args) {
        LauncherOptions o = new LauncherOptions();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value for " + name);
            }
            String value = args[++i];
            switch (name) {
                case "--http-port" -> o.httpPort = port(name, value);
                case "--transport-port" -> o.transportPort = port(name, value);
                case "--home" -> o.home = Path.of(value).toAbsolutePath();
                case "--data" -> o.data = Path.of(value).toAbsolutePath();
                case "--logs" -> o.logs = Path.of(value).toAbsolutePath();
                case "--cluster-name" -> o.clusterName = value;
                case "--node-name" -> o.nodeName = value;
                case "--seed-hosts" -> o.seedHosts = list(value);
                case "--initial-masters" -> o.initialMasters = list(value);
                case "--max-seconds" -> o.maxSeconds = number(name, value);
                case "--owner-pid" -> o.ownerPid = number(name, value);
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        if (o.httpPort < 0 || o.transportPort < 0 || o.home == null) {
            throw new IllegalArgumentException("--http-port, --transport-port and --home are required");
        }
        if (o.data == null) {
            o.data = o.home.resolve("data");
        }
        if (o.logs == null) {
            o.logs = o.home.resolve("logs");
        }
        return o;
    }

    /** Daemon threads that end the JVM (running the shutdown hooks) on either backstop. */
    void startWatchdogs(String who) {
        if (maxSeconds > 0) {
            Thread timer = new Thread(() -> {
                try {
                    Thread.sleep(maxSeconds * 1000L);
                } catch (InterruptedException e) {
                    return;
                }
                System.err.println(who + ": --max-seconds " + maxSeconds + " reached, exiting");
                System.exit(0);
            }, "search-node-max-seconds");
            timer.setDaemon(true);
            timer.start();
        }
        if (ownerPid > 0) {
            var owner = ProcessHandle.of(ownerPid);
            if (owner.isEmpty()) {
                System.err.println(who + ": owner process " + ownerPid + " is not running, exiting");
                System.exit(0);
            }
            owner.get().onExit().thenRun(() -> {
                System.err.println(who + ": owner process " + ownerPid + " exited, exiting");
                System.exit(0);
            });
        }
    }

    private static int port(String name, String value) {
        long port = number(name, value);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(name + " must be a port number: " + value);
        }
        return (int) port;
    }

    private static long number(String name, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number: " + value);
        }
    }

    private static List<String> list(String value) {
        List<String> out = new ArrayList<>();
        Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(out::add);
        return List.copyOf(out);
    }
}
