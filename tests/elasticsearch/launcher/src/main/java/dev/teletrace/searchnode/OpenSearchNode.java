package dev.teletrace.searchnode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Runs one real OpenSearch node in this JVM for Teletrace's storage tests. The plugins come from
 * the classpath (Netty4 transport/HTTP, analysis-common, reindex for _delete_by_query); there is
 * no security plugin and no Painless. Loopback only. Logs go to standard output, which
 * search_node.sh redirects to DIR/node.log.
 *
 * <p>Arguments: see {@link LauncherOptions}.
 */
public final class OpenSearchNode {
    private static final List<Class<? extends Plugin>> PLUGINS =
            List.of(Netty4Plugin.class, CommonAnalysisPlugin.class, ReindexPlugin.class);

    /** Node's constructor taking classpath plugins is protected: this subclass exposes it. */
    private static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment) {
            super(environment, PLUGINS, true);
        }
    }

    private OpenSearchNode() {}

    public static void main(String[] args) throws Exception {
        LauncherOptions options;
        try {
            options = LauncherOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("OpenSearchNode: " + e.getMessage());
            System.err.println(LauncherOptions.USAGE);
            System.exit(2);
            return;
        }
        options.startWatchdogs("OpenSearchNode");

        Path home = options.home;
        Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.createDirectories(options.data);
        Files.createDirectories(options.logs);
        writeLoggingConfig(config);

        Settings.Builder settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", options.data.toString())
                .put("path.logs", options.logs.toString())
                .put("cluster.name", options.clusterName)
                .put("node.name", options.nodeName)
                .put("network.host", "127.0.0.1")
                .put("http.port", options.httpPort)
                .put("transport.port", options.transportPort)
                .put("http.type", "netty4")
                .put("transport.type", "netty4")
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                // Keep the thread pools small: up to three nodes share two cores in tests.
                .put("node.processors", Math.min(2, Runtime.getRuntime().availableProcessors()));
        if (options.seedHosts.isEmpty()) {
            settings.put("discovery.type", "single-node");
        } else {
            settings.putList("discovery.seed_hosts", options.seedHosts);
            // Open HTTP without waiting for the cluster to form: nodes of a cluster start one by one.
            settings.put("discovery.initial_state_timeout", "0s");
            if (!options.initialMasters.isEmpty()) {
                settings.putList("cluster.initial_cluster_manager_nodes", options.initialMasters);
            }
        }

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings.build(), Collections.<String, String>emptyMap(), config, () -> options.nodeName);
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(options.nodeName);
        LogConfigurator.configure(environment);

        Node node = new ClasspathNode(environment);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(10, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "search-node-shutdown"));
        node.start();
        System.out.println("OpenSearchNode: started " + options.nodeName + " http=127.0.0.1:"
                + options.httpPort + " transport=127.0.0.1:" + options.transportPort);
        stopped.await();
    }

    /** One console appender (stdout is the node log file) at INFO, with noisy loggers turned down. */
    private static void writeLoggingConfig(Path config) throws IOException {
        String properties = String.join("\n",
                "status = error",
                "appender.console.type = Console",
                "appender.console.name = console",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n",
                "rootLogger.level = info",
                "rootLogger.appenderRef.console.ref = console",
                "logger.deprecation.name = org.opensearch.deprecation",
                "logger.deprecation.level = error",
                "");
        Files.writeString(config.resolve("log4j2.properties"), properties, StandardCharsets.UTF_8);
    }
}
