import CFFI

/// A prepared libffi call interface for one signature.
///
/// Built once when a task registers ("look up once, call many"); a call then
/// costs one `ffi_call`. Tasks are never unregistered in a process that runs
/// them, and a replaced plugin is a new registration, so the memory is
/// released only when the task itself goes away.
final class CallInterface: @unchecked Sendable {
    let cif: UnsafeMutablePointer<ffi_cif>
    let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    let argumentCount: Int

    /// Every argument slot is this many bytes (the largest C form, pw_bytes).
    static let slotSize = 16
    /// The result buffer: at least sizeof(ffi_arg), and room for pw_bytes.
    static let resultSize = 16

    init(signature: TaskSignature) throws(SignatureError) {
        argumentCount = signature.parameters.count
        argumentTypes = .allocate(capacity: max(argumentCount, 1))
        for (i, p) in signature.parameters.enumerated() { argumentTypes[i] = p.type.ffiType }
        cif = .allocate(capacity: 1)
        let status = cffi_prep_cif(cif, UInt32(argumentCount), signature.result.ffiType, argumentTypes)
        guard status == FFI_OK else {
            argumentTypes.deallocate()
            cif.deallocate()
            throw SignatureError(kind: .invalid, message: "libffi cannot prepare this call (ffi_prep_cif status \(status.rawValue))", column: 1, text: signature.description)
        }
    }

    deinit {
        argumentTypes.deallocate()
        cif.deallocate()
    }

    /// Calls `function` with argument values at `values` (one pointer per
    /// parameter, each to its slot) and the result written to `result`.
    @inline(__always)
    func call(_ function: UnsafeMutableRawPointer, result: UnsafeMutableRawPointer, values: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        ffi_call(cif, unsafeBitCast(function, to: (@convention(c) () -> Void).self), result, values)
    }
}
