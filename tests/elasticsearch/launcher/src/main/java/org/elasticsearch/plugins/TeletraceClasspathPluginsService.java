package org.elasticsearch.plugins;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.jdk.ModuleQualifiedExportsService;

/**
 * A PluginsService whose plugins are classes on the classpath rather than bundles in modules/ and
 * plugins/ directories (Teletrace's test launcher runs Elasticsearch from its Maven jars). Lives in
 * this package for LoadedPlugin's package-private constructor.
 */
public final class TeletraceClasspathPluginsService extends PluginsService {
    private final List<LoadedPlugin> classpathPlugins;

    public TeletraceClasspathPluginsService(Settings settings, Path configPath, List<Class<? extends Plugin>> classes) {
        super(settings, configPath, null, null);
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Class<? extends Plugin> pluginClass : classes) {
            PluginDescriptor descriptor = new PluginDescriptor(pluginClass.getName(), "classpath plugin", "NA",
                    org.elasticsearch.Build.current().version(), "17", pluginClass.getName(), null, List.of(),
                    false, false, false, false);
            loaded.add(new LoadedPlugin(descriptor, loadPlugin(pluginClass, settings, configPath)));
        }
        loadExtensions(loaded);
        this.classpathPlugins = List.copyOf(loaded);
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }

    /** The server is not a named module on the classpath: there are no qualified exports to add. */
    @Override
    protected void addServerExportsService(Map<String, List<ModuleQualifiedExportsService>> qualifiedExports) {}
}
