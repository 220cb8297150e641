import ArgumentParser
import Logging
import PlugworkerCore

#if canImport(Glibc)
import Glibc
#endif

/// The options every command that loads plugins shares.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugins"), help: ArgumentHelp("A plugin directory (repeatable); PLUGWORKER_PLUGIN_PATH adds more.", valueName: "dir"))
    var pluginDirectories: [String] = []

    @Option(name: .customLong("task"), help: ArgumentHelp("Register a C function as a task: NAME=MODULE:SYMBOL(param: type, ...) -> type.", valueName: "spec"))
    var taskSpecs: [String] = []

    @Option(name: .customLong("steps"), help: ArgumentHelp("Add a bootstep: module:Symbol of a function returning a pw_step_def (repeatable).", valueName: "module:Symbol"))
    var stepSpecs: [String] = []

    @Flag(name: .customLong("allow-insecure-plugins"), help: "Load plugins even from files or directories writable by others.")
    var allowInsecurePlugins = false

    @Option(name: [.customShort("l"), .customLong("loglevel")], help: "Logging level: debug, info, warning, error, critical (default: warning; info for the worker).")
    var logLevel: String?

    /// Sets up Celery-style logging at the chosen level.
    func bootstrapLogging(default defaultLevel: String = "warning") throws {
        let logLevel = self.logLevel ?? defaultLevel
        guard let level = CeleryLogHandler.level(named: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)' (use debug, info, warning, error or critical)")
        }
        LoggingSystem.bootstrap { CeleryLogHandler(label: $0, level: level) }
    }

    /// A loader over the configured directories, not yet loading anything.
    /// A `quiet` loader does not log refusals (the caller reports them).
    func makeLoader(registry: Registry, quiet: Bool = false) -> PluginLoader {
        var env: [String: String] = [:]
        if let p = getenv("PLUGWORKER_PLUGIN_PATH") { env["PLUGWORKER_PLUGIN_PATH"] = String(cString: p) }
        var logger = Logger(label: "plugworker.loader")
        if quiet { logger.logLevel = .critical }
        return PluginLoader(registry: registry,
                            searchPaths: PluginLoader.searchPaths(plugins: pluginDirectories, environment: env),
                            allowInsecure: allowInsecurePlugins, logger: logger)
    }

    /// Loads the plugin directories and the `--task` definitions.
    /// Returns the errors (already recorded in the registry and logged).
    /// With `files` (what a pool process gets from the master), those
    /// plugin files are loaded instead of the directories.
    func loadAll(into loader: PluginLoader, files: [String]? = nil) -> [PluginError] {
        var errors: [PluginError] = []
        if let files {
            for file in files {
                do {
                    _ = try loader.loadPlugin(at: file)
                } catch {
                    errors.append(error)
                }
            }
        } else {
            for result in loader.loadDirectories() {
                if case .failure(let e) = result { errors.append(e) }
            }
        }
        for spec in taskSpecs {
            do {
                try loader.registerTask(spec: spec)
            } catch {
                errors.append(error)
            }
        }
        for spec in stepSpecs {
            do {
                try loader.registerStep(spec: spec)
            } catch {
                errors.append(error)
            }
        }
        return errors
    }
}
