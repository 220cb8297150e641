#if canImport(Glibc)
import Glibc
#endif
import CPlugworker

/// A signal handler a plugin connected.
public struct SignalHandler: @unchecked Sendable {
    public var signal: SignalName
    /// `module:Symbol` as the plugin named it.
    public var symbol: SymbolName
    /// The module that connected it.
    public var module: String
    let function: pw_signal_handler
}

/// Everything the plugins registered: tasks (the inputs of their
/// strategies), bootsteps, signal handlers, and the table of modules that
/// `registered`, `check` and the banner show.
///
/// One registry per process. It is filled while plugins load, on the thread
/// that loads them; after that the worker reads it from its single Hub
/// thread, so it takes no locks. Hot plugins change it at run time on that
/// same thread (`PluginLoader.loadCopy(of:replacing:)`, `remove(original:)`):
/// `modules` and `tasks` are always the live set; replaced and removed
/// modules move to `retired`.
public final class Registry: @unchecked Sendable {
    public private(set) var tasks: [String: NativeTask] = [:]
    /// Live modules (status `loaded`).
    public private(set) var modules: [PluginModule] = []
    /// Modules replaced or removed by hot plugins: still mapped (never
    /// unloaded), kept for `inspect plugins`.
    public private(set) var retired: [PluginModule] = []
    public private(set) var failures: [PluginFailure] = []
    public private(set) var steps: [StepDefinition] = []
    public private(set) var signalHandlers: [SignalName: [SignalHandler]] = [:]

    public init() {}

    /// The task registered under `name`.
    public func task(named name: String) -> NativeTask? { tasks[name] }

    /// Registered task names, sorted (as `inspect registered` lists them).
    public var taskNames: [String] { tasks.keys.sorted() }

    /// The loaded module called `name`.
    public func module(named name: String) -> PluginModule? { modules.first { $0.name == name } }

    /// The module that registered the task `name`.
    public func owner(ofTask name: String) -> PluginModule? {
        guard let t = tasks[name] else { return nil }
        return module(named: t.module)
    }

    func add(module: PluginModule) {
        modules.append(module)
    }

    func recordFailure(path: String, error: PluginError) {
        failures.append(PluginFailure(path: path, error: error))
    }

    /// Forgets the refusals of file `path` (it loaded since, or is gone).
    public func clearFailures(path: String) {
        failures.removeAll { $0.path == path }
    }

    /// Takes a live module's tasks and signal handlers out of the registry
    /// and marks it `status` (`.replaced` or `.removed`). Its bootsteps stay:
    /// the blueprint runs the steps it started with. The library stays
    /// loaded. Messages for its task names then take the unknown-task path.
    func unregister(_ module: PluginModule, as status: PluginModule.Status) {
        guard module.status == .loaded, modules.contains(where: { $0 === module }) else { return }
        modules.removeAll { $0 === module }
        for name in module.taskNames where tasks[name]?.module == module.name { tasks[name] = nil }
        for (signal, list) in signalHandlers {
            signalHandlers[signal] = list.filter { $0.module != module.name }
        }
        module.status = status
        retired.append(module)
    }

    /// Makes a retired module live again (its file came back with the same
    /// bytes): re-registers the tasks and handlers its init registered then.
    /// The caller has checked the names against the registry.
    func revive(_ module: PluginModule) {
        guard module.status != .loaded, let registration = module.registration else { return }
        retired.removeAll { $0 === module }
        module.status = .loaded
        module.taskNames = []
        module.signalHandlers = []
        commit(tasks: registration.tasks, steps: [], handlers: registration.handlers, to: module)
        modules.append(module)
    }

    /// What `inspect plugins` lists: live modules, then replaced and removed
    /// ones, then refused files.
    public func listing() -> [PluginListing] {
        let live = modules.map { m in
            PluginListing(name: m.name, version: m.version, path: m.path, originalPath: m.originalPath, abi: m.abiText,
                          status: m.status.rawValue, error: nil, tasks: m.taskNames)
        }
        let old = retired.map { m in
            PluginListing(name: m.name, version: m.version, path: m.path, originalPath: m.originalPath, abi: m.abiText,
                          status: m.status.rawValue, error: nil, tasks: m.registration?.tasks.map(\.name) ?? m.taskNames)
        }
        let refused = failures.map { f in
            PluginListing(name: Self.moduleName(fromFile: f.path), version: nil, path: f.path, originalPath: nil, abi: "-",
                          status: "refused", error: f.error, tasks: [])
        }
        return live + old + refused
    }

    /// `/p/libfoo.so` → `foo`.
    static func moduleName(fromFile path: String) -> String {
        var name = Substring(path.split(separator: "/").last ?? Substring(path))
        if name.hasPrefix("lib") { name = name.dropFirst(3) }
        if name.hasSuffix(".so") { name = name.dropLast(3) }
        return String(name)
    }

    /// Adds what a plugin's init registered, all or nothing. The caller has
    /// already checked names against the registry.
    func commit(tasks newTasks: [NativeTask], steps newSteps: [StepDefinition], handlers: [SignalHandler], to module: PluginModule) {
        for t in newTasks {
            tasks[t.name] = t
            module.taskNames.append(t.name)
        }
        for s in newSteps {
            steps.append(s)
            module.stepNames.append(s.name)
        }
        for h in handlers {
            signalHandlers[h.signal, default: []].append(h)
            module.signalHandlers.append((h.signal, h.symbol.description))
        }
    }

    /// Calls every handler connected to `signal`, in registration order.
    /// A handler's failure is returned (for the caller to log), never
    /// thrown: one plugin's bad handler must not stop the worker.
    @discardableResult
    public func send(_ signal: SignalName, _ payload: SignalPayload) -> [(SignalHandler, Int32)] {
        guard let handlers = signalHandlers[signal], !handlers.isEmpty else { return [] }
        var failed: [(SignalHandler, Int32)] = []
        payload.withCSignal(signal) { p in
            for h in handlers {
                let status = h.function(p)
                if status != 0 { failed.append((h, status)) }
            }
        }
        return failed
    }
}

/// The data a signal carries; nil fields reach C as NULL.
public struct SignalPayload: Sendable {
    public var sender: String?
    public var pid: Int32
    public var taskID: String?
    public var taskName: String?
    public var argsJSON: String?
    public var kwargsJSON: String?
    public var resultJSON: String?
    public var state: String?
    public var excType: String?
    public var excMessage: String?

    public init(sender: String? = nil, pid: Int32, taskID: String? = nil, taskName: String? = nil,
                argsJSON: String? = nil, kwargsJSON: String? = nil, resultJSON: String? = nil,
                state: String? = nil, excType: String? = nil, excMessage: String? = nil) {
        self.sender = sender
        self.pid = pid
        self.taskID = taskID
        self.taskName = taskName
        self.argsJSON = argsJSON
        self.kwargsJSON = kwargsJSON
        self.resultJSON = resultJSON
        self.state = state
        self.excType = excType
        self.excMessage = excMessage
    }

    func withCSignal(_ signal: SignalName, _ body: (UnsafePointer<pw_signal>) -> Void) {
        withOptionalCStrings([signal.rawValue, sender, taskID, taskName, argsJSON, kwargsJSON, resultJSON, state, excType, excMessage]) { c in
            var s = pw_signal(
                size: UInt32(MemoryLayout<pw_signal>.stride), signal: c[0], sender: c[1], pid: pid,
                task_id: c[2], task_name: c[3], args_json: c[4], kwargs_json: c[5],
                result_json: c[6], state: c[7], exc_type: c[8], exc_message: c[9])
            withUnsafePointer(to: &s) { body($0) }
        }
    }
}

/// Calls `body` with C strings for `values` (NULL for nil), valid during the call.
func withOptionalCStrings(_ values: [String?], _ body: ([UnsafePointer<CChar>?]) -> Void) {
    let pointers: [UnsafeMutablePointer<CChar>?] = values.map { $0.flatMap { strdup($0) } }
    defer { pointers.forEach { free($0) } }
    body(pointers.map { $0.map { UnsafePointer($0) } })
}
