/// A loaded module: a plugin (with a magic block and an init entry) or a
/// plain library that `--task` definitions take functions from.
///
/// Modules are never unloaded: the library stays mapped (`RTLD_NODELETE`,
/// no `dlclose`) because unloading Swift code leaves dangling metadata that
/// crashes later casts, and C plugins may keep pointers into themselves.
public final class PluginModule: @unchecked Sendable {
    public enum Kind: String, Sendable {
        case plugin
        case library
    }

    public let kind: Kind
    /// The name tasks use in `module:Symbol`: the magic block's name for a
    /// plugin, the name given on the command line for a library.
    public let name: String
    /// The plugin's declared version; nil for libraries.
    public let version: String?
    /// The file loaded (or the soname, for libraries the linker found).
    public let path: String
    /// The ABI the plugin was built against; nil for libraries.
    public let abi: (major: Int, minor: Int)?
    /// Names of the tasks this module registered, in order.
    public internal(set) var taskNames: [String] = []
    /// Names of the bootsteps it registered.
    public internal(set) var stepNames: [String] = []
    /// `signal → module:Symbol` for each handler it connected.
    public internal(set) var signalHandlers: [(signal: SignalName, symbol: String)] = []

    /// Where a module stands (hot plugins change it at run time).
    public enum Status: String, Sendable {
        /// Live: its tasks are registered.
        case loaded
        /// A newer file took its place; its tasks went to the new module.
        case replaced
        /// Its file was removed; its tasks are unregistered.
        case removed
    }

    /// `loaded` until hot plugins replace or remove it. A module that is not
    /// loaded stays mapped (never unloaded) and is listed by `inspect plugins`.
    public internal(set) var status: Status = .loaded
    /// The file in the plugin directory, when `path` is a private copy of it
    /// (`PluginStore`); nil when the module was loaded from `path` itself.
    public internal(set) var originalPath: String?
    /// The file users know: `originalPath`, else `path`.
    public var sourcePath: String { originalPath ?? path }

    let handle: UnsafeMutableRawPointer
    /// Keeps the init-time handle alive: a plugin that kept its `pw_plugin *`
    /// and calls in later must get PW_E_STATE, not a use-after-free.
    var registration: PluginRegistration?

    init(kind: Kind, name: String, version: String?, path: String, abi: (Int, Int)?, handle: UnsafeMutableRawPointer) {
        self.kind = kind
        self.name = name
        self.version = version
        self.path = path
        self.abi = abi.map { (major: $0.0, minor: $0.1) }
        self.handle = handle
    }

    /// `1.0` for plugins, `-` for libraries.
    public var abiText: String { abi.map { "\($0.major).\($0.minor)" } ?? "-" }
}

/// A plugin file that could not be loaded, kept for `check`, the banner and
/// `inspect plugins`.
public struct PluginFailure: Sendable {
    public var path: String
    public var error: PluginError
}

/// One line of `inspect plugins`: a module (loaded, replaced or removed) or
/// a refused file.
public struct PluginListing: Sendable, Equatable {
    /// The module's name; for a refused file, its file name.
    public var name: String
    public var version: String?
    /// The file loaded (a private copy, for hot-loaded plugins).
    public var path: String
    /// The plugin directory's file `path` was copied from, if it was.
    public var originalPath: String?
    /// `1.0`, or `-` for libraries and refused files.
    public var abi: String
    /// `loaded`, `replaced`, `removed` or `refused`.
    public var status: String
    /// Why it was refused.
    public var error: PluginError?
    public var tasks: [String]

    public init(name: String, version: String?, path: String, originalPath: String?, abi: String, status: String,
                error: PluginError?, tasks: [String]) {
        self.name = name
        self.version = version
        self.path = path
        self.originalPath = originalPath
        self.abi = abi
        self.status = status
        self.error = error
        self.tasks = tasks
    }
}
