#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PlugworkerCore

/// `plugworker check PATH...`: load plugins without running any task, and
/// show what they register, or why they are refused.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate plugins: show their modules, tasks and signatures, or why they are refused."
    )

    @Argument(help: "Plugin files or directories. Without any, checks the --plugins directories.")
    var paths: [String] = []

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        try plugins.bootstrapLogging()
        let registry = Registry()
        var options = plugins
        // Directories named as arguments join the search path.
        var files: [String] = []
        for p in paths {
            if Self.isDirectory(p) { options.pluginDirectories.append(p) } else { files.append(p) }
        }
        let loader = options.makeLoader(registry: registry, quiet: true)
        var errors = options.loadAll(into: loader)
        for f in files {
            do {
                _ = try loader.loadPlugin(at: f)
            } catch {
                errors.append(error)
            }
        }
        let report = Self.report(registry)
        if !report.isEmpty { print(report) }
        for e in errors {
            print(e.description)
            print("")
        }
        if registry.modules.isEmpty && errors.isEmpty {
            print("no plugins found (give a .so file or a directory, or --plugins DIR)")
            throw ExitStatus.failure
        }
        if !errors.isEmpty {
            print("\(errors.count) error\(errors.count == 1 ? "" : "s")")
            throw ExitStatus.failure
        }
    }

    /// The module table: each module with its tasks, steps and handlers.
    static func report(_ registry: Registry) -> String {
        var lines: [String] = []
        for m in registry.modules {
            let version = m.version.map { " \($0)" } ?? ""
            let abi = m.kind == .plugin ? "  (ABI \(m.abiText))" : "  (library)"
            lines.append("\(m.name)\(version)\(abi)  \(m.path)")
            let width = m.taskNames.map(\.count).max() ?? 0
            for name in m.taskNames {
                guard let task = registry.task(named: name) else { continue }
                let pad = String(repeating: " ", count: width - name.count)
                let opts = task.options.summary.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                lines.append("  task    \(name)\(pad)  \(task.signature)  [\(task.symbol)]\(opts.isEmpty ? "" : "  " + opts)")
            }
            for step in registry.steps where step.module == m.name {
                let req = step.requires.isEmpty ? "" : ", requires \(step.requires.joined(separator: ", "))"
                lines.append("  step    \(step.name) (\(step.blueprint.rawValue) blueprint\(req))  [\(step.symbol)]")
            }
            for h in m.signalHandlers {
                lines.append("  signal  \(h.signal.rawValue) -> \(h.symbol)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
