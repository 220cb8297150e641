#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import Logging
import PlugworkerCore
import PlugworkerPool

/// Hot plugins: the worker's `Autoreloader` step (Celery's name for its
/// module reloader), on by default, off with `--no-hot-plugins`.
///
/// An inotify descriptor in the Hub watches every plugin directory;
/// `PluginWatcher` debounces the events per file, and when a file's check
/// is due it is reconciled with the registry:
///  - a new file is copied to the `PluginStore`, checked and loaded from the
///    copy like any plugin, and its tasks registered;
///  - a file whose bytes changed (a new inode, or rewritten in place) is
///    loaded the same way and replaces the module it came from: the old
///    module is marked `replaced`, its tasks make way for the new ones;
///  - a removed file's module is unregistered (`removed`): its task names
///    take the unknown-task path (NotRegistered FAILURE, rejected);
///  - a file that is refused is logged with the loader's message, detail and
///    hint and listed as `refused` by `inspect plugins`; a module it was to
///    replace stays live.
/// Then, if anything changed, the consumer's strategies follow the registry,
/// the zygote gets the new plugin set (`Zygote.setPluginFiles`) and the pool
/// is recycled (`Pool.recycle`): new processes load exactly the master's
/// files, old ones finish the jobs they hold and exit. Jobs are only given
/// to new processes, so no task is lost or run twice, and tasks already
/// running finish on the old code. Libraries are never unloaded.
///
/// Bootsteps a hot-loaded plugin registers do not run until the next start
/// (the blueprint is fixed at boot); that is logged.
final class HotPlugins {
    let loader: PluginLoader
    let hub: Hub
    let pool: Pool
    let zygote: Zygote
    let logger: Logger
    /// Called after the registry changed (the consumer refreshes its
    /// strategies).
    var onChange: () -> Void = {}
    /// Counts loads and refusals (`plugworker_plugin_loads_total`, ...).
    var metrics: WorkerMetrics?

    var fd: Int32 = -1
    var watcher: PluginWatcher
    var timerEntry: Timer.Entry?
    var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)

    /// What the watch asks inotify for.
    static let mask = UInt32(PWS_IN_CLOSE_WRITE | PWS_IN_MOVED_TO | PWS_IN_CREATE | PWS_IN_DELETE | PWS_IN_MOVED_FROM
        | PWS_IN_MODIFY | PWS_IN_DELETE_SELF | PWS_IN_MOVE_SELF | PWS_IN_ONLYDIR)

    init(loader: PluginLoader, hub: Hub, pool: Pool, zygote: Zygote, logger: Logger, debounce: Double = 0.15) {
        self.loader = loader
        self.hub = hub
        self.pool = pool
        self.zygote = zygote
        self.logger = logger
        self.watcher = PluginWatcher(debounce: debounce)
    }

    /// Opens the inotify descriptor, watches each plugin directory (one
    /// that cannot be watched is logged and skipped) and adds it to the Hub.
    func start() throws(SystemCallError) {
        fd = pws_inotify_init()
        if fd < 0 { throw SystemCallError(call: "inotify_init1") }
        for dir in loader.searchPaths {
            let wd = pws_inotify_add_watch(fd, dir, Self.mask)
            if wd < 0 {
                logger.warning("plugins: cannot watch \(dir) for hot plugins: \(String(cString: strerror(errno)))")
                continue
            }
            watcher.directories[wd] = dir
        }
        try hub.add(fd) { [unowned self] _ in self.readEvents() }
        logger.debug("plugins: watching \(watcher.directories.values.sorted().joined(separator: ", ")) for hot plugins")
        catchUp()
    }

    /// What changed between the start-up load and the watch: files that
    /// appeared (neither loaded nor refused then) and files of loaded
    /// modules that are gone.
    func catchUp() {
        let registry = loader.registry
        let known = Set(registry.modules.map(\.sourcePath) + registry.failures.map(\.path))
        let paths = allPaths().filter { !known.contains($0) || access($0, F_OK) != 0 }
        if !paths.isEmpty { reconcile(paths) }
    }

    func stop() {
        timerEntry?.cancel()
        timerEntry = nil
        guard fd >= 0 else { return }
        hub.remove(fd)
        close(fd)
        fd = -1
    }

    /// Reads every pending event and schedules the checks.
    func readEvents() {
        var rescan = false
        while fd >= 0 {
            let n = readBuffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            let now = Timer.now()
            let events = readBuffer.withUnsafeBytes { InotifyEvent.parse(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            for event in events {
                switch watcher.handle(event, now: now, isSymlink: Self.isSymlink) {
                case .overflow?: rescan = true
                case .directoryGone(let dir)?:
                    logger.warning("plugins: the plugin directory \(dir) was removed or moved; its plugins stay as they are until it is watched again (restart)")
                case nil: break
                }
            }
        }
        if rescan {
            logger.warning("plugins: inotify queue overflowed; checking every plugin file")
            reconcile(allPaths())
        }
        schedule()
    }

    static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// Arms one Hub timer for the earliest due check.
    func schedule() {
        timerEntry?.cancel()
        timerEntry = nil
        guard let due = watcher.nextDue else { return }
        timerEntry = hub.timer.call(after: max(0, due - Timer.now())) { [unowned self] in
            self.timerEntry = nil
            self.reconcile(self.watcher.takeDue(now: Timer.now()))
            self.schedule()
        }
    }

    /// Every plugin file in the watched directories, and every live module's
    /// file (which may be gone).
    func allPaths() -> [String] {
        var paths = Set(loader.registry.modules.filter { $0.kind == .plugin }.map(\.sourcePath))
        for dir in watcher.directories.values {
            for name in PluginLoader.sharedObjects(in: dir) ?? [] { paths.insert(dir + "/" + name) }
        }
        return paths.sorted()
    }

    /// Brings the registry in line with `paths` as they are now; if anything
    /// changed, refreshes the strategies and recycles the pool (once for the
    /// whole batch).
    func reconcile(_ paths: [String]) {
        var changed = false
        for path in paths where reconcile(path) { changed = true }
        guard changed else { return }
        onChange()
        if !zygote.setPluginFiles(loader.pluginFiles) {
            logger.error("plugins: cannot hand the new plugin set to the zygote; pool processes keep the old one")
            return
        }
        let retired = pool.recycle()
        logger.info("plugins: pool recycled: \(retired) process(es) finishing their tasks on the old plugins, new ones load the new set")
    }

    /// One file; returns true if the registry changed.
    func reconcile(_ path: String) -> Bool {
        let registry = loader.registry
        let live = registry.modules.first { $0.kind == .plugin && $0.sourcePath == path }
        var st = stat()
        guard stat(path, &st) == 0 else {
            if let removed = loader.remove(original: path) {
                logger.info("plugins: removed \(Self.file(path)) (\(Self.label(removed))): tasks \(Self.list(removed.taskNames)) unregistered")
                return true
            }
            return false
        }
        let liveBefore = Set(registry.modules.map(ObjectIdentifier.init))
        do {
            let module = try loader.loadCopy(of: path, replacing: live)
            // Unchanged, or the same file as a live module under another path.
            if module === live || (live == nil && liveBefore.contains(ObjectIdentifier(module))) { return false }
            if let live {
                logger.info("plugins: replaced \(Self.file(path)) (\(Self.label(live)) → \(Self.label(module))): tasks \(Self.list(module.taskNames))")
            } else {
                logger.info("plugins: loaded \(Self.file(path)) (\(Self.label(module))): tasks \(Self.list(module.taskNames))")
            }
            metrics?.pluginLoaded()
            if !module.stepNames.isEmpty {
                logger.warning("plugins: \(Self.file(path)) registers bootsteps \(module.stepNames.joined(separator: ", ")); they run from the next start of the worker")
            }
            return true
        } catch {
            metrics?.pluginFailed()
            let keeping = live.map { "; keeping \(Self.label($0))" } ?? ""
            logger.error("plugins: refused \(path)\(keeping): \(error.code): \(error.message) — detail: \(error.detail) — hint: \(error.hint)")
            return false
        }
    }

    static func file(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
    static func label(_ m: PluginModule) -> String { m.version.map { "\(m.name) \($0)" } ?? m.name }
    static func list(_ names: [String]) -> String { names.isEmpty ? "(none)" : names.joined(separator: ", ") }
}
