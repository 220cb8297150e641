#if canImport(Glibc)
import Glibc
#endif

/// Private, content-addressed copies of plugin files, for hot plugins.
///
/// `dlopen` returns the library already loaded for the same path (or the
/// same device and inode), and plugworker never unloads one: so a plugin
/// whose file was replaced cannot be loaded again from its own path. Each
/// file is therefore copied to `<root>/<sha256 of its bytes>/<file name>`
/// and loaded from there: old and new versions never share a path, two
/// identical files share one copy, and the plugin directory's file can be
/// overwritten in place, replaced or removed without touching the code that
/// running processes have mapped.
///
/// The root is `<dir>/plugworker-<pid>/plugins`, `<dir>` the first of
/// `$PLUGWORKER_STATE_DIR`, `$XDG_RUNTIME_DIR`, `$TMPDIR`, `/tmp`, `/var/tmp`
/// that is writable and not mounted noexec, created mode 0700; copies are read-only (0500) in
/// their own 0700 directory, so the loader's permission check passes and
/// nobody else can change them. `removeAll()` deletes the tree at exit
/// (running processes keep their mappings of unlinked files).
public final class PluginStore {
    /// `…/plugworker-<pid>`, removed by `removeAll()`.
    public let base: String
    /// `…/plugworker-<pid>/plugins`, holding the copies.
    public let root: String

    /// A copy of one file.
    public struct Copy: Sendable, Equatable {
        /// The file in the plugin directory.
        public var original: String
        /// The private copy to load.
        public var path: String
        /// SHA-256 of the bytes, hex.
        public var digest: String
    }

    /// - Parameter directory: where to create `plugworker-<pid>`; nil for
    ///   the default (see the type's documentation).
    /// - Throws: `PluginError(.loadFailed)` if the directory cannot be made
    ///   private.
    public init(directory: String? = nil) throws(PluginError) {
        let parent = directory ?? Self.defaultParent()
        base = parent + "/plugworker-\(getpid())"
        root = base + "/plugins"
        try Self.makePrivateDirectory(base)
        try Self.makePrivateDirectory(root)
    }

    /// `$PLUGWORKER_STATE_DIR`, `$XDG_RUNTIME_DIR`, `$TMPDIR`, `/tmp`,
    /// `/var/tmp`: the first that is writable and not mounted `noexec` (a
    /// copy there could not be mapped executable); `/tmp` if none is.
    static func defaultParent() -> String {
        var candidates: [String] = []
        for name in ["PLUGWORKER_STATE_DIR", "XDG_RUNTIME_DIR", "TMPDIR"] {
            if let v = getenv(name).map({ String(cString: $0) }), !v.isEmpty { candidates.append(v) }
        }
        candidates += ["/tmp", "/var/tmp"]
        for dir in candidates where access(dir, W_OK | X_OK) == 0 {
            var fs = statvfs()
            if statvfs(dir, &fs) == 0 && fs.f_flag & 8 != 0 { continue } // ST_NOEXEC (not imported into Swift)
            return dir
        }
        return "/tmp"
    }

    /// Creates `path` mode 0700, or accepts it if it exists, is a directory
    /// of ours and is not writable by group or others.
    static func makePrivateDirectory(_ path: String) throws(PluginError) {
        if mkdir(path, 0o700) == 0 { return }
        let e = errno
        var st = stat()
        if e == EEXIST, lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == getuid(),
           st.st_mode & 0o022 == 0 {
            return
        }
        throw PluginError(.loadFailed, "\(path): cannot create the private directory for plugin copies",
                          detail: e == EEXIST ? "it exists and is not a private directory of this user" : "mkdir: \(String(cString: strerror(e)))",
                          hint: "set XDG_RUNTIME_DIR or TMPDIR to a writable directory of yours, or disable hot plugins", path: path)
    }

    /// Copies `original` into the store (if that content is not there yet)
    /// and returns the copy. The file is read once: the digest and the copy
    /// are of the same bytes, even if the original changes meanwhile.
    /// - Throws: `PluginError(.notFound)` if it cannot be read,
    ///   `.loadFailed` if the copy cannot be written.
    public func copy(_ original: String) throws(PluginError) -> Copy {
        guard let bytes = FileBytes.read(original) else {
            throw PluginError(.notFound, "\(original): no such plugin file", detail: "read: \(String(cString: strerror(errno)))",
                              hint: "check the path and its permissions", path: original)
        }
        let digest = SHA256.hex(bytes)
        let name = original.split(separator: "/").last.map(String.init) ?? "plugin.so"
        let dir = root + "/" + digest
        let path = dir + "/" + name
        var st = stat()
        if stat(path, &st) == 0 && Int(st.st_size) == bytes.count { return Copy(original: original, path: path, digest: digest) }
        try Self.makePrivateDirectory(dir)
        // Whole or absent, and read-only: it is mapped by running processes.
        do {
            try FileBytes.replace(path, with: bytes, mode: 0o500)
        } catch {
            throw writeFailed(path, error)
        }
        return Copy(original: original, path: path, digest: digest)
    }

    func writeFailed(_ path: String, _ error: FileBytes.WriteError) -> PluginError {
        PluginError(.loadFailed, "\(path): cannot write the private copy of a plugin",
                    detail: "\(error)",
                    hint: "free some space in \(root), or set XDG_RUNTIME_DIR / TMPDIR elsewhere", path: path)
    }

    /// The SHA-256 of a file's bytes, or nil if it cannot be read.
    public static func digest(of path: String) -> String? {
        FileBytes.read(path).map(SHA256.hex)
    }


    /// Deletes every copy and the store's directories (at exit). Processes
    /// that mapped a copy keep it; only the names go.
    public func removeAll() {
        Self.removeTree(base)
    }

    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let d = opendir(path) {
                var names: [String] = []
                while let entry = readdir(d) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(d)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
