#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem

/// What one call of a task came to.
public enum TaskOutcome: Sendable, Equatable {
    /// The result as JSON text.
    case success([UInt8])
    case failure(TaskException)
    /// The task asked to run again after `countdown` seconds.
    case retry(countdown: Double, reason: String?)
}

/// A registered task: a C function with a parsed signature, its prepared
/// libffi call, and its options. The strategy the worker builds for a task
/// name starts from this.
public final class NativeTask: @unchecked Sendable {
    /// The Celery task name, e.g. `arith.add`.
    public let name: String
    /// The module (plugin name, or library for `--task`) that registered it.
    public let module: String
    /// Where the function came from.
    public let symbol: SymbolName
    public let signature: TaskSignature
    public var options: TaskOptions

    let function: UnsafeMutableRawPointer
    let callInterface: CallInterface
    let binder: ArgumentBinder

    /// Prepares a task. The signature's call interface is built here, once.
    /// - Throws: `SignatureError` if libffi refuses the signature.
    init(name: String, module: String, symbol: SymbolName, signature: TaskSignature, options: TaskOptions, function: UnsafeMutableRawPointer) throws(SignatureError) {
        self.name = name
        self.module = module
        self.symbol = symbol
        self.signature = signature
        self.options = options
        self.function = function
        self.callInterface = try CallInterface(signature: signature)
        self.binder = ArgumentBinder(signature: signature)
    }

    /// Calls the task with JSON `args` (an array) and `kwargs` (an object),
    /// as the pool process does for each request. Never throws: argument
    /// errors, failures the task reports and retry requests all come back
    /// as the outcome. A task that crashes takes the process with it; that
    /// is the pool's business.
    public func invoke(args: UnsafeRawBufferPointer, kwargs: UnsafeRawBufferPointer, context: TaskContext) -> TaskOutcome {
        let n = callInterface.argumentCount
        let slotSize = CallInterface.slotSize
        return withUnsafeTemporaryAllocation(byteCount: max(n, 1) * slotSize, alignment: 16) { slotBuffer in
            let slots = slotBuffer.baseAddress!
            var arena: [UInt8] = []
            do {
                try binder.bind(args: args, kwargs: kwargs, slots: slots, arena: &arena)
            } catch {
                return .failure(error as? TaskException ?? .valueError("\(error)"))
            }
            let ctx = context.opaque
            if let c = binder.ctxSlot { (slots + c * slotSize).storeBytes(of: UnsafeMutableRawPointer(ctx), as: UnsafeMutableRawPointer.self) }
            return withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: max(n, 1)) { values in
                for i in 0..<n { values[i] = slots + i * slotSize }
                return withUnsafeTemporaryAllocation(byteCount: CallInterface.resultSize, alignment: 16) { resultBuffer in
                    let result = resultBuffer.baseAddress!
                    result.initializeMemory(as: UInt8.self, repeating: 0, count: CallInterface.resultSize)
                    let previous = pws_current_task()
                    pws_set_current_task(UnsafeMutableRawPointer(ctx))
                    if binder.pointerSlots.isEmpty {
                        callInterface.call(function, result: result, values: values.baseAddress!)
                    } else {
                        arena.withUnsafeMutableBytes { a in
                            binder.resolvePointers(slots: slots, arenaBase: a.baseAddress!)
                            callInterface.call(function, result: result, values: values.baseAddress!)
                        }
                    }
                    pws_set_current_task(previous)
                    return finish(result: result, context: context)
                }
            }
        }
    }

    /// Checks that `args` and `kwargs` fit the signature, converting them as
    /// a call would but calling nothing: the worker's master does this at
    /// receipt, so a message whose arguments cannot fit is rejected before
    /// it is acknowledged or reaches a pool process.
    /// - Returns: the `TypeError` (or `ValueError`) a call would fail with.
    public func checkArguments(args: UnsafeRawBufferPointer, kwargs: UnsafeRawBufferPointer) -> TaskException? {
        let n = callInterface.argumentCount
        return withUnsafeTemporaryAllocation(byteCount: max(n, 1) * CallInterface.slotSize, alignment: 16) { slots in
            var arena: [UInt8] = []
            do {
                try binder.bind(args: args, kwargs: kwargs, slots: slots.baseAddress!, arena: &arena)
                return nil
            } catch {
                return error as? TaskException ?? .valueError("\(error)")
            }
        }
    }

    /// Convenience for tools and tests: JSON text in.
    public func invoke(argsJSON: String, kwargsJSON: String = "{}", context: TaskContext) -> TaskOutcome {
        var a = argsJSON
        var k = kwargsJSON
        return a.withUTF8 { ab in
            k.withUTF8 { kb in
                invoke(args: UnsafeRawBufferPointer(ab), kwargs: UnsafeRawBufferPointer(kb), context: context)
            }
        }
    }

    /// Converts the C result to JSON (freeing what the task allocated), then
    /// applies what the task asked for through its context.
    func finish(result: UnsafeMutableRawPointer, context: TaskContext) -> TaskOutcome {
        let converted = ResultEncoder.encode(result, as: signature.result, taskName: name)
        switch context.request {
        case .none:
            switch converted {
            case .success(let bytes): return .success(bytes)
            case .failure(let error): return .failure(error)
            }
        case .fail(let exception):
            return .failure(exception)
        case .retry(let countdown, let reason):
            if let maxRetries = options.maxRetries, context.retries >= Int64(maxRetries) {
                let why = reason.map { ": \($0)" } ?? ""
                return .failure(TaskException(
                    type: "MaxRetriesExceededError", module: "celery.exceptions",
                    message: "Can't retry \(name)[\(context.id)]: max_retries (\(maxRetries)) exceeded\(why)"))
            }
            let delay = countdown ?? options.retryBackoff?.countdown(retries: context.retries) ?? options.defaultRetryDelay
            return .retry(countdown: delay, reason: reason)
        }
    }
}

/// Turns a C return value into JSON text, taking ownership of allocated
/// results (`string`, `json`, `bytes`): they are freed here, whatever happens.
enum ResultEncoder {
    static func encode(_ r: UnsafeMutableRawPointer, as type: ValueType, taskName: String) -> Result<[UInt8], TaskException> {
        var w = JSONWriter(capacity: 32)
        // libffi widens integral results narrower than a register to ffi_arg.
        switch type {
        case .void: w.writeRaw("null")
        case .bool: w.writeRaw(r.load(as: UInt8.self) != 0 ? "true" : "false")
        case .int8: w.write(int: Int64(Int8(truncatingIfNeeded: r.load(as: Int64.self))))
        case .int16: w.write(int: Int64(Int16(truncatingIfNeeded: r.load(as: Int64.self))))
        case .int32: w.write(int: Int64(Int32(truncatingIfNeeded: r.load(as: Int64.self))))
        case .int64: w.write(int: r.load(as: Int64.self))
        case .uint8: w.write(uint: UInt64(UInt8(truncatingIfNeeded: r.load(as: UInt64.self))))
        case .uint16: w.write(uint: UInt64(UInt16(truncatingIfNeeded: r.load(as: UInt64.self))))
        case .uint32: w.write(uint: UInt64(UInt32(truncatingIfNeeded: r.load(as: UInt64.self))))
        case .uint64: w.write(uint: r.load(as: UInt64.self))
        case .float: w.write(float: r.load(as: Float.self))
        case .double: w.write(double: r.load(as: Double.self))
        case .string:
            guard let p = r.load(as: UnsafeMutablePointer<UInt8>?.self) else { w.writeRaw("null"); break }
            defer { free(p) }
            let text = UnsafeBufferPointer(start: p, count: strlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self)))
            guard UTF8Validation.isValid(text) else {
                return .failure(.valueError("\(taskName) returned a string that is not valid UTF-8"))
            }
            w.write(utf8: text)
        case .json:
            guard let p = r.load(as: UnsafeMutablePointer<UInt8>?.self) else { w.writeRaw("null"); break }
            defer { free(p) }
            let text = UnsafeRawBufferPointer(start: p, count: strlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self)))
            var reader = JSONReader(text)
            do {
                let range = try reader.skipValue()
                try reader.expectEnd()
                w.writeRaw(bytes: text[range])
            } catch {
                return .failure(.valueError("\(taskName) returned invalid JSON: \(error)"))
            }
        case .bytes:
            let data = r.load(as: UnsafeMutableRawPointer?.self)
            let size = Int((r + 8).load(as: UInt64.self))
            guard let data else { w.writeRaw("null"); break }
            defer { free(data) }
            w.writeRaw("{\"__type__\": \"base64\", \"__value__\": \"")
            w.writeRaw(bytes: Base64.encode(UnsafeRawBufferPointer(start: data, count: size)))
            w.writeRaw("\"}")
        case .ctx:
            preconditionFailure("ctx is not a result type")
        }
        return .success(w.bytes)
    }
}

extension JSONWriter {
    /// Writes a float in its own shortest form (0.1, not 0.10000000149).
    mutating func write(float v: Float) {
        if !v.isFinite { write(double: Double(v)); return }
        bytes.append(contentsOf: v.description.utf8)
    }
}
