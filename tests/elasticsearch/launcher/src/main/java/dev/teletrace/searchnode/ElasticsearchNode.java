package dev.teletrace.searchnode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.node.TeletraceClasspathNode;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;

/**
 * Runs one real Elasticsearch 8 node in this JVM for Teletrace's storage tests. Only the server
 * and Netty4 are on Maven Central, so this node lacks everything that lives in modules/x-pack:
 * no reindex (_delete_by_query), analysis-common, ILM, data streams, security or Painless; GET /
 * is answered by {@link MainInfoPlugin}. Loopback only. Logs go to standard output, which
 * search_node.sh redirects to DIR/node.log.
 *
 * <p>Arguments: see {@link LauncherOptions}.
 */
public final class ElasticsearchNode {
    private static final List<Class<? extends Plugin>> PLUGINS =
            List.of(Netty4Plugin.class, MainInfoPlugin.class);

    private ElasticsearchNode() {}

    public static void main(String[] args) throws Exception {
        LauncherOptions options;
        try {
            options = LauncherOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ElasticsearchNode: " + e.getMessage());
            System.err.println(LauncherOptions.USAGE);
            System.exit(2);
            return;
        }
        options.startWatchdogs("ElasticsearchNode");

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
                settings.putList("cluster.initial_master_nodes", options.initialMasters);
            }
        }

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings.build(), Collections.<String, String>emptyMap(), config, () -> options.nodeName);
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(options.nodeName);
        LogConfigurator.configure(environment, true);

        Node node = new TeletraceClasspathNode(environment, PLUGINS);
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
        System.out.println("ElasticsearchNode: started " + options.nodeName + " http=127.0.0.1:"
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
                "logger.deprecation.name = org.elasticsearch.deprecation",
                "logger.deprecation.level = error",
                "");
        Files.writeString(config.resolve("log4j2.properties"), properties, StandardCharsets.UTF_8);
    }
}
