import CPlugworkerSystem

/// One record read from an inotify descriptor.
public struct InotifyEvent: Sendable, Equatable {
    /// The watch it belongs to (`inotify_add_watch`'s result).
    public var wd: Int32
    /// `PWS_IN_*` bits.
    public var mask: UInt32
    public var cookie: UInt32
    /// The file name in the watched directory; empty for the directory itself.
    public var name: String

    public init(wd: Int32, mask: UInt32, cookie: UInt32 = 0, name: String) {
        self.wd = wd
        self.mask = mask
        self.cookie = cookie
        self.name = name
    }

    /// Splits what one `read` returned into events: each is 16 bytes (wd,
    /// mask, cookie, len, host order) then `len` bytes of NUL-padded name.
    /// A truncated record at the end is dropped (the kernel never writes
    /// one: reads return whole events).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        var offset = 0
        let header = Int(PWS_INOTIFY_EVENT_SIZE)
        while offset + header <= bytes.count {
            let wd = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let cookie = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            guard offset + header + length <= bytes.count else { break }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<(offset + header + length)])
            let end = raw.firstIndex(of: 0) ?? raw.count
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<end]), as: UTF8.self)
            events.append(InotifyEvent(wd: wd, mask: mask, cookie: cookie, name: name))
            offset += header + length
        }
        return events
    }
}

/// Turns inotify events on the plugin directories into "look at this file
/// now" decisions, with a per-file debounce. Pure state, no I/O: the
/// `HotPlugins` step feeds it events and the clock and acts on `takeDue`.
///
/// Which events count, per `*.so` file (hidden files and directories are
/// ignored):
///  - `IN_CLOSE_WRITE` (a writer closed it: `cp`, a linker, an editor) and
///    `IN_MOVED_TO` (`mv`, `install`, an atomic rename) schedule a check;
///  - `IN_DELETE` and `IN_MOVED_FROM` schedule one too (the check finds the
///    file gone, unless it came back meanwhile: `rm` then `cp` is a replace);
///  - `IN_CREATE` alone does not: a `cp` creates an empty file and fills it,
///    and only its `IN_CLOSE_WRITE` says it is whole; a symbolic link (which
///    gets no close) is the exception, as the caller tells;
///  - `IN_MODIFY` pushes back a check already scheduled (still being written).
/// Each event moves the file's check to `debounce` seconds later, so a
/// burst (`rm` + `cp`, several writes and closes) ends in one check.
/// `IN_Q_OVERFLOW` (events were lost) asks for a rescan of everything;
/// `IN_IGNORED`/`IN_DELETE_SELF`/`IN_MOVE_SELF` report a directory gone.
public struct PluginWatcher {
    /// What the step should know besides due files.
    public enum Notice: Equatable, Sendable {
        /// Events were lost: check every file.
        case overflow
        /// A watched directory was removed or moved away.
        case directoryGone(String)
    }

    /// Seconds between the last event for a file and its check.
    public var debounce: Double
    /// Watched directories by watch descriptor.
    public var directories: [Int32: String] = [:]
    /// Files to check, with when.
    public private(set) var pending: [String: Double] = [:]

    public init(debounce: Double = 0.15) {
        self.debounce = debounce
    }

    /// Takes one event at time `now`. `isSymlink` tells whether a path is
    /// a symbolic link (asked only for `IN_CREATE`).
    public mutating func handle(_ event: InotifyEvent, now: Double, isSymlink: (String) -> Bool = { _ in false }) -> Notice? {
        let mask = event.mask
        if mask & UInt32(PWS_IN_Q_OVERFLOW) != 0 { return .overflow }
        guard let dir = directories[event.wd] else { return nil }
        if event.name.isEmpty {
            if mask & UInt32(PWS_IN_IGNORED | PWS_IN_DELETE_SELF | PWS_IN_MOVE_SELF) != 0 {
                if mask & UInt32(PWS_IN_IGNORED) != 0 { directories[event.wd] = nil }
                return .directoryGone(dir)
            }
            return nil
        }
        guard Self.isPluginFileName(event.name), mask & UInt32(PWS_IN_ISDIR) == 0 else { return nil }
        let path = dir + "/" + event.name
        let settle = UInt32(PWS_IN_CLOSE_WRITE | PWS_IN_MOVED_TO | PWS_IN_DELETE | PWS_IN_MOVED_FROM)
        if mask & settle != 0 {
            pending[path] = now + debounce
        } else if mask & UInt32(PWS_IN_CREATE) != 0 {
            if isSymlink(path) { pending[path] = now + debounce }
        } else if mask & UInt32(PWS_IN_MODIFY) != 0, pending[path] != nil {
            pending[path] = now + debounce
        }
        return nil
    }

    /// The earliest scheduled check.
    public var nextDue: Double? { pending.values.min() }

    /// Removes and returns the files due at `now`, in name order.
    public mutating func takeDue(now: Double) -> [String] {
        let due = pending.filter { $0.value <= now }.keys.sorted()
        for path in due { pending[path] = nil }
        return due
    }

    /// `lib<x>.so` / `<x>.so`, not hidden: what the loader scans for.
    public static func isPluginFileName(_ name: String) -> Bool {
        name.hasSuffix(".so") && !name.hasPrefix(".")
    }
}
