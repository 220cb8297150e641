#if canImport(Glibc)
import Glibc
#endif
import CPlugworker
import Logging

/// Turns plugin files into registered tasks, bootsteps and signal handlers.
///
/// For each plugin file, in this order, each refusal a `PluginError`:
///  1. the file exists, and neither it nor its directory is writable by
///     others (unless insecure plugins are allowed);
///  2. it is an ELF shared object for this machine that exports
///     `plugworker_magic` — checked by reading the file, so a library without
///     the magic block is never opened and none of its code runs;
///  3. `dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)`: missing dependencies
///     are reported as such;
///  4. the magic block: its size, then the ABI major (older or newer) and
///     minor (newer than the host), then the name and version;
///  5. `plugworker_init`, given the host table; the registrations it makes
///     are checked one by one and committed together only if init and every
///     registration succeed.
/// Files are deduplicated by device and inode and never unloaded.
public final class PluginLoader {
    public let registry: Registry
    /// Directories searched for `lib<module>.so` / `<module>.so`, in order.
    public private(set) var searchPaths: [String]
    /// Load plugins even from files or directories writable by others.
    public let allowInsecure: Bool
    var logger: Logger

    struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// Every library opened, by file, whether as plugin or symbol source.
    var handles: [FileID: UnsafeMutableRawPointer] = [:]
    /// Libraries the dynamic linker found by soname.
    var sonameHandles: [String: UnsafeMutableRawPointer] = [:]
    /// The outcome of loading each plugin file.
    var plugins: [FileID: Result<PluginModule, PluginError>] = [:]
    /// Where plugin files found in the plugin directories are copied and
    /// loaded from (hot plugins, see `PluginStore`); nil: loaded in place.
    public var store: PluginStore?
    /// For each plugin-directory file loaded through `store` (by device and
    /// inode): the digest of the bytes loaded and the module they made.
    var originals: [FileID: (digest: String, module: PluginModule)] = [:]
    /// The live module a hot load is replacing: its name and task names do
    /// not count as duplicates while the new file loads.
    var replacing: PluginModule?

    /// - Parameters:
    ///   - searchPaths: plugin directories (`--plugins`, then
    ///     `PLUGWORKER_PLUGIN_PATH`); see `searchPaths(plugins:environment:)`.
    ///   - allowInsecure: `--allow-insecure-plugins`.
    public init(registry: Registry, searchPaths: [String], allowInsecure: Bool = false, logger: Logger = Logger(label: "plugworker.loader")) {
        self.registry = registry
        self.searchPaths = searchPaths
        self.allowInsecure = allowInsecure
        self.logger = logger
    }

    /// The plugin directories: those given with `--plugins`, then those in
    /// `PLUGWORKER_PLUGIN_PATH` (colon-separated), without repeats.
    public static func searchPaths(plugins: [String], environment: [String: String]) -> [String] {
        var paths: [String] = []
        let fromEnv = environment["PLUGWORKER_PLUGIN_PATH"].map { $0.split(separator: ":").map(String.init) } ?? []
        for p in plugins + fromEnv where !p.isEmpty && !paths.contains(p) { paths.append(p) }
        return paths
    }

    func log(_ level: Logger.Level, _ message: String) {
        logger.log(level: level, "\(message)")
    }

    // MARK: Loading plugins

    /// Loads every `*.so` file in every plugin directory, in name order
    /// (each from a private copy when `store` is set). Failures are logged,
    /// recorded in the registry and returned; the other plugins still load.
    @discardableResult
    public func loadDirectories() -> [Result<PluginModule, PluginError>] {
        var results: [Result<PluginModule, PluginError>] = []
        for dir in searchPaths {
            guard let entries = Self.sharedObjects(in: dir) else {
                let error = PluginError(.notFound, "plugin directory \(dir) cannot be read",
                                        detail: "opendir: \(String(cString: strerror(errno)))",
                                        hint: "create it, or fix the --plugins / PLUGWORKER_PLUGIN_PATH entry", path: dir)
                registry.recordFailure(path: dir, error: error)
                log(.error, error.logLine)
                results.append(.failure(error))
                continue
            }
            for file in entries {
                do {
                    if store != nil {
                        results.append(.success(try loadCopy(of: dir + "/" + file, replacing: nil, logging: true)))
                        continue
                    }
                    results.append(.success(try loadPlugin(at: dir + "/" + file)))
                } catch {
                    results.append(.failure(error))
                }
            }
        }
        return results
    }

    /// The `*.so` files (not hidden) in `dir`, sorted; nil if it cannot be read.
    public static func sharedObjects(in dir: String) -> [String]? {
        guard let d = opendir(dir) else { return nil }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasSuffix(".so") && !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    /// Loads the plugin `name` (a module name found on the search path, or a
    /// path with `/`).
    public func loadPlugin(named name: String) throws(PluginError) -> PluginModule {
        switch SymbolName.lookup(forModule: name) {
        case .path(let p): return try loadPlugin(at: p)
        case .soname(let s), .name(let s): return try loadPlugin(at: try locate(module: s, context: "plugin \(s)"))
        }
    }

    /// Loads one plugin file. Loading a file already loaded (by any path)
    /// returns the module loaded then, or its error.
    public func loadPlugin(at path: String) throws(PluginError) -> PluginModule {
        do {
            let (id, _) = try checkFile(path, what: "plugin")
            if let earlier = plugins[id] { return try earlier.get() }
            let result: Result<PluginModule, PluginError>
            do {
                result = .success(try load(path: path, id: id))
            } catch {
                result = .failure(error)
            }
            plugins[id] = result
            switch result {
            case .success(let module):
                log(.debug, "loaded plugin \(module.name) \(module.version ?? "") from \(path): \(module.taskNames.count) tasks")
            case .failure(let error):
                registry.recordFailure(path: path, error: error)
                log(.error, error.logLine)
            }
            return try result.get()
        } catch {
            if error.code == .notFound || error.code == .insecurePermissions {
                registry.recordFailure(path: path, error: error)
                log(.error, error.logLine)
            }
            throw error
        }
    }

    func load(path: String, id: FileID) throws(PluginError) -> PluginModule {
        try vetELF(path: path)
        let handle = try open(path: path, id: id)
        let magic = try readMagic(handle: handle, path: path)
        if let other = registry.module(named: magic.name), other !== replacing {
            throw PluginError(.duplicateModule, "\(path): a module named \"\(magic.name)\" is loaded already",
                              detail: "\"\(magic.name)\" was loaded from \(other.path)",
                              hint: "give each plugin a unique name in PLUGWORKER_MODULE(...), or remove one of the two files", path: path)
        }
        guard let initAddress = dlsym(handle, PW_INIT_SYMBOL) else {
            throw PluginError(.noInitEntry, "\(path): plugin \"\(magic.name)\" has no init entry",
                              detail: "the library exports no symbol \"\(PW_INIT_SYMBOL)\"",
                              hint: "define `PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin)` and register the plugin's tasks there", path: path)
        }
        let registration = PluginRegistration(moduleName: magic.name, path: path, handle: handle, loader: self)
        let initFunction = unsafeBitCast(initAddress, to: pw_init_fn.self)
        let status = initFunction(UnsafePointer(HostTable.table), registration.opaque)
        registration.isOpen = false
        if let error = registration.firstError { throw error }
        if status != 0 {
            let said = registration.initMessage.map { "it said: \($0)" } ?? "it gave no reason (host->set_error was not called)"
            throw PluginError(.initFailed, "\(path): plugin \"\(magic.name)\" failed to initialise",
                              detail: "plugworker_init returned \(status) (\(Self.statusName(status))); \(said)",
                              hint: "fix the condition the plugin reports; its init runs again at the next start", path: path)
        }
        let module = PluginModule(kind: .plugin, name: magic.name, version: magic.version, path: path,
                                  abi: (magic.major, magic.minor), handle: handle)
        module.registration = registration
        if let old = replacing { registry.unregister(old, as: .replaced) }
        registry.commit(tasks: registration.tasks, steps: registration.steps, handlers: registration.handlers, to: module)
        registry.add(module: module)
        return module
    }

    static func statusName(_ status: Int32) -> String {
        switch status {
        case Int32(PW_E_INVALID.rawValue): return "PW_E_INVALID"
        case Int32(PW_E_STATE.rawValue): return "PW_E_STATE"
        case Int32(PW_E_EXISTS.rawValue): return "PW_E_EXISTS"
        case Int32(PW_E_NOT_FOUND.rawValue): return "PW_E_NOT_FOUND"
        case Int32(PW_E_SIGNATURE.rawValue): return "PW_E_SIGNATURE"
        case Int32(PW_E_FAILED.rawValue): return "PW_E_FAILED"
        default: return "unknown status"
        }
    }

    // MARK: Checks

    /// Stats a file and applies the permission rule; returns its identity.
    func checkFile(_ path: String, what: String) throws(PluginError) -> (FileID, stat) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            throw PluginError(.notFound, "\(path): no such \(what) file", detail: "stat: \(reason)",
                              hint: "check the path, or build the plugin first (make -C Plugins)", path: path)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw PluginError(.notSharedObject, "\(path): not a shared object", detail: "it is not a regular file",
                              hint: "point at the plugin's .so file", path: path)
        }
        if !allowInsecure {
            if st.st_mode & S_IWOTH != 0 {
                throw insecure(path, "the file is writable by others (mode \(String(st.st_mode & 0o7777, radix: 8)))", fix: "chmod o-w \(path)")
            }
            let dir = Self.directory(of: path)
            var ds = stat()
            if stat(dir, &ds) == 0, ds.st_mode & S_IWOTH != 0 {
                throw insecure(path, "its directory \(dir) is writable by others (mode \(String(ds.st_mode & 0o7777, radix: 8)))", fix: "chmod o-w \(dir)")
            }
        }
        return (FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)), st)
    }

    func insecure(_ path: String, _ detail: String, fix: String) -> PluginError {
        PluginError(.insecurePermissions, "\(path): refused, anyone could replace this plugin", detail: detail,
                    hint: "\(fix), or pass --allow-insecure-plugins if you accept the risk", path: path)
    }

    /// The real directory a file lives in (symlinks resolved).
    static func directory(of path: String) -> String {
        let resolved: String
        if let r = realpath(path, nil) {
            resolved = String(cString: r)
            free(r)
        } else {
            resolved = path
        }
        guard let slash = resolved.lastIndex(of: "/") else { return "." }
        return slash == resolved.startIndex ? "/" : String(resolved[..<slash])
    }

    func vetELF(path: String) throws(PluginError) {
        let image: ELFImage
        do {
            image = try ELFImage.inspect(path: path)
        } catch {
            let detail: String
            switch error {
            case .unreadable(let why): detail = "cannot read it: \(why)"
            case .notELF: detail = "it does not start with the ELF magic bytes"
            case .wrongClass: detail = "it is not a 64-bit little-endian ELF file"
            case .wrongMachine(let m): detail = "it is built for ELF machine \(m), this host is \(ELFImage.hostMachine)"
            case .notShared(let t): detail = "its ELF type is \(t == 1 ? "a relocatable object (.o)" : t == 2 ? "an executable" : "\(t)"), not a shared object"
            }
            throw PluginError(.notSharedObject, "\(path): not a shared object", detail: detail,
                              hint: "build the plugin with `cc -shared -fPIC -fvisibility=hidden ...` for this machine", path: path)
        }
        defer { image.close() }
        if image.exportsSymbol(PW_MAGIC_SYMBOL) == false {
            throw noMagic(path, detail: "the library exports no symbol \"\(PW_MAGIC_SYMBOL)\"; it was not opened and none of its code ran")
        }
    }

    func noMagic(_ path: String, detail: String) -> PluginError {
        PluginError(.noMagicBlock, "\(path): not a plugworker plugin (no magic block)", detail: detail,
                    hint: "plugworker plugins are required to use PLUGWORKER_MODULE(\"name\", \"version\") from plugworker.h; to call a plain library's function, name it with --task", path: path)
    }

    /// dlopen with the loader's flags, mapping failures to error codes.
    func open(path: String, id: FileID) throws(PluginError) -> UnsafeMutableRawPointer {
        if let h = handles[id] { return h }
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            if why.contains("cannot open shared object file") || why.contains("undefined symbol") {
                throw PluginError(.missingDependency, "\(path): a library it depends on cannot be loaded", detail: why,
                                  hint: "install the missing library, or add its directory to LD_LIBRARY_PATH; `ldd \(path)` lists what is missing", path: path)
            }
            throw PluginError(.loadFailed, "\(path): the dynamic linker refused it", detail: why,
                              hint: "rebuild the library for this system", path: path)
        }
        handles[id] = handle
        return handle
    }

    struct Magic {
        var name: String
        var version: String
        var major: Int
        var minor: Int
    }

    func readMagic(handle: UnsafeMutableRawPointer, path: String) throws(PluginError) -> Magic {
        guard let address = dlsym(handle, PW_MAGIC_SYMBOL) else {
            throw noMagic(path, detail: "dlsym found no \"\(PW_MAGIC_SYMBOL)\"")
        }
        let function = unsafeBitCast(address, to: pw_magic_fn.self)
        guard let block = function() else {
            throw badMagic(path, "plugworker_magic() returned NULL")
        }
        let raw = UnsafeRawPointer(block)
        let size = Int(raw.load(as: UInt32.self))
        guard size >= 8 else { throw badMagic(path, "the block's size field is \(size), less than any version's") }
        let major = Int(raw.load(fromByteOffset: 4, as: UInt16.self))
        let minor = Int(raw.load(fromByteOffset: 6, as: UInt16.self))
        let hostMajor = Int(PW_ABI_MAJOR)
        let hostMinor = Int(PW_ABI_MINOR)
        if major < hostMajor {
            throw PluginError(.abiTooOld, "\(path): plugin built for an older plugworker ABI",
                              detail: "host ABI is \(hostMajor).\(hostMinor), plugin ABI is \(major).\(minor)",
                              hint: "rebuild the plugin against this plugworker's plugworker.h", path: path)
        }
        if major > hostMajor {
            throw PluginError(.abiTooNew, "\(path): plugin built for a newer plugworker ABI",
                              detail: "host ABI is \(hostMajor).\(hostMinor), plugin ABI is \(major).\(minor)",
                              hint: "upgrade plugworker, or rebuild the plugin against this plugworker's plugworker.h", path: path)
        }
        if minor > hostMinor {
            throw PluginError(.abiMinorTooNew, "\(path): plugin needs a newer plugworker",
                              detail: "host ABI is \(hostMajor).\(hostMinor), plugin ABI is \(major).\(minor); it may call host functions this host lacks",
                              hint: "upgrade plugworker, or rebuild the plugin against this plugworker's plugworker.h", path: path)
        }
        guard size >= HostTable.magicSize1_0 else {
            throw badMagic(path, "the block is \(size) bytes, ABI \(major).\(minor) needs \(HostTable.magicSize1_0)")
        }
        guard let cName = block.pointee.name, let cVersion = block.pointee.version else {
            throw badMagic(path, "the block's name or version is NULL")
        }
        let name = String(cString: cName)
        guard TaskSpec.isIdentifier(name) else {
            throw badMagic(path, "module name \"\(name)\" is not an identifier ([A-Za-z_][A-Za-z0-9_]*)")
        }
        return Magic(name: name, version: String(cString: cVersion), major: major, minor: minor)
    }

    func badMagic(_ path: String, _ detail: String) -> PluginError {
        PluginError(.badMagicBlock, "\(path): invalid magic block", detail: detail,
                    hint: "define the block with PLUGWORKER_MODULE(\"name\", \"version\") from plugworker.h", path: path)
    }

    // MARK: Symbols

    /// Finds `lib<module>.so` or `<module>.so` on the search path.
    func locate(module: String, context: String) throws(PluginError) -> String {
        var tried: [String] = []
        for dir in searchPaths {
            for file in ["lib\(module).so", "\(module).so"] {
                let candidate = dir + "/" + file
                tried.append(candidate)
                if access(candidate, F_OK) == 0 { return candidate }
            }
        }
        throw PluginError(.notFound, "\(context): no module \"\(module)\"",
                          detail: tried.isEmpty ? "no plugin directories are configured" : "tried \(tried.joined(separator: ", "))",
                          hint: "build it into a plugin directory (--plugins DIR or PLUGWORKER_PLUGIN_PATH), name a path containing '/', or a soname like libm.so.6")
    }

    /// Opens a library that a `module:Symbol` names, as a symbol source.
    func library(_ module: String, context: String) throws(PluginError) -> (handle: UnsafeMutableRawPointer, path: String) {
        switch SymbolName.lookup(forModule: module) {
        case .soname(let soname):
            if let h = sonameHandles[soname] { return (h, soname) }
            _ = dlerror()
            guard let h = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
                let why = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
                throw PluginError(.notFound, "\(context): the dynamic linker cannot load \"\(soname)\"", detail: why,
                                  hint: "install the library, check the soname (`ldconfig -p | grep \(soname)`), or give a path")
            }
            sonameHandles[soname] = h
            return (h, soname)
        case .path(let path):
            let (id, _) = try checkFile(path, what: "library")
            try vetShared(path)
            return (try open(path: path, id: id), path)
        case .name(let name):
            let path = try locate(module: name, context: context)
            let (id, _) = try checkFile(path, what: "library")
            try vetShared(path)
            return (try open(path: path, id: id), path)
        }
    }

    func vetShared(_ path: String) throws(PluginError) {
        do {
            let image = try ELFImage.inspect(path: path)
            image.close()
        } catch {
            throw PluginError(.notSharedObject, "\(path): not a shared object", detail: "\(error)",
                              hint: "name a shared library (.so) built for this machine", path: path)
        }
    }

    /// Resolves `module:Symbol` to an address. A bare symbol, or the
    /// registering plugin's own name, means the registering plugin; a loaded
    /// plugin's name means that plugin; anything else is opened as a library.
    func resolve(_ name: SymbolName, registering: PluginRegistration?, for what: String) throws(PluginError) -> UnsafeMutableRawPointer {
        let handle: UnsafeMutableRawPointer
        let file: String
        if let r = registering, name.module == nil || name.module == r.moduleName {
            handle = r.handle
            file = r.path
        } else if let m = name.module, let loaded = registry.module(named: m) {
            handle = loaded.handle
            file = loaded.path
        } else if let m = name.module {
            (handle, file) = try library(m, context: registering.map { "\($0.path): \(what)" } ?? what)
        } else {
            throw PluginError(.unknownSymbol, "\(what): \"\(name)\" names no module",
                              detail: "a bare symbol is only allowed inside a plugin's own descriptors",
                              hint: "write it as module:Symbol, e.g. libm.so.6:pow")
        }
        _ = dlerror()
        guard let address = dlsym(handle, name.symbol) else {
            let why = dlerror().map { String(cString: $0) } ?? "dlsym returned NULL"
            let origin = registering.map { "\($0.path): " } ?? ""
            throw PluginError(.unknownSymbol, "\(origin)unknown symbol \"\(name)\" for \(what)",
                              detail: "\(file) does not export \"\(name.symbol)\" (\(why))",
                              hint: "check the spelling, and export the function with PW_EXPORT (plugins build with -fvisibility=hidden); `nm -D --defined-only \(file)` lists what it exports",
                              path: registering?.path ?? file)
        }
        return address
    }

    // MARK: Tasks and steps

    func makeTask(name: String, module: String, symbol: SymbolName, signatureText: String, options: TaskOptions, registering: PluginRegistration?) throws(PluginError) -> NativeTask {
        let origin = registering?.path ?? "--task \(name)"
        let signature: TaskSignature
        do {
            signature = try TaskSignature(parsing: signatureText)
        } catch {
            if case .unknownType(let t) = error.kind {
                throw PluginError(.unknownType, "\(origin): task \"\(name)\" (\(symbol)) uses unknown type '\(t)'",
                                  detail: error.description,
                                  hint: "use one of: \(ValueType.allCases.map(\.rawValue).joined(separator: ", "))", path: registering?.path)
            }
            throw PluginError(.badSignature, "\(origin): task \"\(name)\" (\(symbol)) has a signature that does not parse",
                              detail: error.description,
                              hint: "write it as name(param: type, ...) -> type, e.g. add(a: int64, b: int64) -> int64", path: registering?.path)
        }
        if let existing = registry.task(named: name), existing.module != replacing?.name {
            let owner = registry.module(named: existing.module)
            throw PluginError(.duplicateTask, "\(origin): task \"\(name)\" is registered already",
                              detail: "registered first by \(existing.module) (\(owner?.path ?? existing.symbol.description)), again by \(module) (\(origin))",
                              hint: "rename one of the tasks, or remove one of the plugins", path: registering?.path)
        }
        if registering?.tasks.contains(where: { $0.name == name }) == true {
            throw PluginError(.duplicateTask, "\(origin): task \"\(name)\" is registered twice by \(module)",
                              detail: "plugworker_init called register_task twice with this name",
                              hint: "register each task once", path: registering?.path)
        }
        let address = try resolve(symbol, registering: registering, for: "task \"\(name)\"")
        do {
            return try NativeTask(name: name, module: module, symbol: symbol, signature: signature, options: options, function: address)
        } catch {
            throw PluginError(.badSignature, "\(origin): task \"\(name)\" cannot be called through libffi",
                              detail: error.description, hint: "simplify the signature", path: registering?.path)
        }
    }

    /// Registers the bootstep a `--steps module:Symbol` names: `Symbol` is a
    /// function returning a static `pw_step_def *`, in a loaded plugin or a
    /// library found as `module:Symbol` is.
    @discardableResult
    public func registerStep(spec: String) throws(PluginError) -> StepDefinition {
        guard let symbol = SymbolName(parsing: spec), let module = symbol.module else {
            throw PluginError(.badTaskSpec, "--steps \"\(spec)\" is not module:Symbol", detail: "a step is named like a task's function",
                              hint: "write e.g. --steps audit:audit_worker_step")
        }
        let owner: PluginRegistration
        if let loaded = registry.module(named: module) {
            owner = PluginRegistration(moduleName: loaded.name, path: loaded.path, handle: loaded.handle, loader: self)
        } else {
            let (handle, path) = try library(module, context: "--steps \(spec)")
            owner = PluginRegistration(moduleName: module, path: path, handle: handle, loader: self)
        }
        let step = try makeStep(symbol: symbol, module: owner.moduleName, registering: owner)
        let target = registry.module(named: owner.moduleName)
            ?? PluginModule(kind: .library, name: module, version: nil, path: owner.path, abi: nil, handle: owner.handle)
        if registry.module(named: target.name) == nil { registry.add(module: target) }
        registry.commit(tasks: [], steps: [step], handlers: [], to: target)
        return step
    }

    func makeStep(symbol: SymbolName, module: String, registering: PluginRegistration) throws(PluginError) -> StepDefinition {
        let address = try resolve(symbol, registering: registering, for: "bootstep")
        let function = unsafeBitCast(address, to: pw_step_fn.self)
        guard let def = function(), let value = HostTable.read(def, minimumSize: HostTable.stepDefSize1_0),
              let cName = value.name else {
            throw PluginError(.invalidDescriptor, "\(registering.path): bootstep \(symbol) returned no valid pw_step_def",
                              detail: "the descriptor is NULL, smaller than ABI 1.0's pw_step_def, or has no name",
                              hint: "return a static const pw_step_def with .size = sizeof(pw_step_def) and a .name", path: registering.path)
        }
        let blueprint: StepDefinition.Blueprint
        switch value.blueprint {
        case Int32(PW_BLUEPRINT_WORKER.rawValue): blueprint = .worker
        case Int32(PW_BLUEPRINT_CONSUMER.rawValue): blueprint = .consumer
        default:
            throw PluginError(.invalidDescriptor, "\(registering.path): bootstep \(symbol) names blueprint \(value.blueprint)",
                              detail: "blueprint must be PW_BLUEPRINT_WORKER (1) or PW_BLUEPRINT_CONSUMER (2)",
                              hint: "set .blueprint in the step descriptor", path: registering.path)
        }
        let name = String(cString: cName)
        if registry.steps.contains(where: { $0.name == name && $0.module != replacing?.name }) || registering.steps.contains(where: { $0.name == name }) {
            throw PluginError(.duplicateStep, "\(registering.path): bootstep \"\(name)\" is registered already",
                              detail: "step names must be unique across plugins", hint: "rename the step", path: registering.path)
        }
        return StepDefinition(name: name, blueprint: blueprint, requires: StepDefinition.list(value.requires),
                              queues: StepDefinition.list(value.queues), symbol: symbol, module: module, definition: def)
    }

    /// Registers a task from a `--task` specification:
    /// `name=module:Symbol(param: type, ...) -> type`.
    @discardableResult
    public func registerTask(spec: String) throws(PluginError) -> NativeTask {
        let parsed = try TaskSpec(parsing: spec)
        let moduleName = parsed.symbol.module!
        let task = try makeTask(name: parsed.name, module: moduleName, symbol: parsed.symbol,
                                signatureText: parsed.signature, options: TaskOptions(), registering: nil)
        let module: PluginModule
        if let existing = registry.module(named: moduleName) {
            module = existing
        } else {
            let (handle, path) = try library(moduleName, context: "--task \(parsed.name)")
            module = PluginModule(kind: .library, name: moduleName, version: nil, path: path, abi: nil, handle: handle)
            registry.add(module: module)
        }
        registry.commit(tasks: [task], steps: [], handlers: [], to: module)
        return task
    }
}
