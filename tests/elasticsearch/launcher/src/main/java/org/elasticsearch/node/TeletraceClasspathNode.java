package org.elasticsearch.node;

import java.util.List;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsService;
import org.elasticsearch.plugins.TeletraceClasspathPluginsService;

/**
 * An Elasticsearch Node whose plugins are the given classpath classes. Lives in this package for
 * the package-private NodeConstruction / NodeServiceProvider hooks.
 */
public final class TeletraceClasspathNode extends Node {
    public TeletraceClasspathNode(Environment environment, List<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(environment, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment env, Settings settings) {
                return new TeletraceClasspathPluginsService(settings, env.configFile(), plugins);
            }
        }, true));
    }
}
