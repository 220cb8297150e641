// text.swift — an example plugworker plugin written in Swift.
//
//     swiftc -emit-library -parse-as-library -O -module-name TextPlugin \
//         -I ../Sources/CPlugworker/include text.swift -o libtext.so
//
// A Swift plugin exports the same C entry points as a C plugin, with
// @_cdecl. Everything the host keeps a pointer to (the magic block, task
// descriptors and their strings) must live forever: string literals through
// StaticString, structs in memory that is allocated once and never freed.

import CPlugworker
import FoundationEssentials  // JSONDecoder, without the ICU-heavy Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A NUL-terminated C string with static storage, from a string literal.
private func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// Copies `value` into memory that is never freed and returns its address.
private func immortal<T>(_ value: T) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
    p.initialize(to: value)
    return p
}

/// The C size of a struct: `stride` matches `sizeof`, `size` omits tail padding.
private func cSize<T>(_: T.Type) -> UInt32 { UInt32(MemoryLayout<T>.stride) }

private func status(_ s: pw_status) -> Int32 { Int32(bitPattern: s.rawValue) }

/// The host table; it has static storage, so keeping the pointer is safe.
/// Set once in plugworker_init, before any task can run.
nonisolated(unsafe) private var host: UnsafePointer<pw_host>!

// MARK: - Magic block

nonisolated(unsafe) private let magic = immortal(pw_magic(
    size: cSize(pw_magic.self),
    abi_major: UInt16(PW_ABI_MAJOR),
    abi_minor: UInt16(PW_ABI_MINOR),
    name: cString("text"),
    version: cString("1.0.0")))

@_cdecl("plugworker_magic")
public func plugworkerMagic() -> UnsafePointer<pw_magic> {
    UnsafePointer(magic)
}

// MARK: - Tasks

/// `upper(s: string) -> string`. A returned string must come from malloc
/// (the host frees it): strdup does that.
@_cdecl("text_upper")
public func textUpper(_ s: UnsafePointer<CChar>) -> UnsafeMutablePointer<CChar>? {
    strdup(String(cString: s).uppercased())
}

private struct Document: Decodable {
    var text: String
}

/// `wordcount(doc: json) -> json`. A `json` argument arrives as its raw JSON
/// text; the result is JSON text from malloc, which the host validates.
@_cdecl("text_wordcount")
public func textWordcount(_ json: UnsafePointer<CChar>) -> UnsafeMutablePointer<CChar>? {
    let bytes = UnsafeRawBufferPointer(start: json, count: strlen(json))
    guard let doc = try? JSONDecoder().decode(Document.self, from: Data(bytes)) else {
        // The task has no ctx parameter, so it asks the host for the context.
        _ = host.pointee.ctx_fail(host.pointee.current(), "ValueError",
                                  "wordcount: expected {\"text\": string}")
        return nil  // ignored after ctx_fail
    }
    let words = doc.text.split(whereSeparator: \.isWhitespace).count
    return strdup("{\"words\": \(words)}")
}

// MARK: - Registration

/// Task descriptors, allocated once and never freed: the host keeps them.
/// Options are left zero-initialised, which means "all defaults".
nonisolated(unsafe) private let tasks: [UnsafeMutablePointer<pw_task_def>] = [
    immortal(pw_task_def(
        size: cSize(pw_task_def.self),
        name: cString("text.upper"),
        symbol: cString("text:text_upper"),
        signature: cString("upper(s: string) -> string"),
        options: pw_task_options())),
    immortal(pw_task_def(
        size: cSize(pw_task_def.self),
        name: cString("text.wordcount"),
        symbol: cString("text:text_wordcount"),
        signature: cString("wordcount(doc: json) -> json"),
        options: pw_task_options())),
]

@_cdecl("plugworker_init")
public func plugworkerInit(_ h: UnsafePointer<pw_host>, _ plugin: OpaquePointer?) -> Int32 {
    host = h
    for task in tasks {
        let rc = h.pointee.register_task(plugin, task)
        if rc != status(PW_OK) {
            let name = String(cString: task.pointee.name)
            h.pointee.set_error(plugin, "cannot register \(name) (status \(rc))")
            return rc
        }
    }
    return status(PW_OK)
}
