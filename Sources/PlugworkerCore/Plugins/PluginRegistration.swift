import CPlugworker

/// What `pw_plugin *` points at while a plugin's init runs: the plugin's
/// registrations, collected and checked one by one, then committed to the
/// registry all together only if init succeeds.
final class PluginRegistration {
    let moduleName: String
    let path: String
    let handle: UnsafeMutableRawPointer
    unowned let loader: PluginLoader
    /// Registration is possible only while this is true (during init).
    var isOpen = true
    /// The first registration that failed; it fails the whole load.
    var firstError: PluginError?
    /// What the plugin said through `set_error`.
    var initMessage: String?

    var tasks: [NativeTask] = []
    var steps: [StepDefinition] = []
    var handlers: [SignalHandler] = []

    init(moduleName: String, path: String, handle: UnsafeMutableRawPointer, loader: PluginLoader) {
        self.moduleName = moduleName
        self.path = path
        self.handle = handle
        self.loader = loader
    }

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ p: OpaquePointer?) -> PluginRegistration? {
        guard let p else { return nil }
        return Unmanaged<PluginRegistration>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    /// Records a failure and returns its status code for the plugin.
    func fail(_ error: PluginError, _ status: pw_status) -> Int32 {
        if firstError == nil { firstError = error }
        return Int32(status.rawValue)
    }

    /// Refuses a call made after init returned.
    func refuseIfClosed(_ call: String) -> Int32? {
        guard !isOpen else { return nil }
        loader.log(.warning, "plugin \(moduleName) (\(path)) called \(call) outside plugworker_init; registration is only possible during init (PW_E_STATE)")
        return Int32(PW_E_STATE.rawValue)
    }

    // MARK: Registrations

    func registerTask(_ def: UnsafePointer<pw_task_def>?) -> Int32 {
        if let refused = refuseIfClosed("register_task") { return refused }
        guard let def = HostTable.read(def, minimumSize: HostTable.taskDefSize1_0) else {
            return fail(invalid("register_task was given a NULL or truncated pw_task_def", hint: "pass a pw_task_def with .size = sizeof(pw_task_def)"), PW_E_INVALID)
        }
        guard let cName = def.name, let cSymbol = def.symbol, let cSignature = def.signature else {
            return fail(invalid("a task descriptor lacks its name, symbol or signature", hint: "set .name, .symbol and .signature in every pw_task_def"), PW_E_INVALID)
        }
        let name = String(cString: cName)
        let symbolText = String(cString: cSymbol)
        let signatureText = String(cString: cSignature)
        guard TaskSpec.isValidTaskName(name) else {
            return fail(invalid("task name \"\(name)\" is not valid", hint: "use a Celery task name such as \"arith.add\": no spaces, not empty"), PW_E_INVALID)
        }
        guard let symbol = SymbolName(parsing: symbolText) else {
            return fail(invalid("task \"\(name)\" has an invalid symbol \"\(symbolText)\"", hint: "name the function as \"module:Symbol\""), PW_E_INVALID)
        }
        let options: TaskOptions
        do {
            options = try HostTable.options(def.options)
        } catch {
            return fail(invalid("task \"\(name)\": \(error)", hint: "fix the options in the task's pw_task_def"), PW_E_INVALID)
        }
        do {
            let task = try loader.makeTask(name: name, module: moduleName, symbol: symbol, signatureText: signatureText, options: options, registering: self)
            tasks.append(task)
            return Int32(PW_OK.rawValue)
        } catch {
            let status: pw_status
            switch error.code {
            case .unknownSymbol, .notFound, .missingDependency: status = PW_E_NOT_FOUND
            case .badSignature, .unknownType: status = PW_E_SIGNATURE
            case .duplicateTask: status = PW_E_EXISTS
            default: status = PW_E_INVALID
            }
            return fail(error, status)
        }
    }

    func registerStep(_ cSymbol: UnsafePointer<CChar>?) -> Int32 {
        if let refused = refuseIfClosed("register_step") { return refused }
        guard let cSymbol, let symbol = SymbolName(parsing: String(cString: cSymbol)) else {
            return fail(invalid("register_step was given a NULL or invalid symbol", hint: "name the step's descriptor function as \"module:Symbol\""), PW_E_INVALID)
        }
        do {
            let step = try loader.makeStep(symbol: symbol, module: moduleName, registering: self)
            steps.append(step)
            return Int32(PW_OK.rawValue)
        } catch {
            return fail(error, error.code == .duplicateStep ? PW_E_EXISTS : (error.code == .invalidDescriptor ? PW_E_INVALID : PW_E_NOT_FOUND))
        }
    }

    /// An unknown signal name returns PW_E_INVALID and is logged, but does
    /// not fail the load: a plugin may probe for signals newer hosts have.
    func connectSignal(_ cSignal: UnsafePointer<CChar>?, _ cSymbol: UnsafePointer<CChar>?) -> Int32 {
        if let refused = refuseIfClosed("connect_signal") { return refused }
        guard let cSignal, let cSymbol, let symbol = SymbolName(parsing: String(cString: cSymbol)) else {
            return fail(invalid("connect_signal was given a NULL signal or an invalid symbol", hint: "pass a signal name and a \"module:Symbol\" handler"), PW_E_INVALID)
        }
        let signalText = String(cString: cSignal)
        guard let signal = SignalName(rawValue: signalText) else {
            loader.log(.warning, "plugin \(moduleName): connect_signal(\"\(signalText)\") ignored: no such signal (known: \(SignalName.allCases.map(\.rawValue).joined(separator: ", ")))")
            return Int32(PW_E_INVALID.rawValue)
        }
        do {
            let address = try loader.resolve(symbol, registering: self, for: "signal handler for \(signal.rawValue)")
            let function = unsafeBitCast(address, to: pw_signal_handler.self)
            handlers.append(SignalHandler(signal: signal, symbol: symbol, module: moduleName, function: function))
            return Int32(PW_OK.rawValue)
        } catch {
            return fail(error, PW_E_NOT_FOUND)
        }
    }

    func invalid(_ message: String, hint: String) -> PluginError {
        PluginError(.invalidDescriptor, "\(path): \(message)", detail: "plugin \(moduleName), during plugworker_init", hint: hint, path: path)
    }
}
