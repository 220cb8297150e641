#if canImport(Glibc)
import Glibc
#endif

/// Loading, replacing and removing plugins while the worker runs (hot
/// plugins). Every file is loaded from its private, content-addressed copy
/// (`PluginStore`), so a replaced file never shares a path with the version
/// already loaded; nothing is ever unloaded.
extension PluginLoader {
    /// The files the master has loaded as plugins, in load order: what a new
    /// pool process must load to have exactly the master's tasks.
    public var pluginFiles: [String] {
        registry.modules.filter { $0.kind == .plugin }.map(\.path)
    }

    /// Copies `original` into `store` and loads the copy with every check of
    /// `loadPlugin(at:)` (permissions of the original, ELF, magic block, ABI,
    /// init, registrations). With `replacing`, that live module's name and
    /// tasks may be taken by the new file, and once the new file has loaded
    /// the old module is marked `replaced` and its tasks leave the registry;
    /// if the new file is refused, the old module stays as it was.
    ///
    /// The same bytes loaded before come back as the module loaded then: if
    /// it is retired (replaced or removed), it is revived with the tasks it
    /// registered then (its init does not run twice).
    ///
    /// Refusals name `original`, are recorded in the registry under it (for
    /// `inspect plugins` and the banner) and thrown; they are not logged here.
    /// - Returns: the module now live for `original`.
    /// - Parameter logging: log a refusal too (at start-up; the hot-plugins
    ///   watcher logs its own).
    public func loadCopy(of original: String, replacing old: PluginModule?, logging: Bool = false) throws(PluginError) -> PluginModule {
        guard let store else { return try loadPlugin(at: original) }
        do throws(PluginError) {
            let (originalID, _) = try checkFile(original, what: "plugin")
            let copy = try store.copy(original)
            // The same file reached by another path (a symlink, another
            // spelling of the directory), unchanged: the module loaded then.
            if old == nil, let earlier = originals[originalID], earlier.digest == copy.digest,
               earlier.module.status == .loaded {
                return earlier.module
            }
            let module: PluginModule
            do throws(PluginError) {
                module = try load(copy: copy, replacing: old)
            } catch {
                throw error.replacingPath(copy.path, with: original)
            }
            originals[originalID] = (copy.digest, module)
            registry.clearFailures(path: original)
            return module
        } catch {
            registry.clearFailures(path: original)
            registry.recordFailure(path: original, error: error)
            if logging { log(.error, error.logLine) }
            throw error
        }
    }

    func load(copy: PluginStore.Copy, replacing old: PluginModule?) throws(PluginError) -> PluginModule {
        let (id, _) = try checkFile(copy.path, what: "plugin")
        if let earlier = plugins[id] {
            let module = try earlier.get()
            if module === old || (module.status == .loaded && old == nil && module.originalPath == copy.original) {
                return module
            }
            try checkRevival(module, replacing: old, file: copy.original)
            if let old { registry.unregister(old, as: .replaced) }
            module.originalPath = copy.original
            registry.revive(module)
            return module
        }
        replacing = old
        defer { replacing = nil }
        let result: Result<PluginModule, PluginError>
        do {
            let module = try load(path: copy.path, id: id)
            module.originalPath = copy.original
            result = .success(module)
        } catch {
            result = .failure(error)
        }
        plugins[id] = result
        return try result.get()
    }

    /// A module loaded before may come back only if its name and tasks are
    /// free (or held by the module it replaces).
    func checkRevival(_ module: PluginModule, replacing old: PluginModule?, file: String) throws(PluginError) {
        if let other = registry.module(named: module.name), other !== old {
            throw PluginError(.duplicateModule, "\(file): a module named \"\(module.name)\" is loaded already",
                              detail: "\"\(module.name)\" was loaded from \(other.sourcePath)",
                              hint: "give each plugin a unique name in PLUGWORKER_MODULE(...), or remove one of the two files", path: file)
        }
        for task in module.registration?.tasks ?? [] {
            if let existing = registry.task(named: task.name), existing.module != old?.name {
                throw PluginError(.duplicateTask, "\(file): task \"\(task.name)\" is registered already",
                                  detail: "registered first by \(existing.module), again by \(module.name) (\(file))",
                                  hint: "rename one of the tasks, or remove one of the plugins", path: file)
            }
        }
    }

    /// Unregisters the live module loaded from `original` (its file was
    /// removed): its tasks leave the registry, it is marked `removed`, and
    /// its refusals are forgotten. Returns it, or nil if none was live.
    @discardableResult
    public func remove(original: String) -> PluginModule? {
        registry.clearFailures(path: original)
        guard let module = registry.modules.first(where: { $0.kind == .plugin && $0.sourcePath == original }) else { return nil }
        registry.unregister(module, as: .removed)
        return module
    }
}

extension PluginError {
    /// The same error with every mention of `from` (a private copy's path)
    /// turned into `to` (the file users know).
    func replacingPath(_ from: String, with to: String) -> PluginError {
        func fix(_ s: String) -> String { s.replacingAll(from, with: to) }
        var e = self
        e.message = fix(message)
        e.detail = fix(detail)
        e.hint = fix(hint)
        e.path = path.map(fix)
        return e
    }
}

extension String {
    /// Replaces every occurrence of `target` (non-empty) with `replacement`.
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        let t = Array(target.utf8)
        let bytes = Array(utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + t.count <= bytes.count && bytes[i] == t[0] && Array(bytes[i..<(i + t.count)]) == t {
                out.append(contentsOf: replacement.utf8)
                i += t.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
