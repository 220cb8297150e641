#if canImport(Glibc)
import Glibc
#endif

/// Binds Celery's JSON `args` and `kwargs` to a signature's parameters and
/// converts each value straight into its C argument slot.
///
/// Binding follows Python's rules for `f(*args, **kwargs)` and reports the
/// same errors in the same order (too many positional arguments, unexpected
/// or duplicated keywords, missing arguments), then conversion errors; every
/// message names the argument and its position. Values are read from the
/// JSON text without building a tree. Strings, bytes and raw JSON are copied
/// into `arena` (NUL-terminated); their slots hold arena offsets until
/// `resolvePointers` turns them into pointers, because the arena may move
/// while it grows.
struct ArgumentBinder: Sendable {
    struct Target: Sendable {
        var name: String
        var nameBytes: [UInt8]
        var type: ValueType
        var slot: Int
        var position: Int  // 1-based among JSON parameters
    }

    let functionName: String
    let targets: [Target]
    let slotCount: Int
    let ctxSlot: Int?
    /// Slots holding arena offsets to resolve: (slot, type).
    let pointerSlots: [(Int, ValueType)]

    init(signature: TaskSignature) {
        functionName = signature.name
        slotCount = signature.parameters.count
        var targets: [Target] = []
        var pointers: [(Int, ValueType)] = []
        var ctxSlot: Int?
        for (slot, p) in signature.parameters.enumerated() {
            switch p.type {
            case .ctx: ctxSlot = slot
            default:
                targets.append(Target(name: p.name, nameBytes: Array(p.name.utf8), type: p.type, slot: slot, position: targets.count + 1))
                if p.type == .string || p.type == .json || p.type == .bytes { pointers.append((slot, p.type)) }
            }
        }
        self.targets = targets
        self.ctxSlot = ctxSlot
        self.pointerSlots = pointers
    }

    /// Binds and converts. `args` must hold a JSON array and `kwargs` a JSON
    /// object; an empty buffer means `[]` / `{}`.
    func bind(args: UnsafeRawBufferPointer, kwargs: UnsafeRawBufferPointer, slots: UnsafeMutableRawPointer, arena: inout [UInt8]) throws(TaskException) {
        let n = targets.count
        // filled[i]: parameter i has a value; filled[n + i]: it came by keyword.
        try withUnsafeTemporaryAllocation(of: Bool.self, capacity: max(2 * n, 1)) { (filled) throws(TaskException) in
            filled.initialize(repeating: false)
            var structural: TaskException?
            var conversion: TaskException?
            var given = 0
            do {
                if args.count > 0 {
                    var reader = JSONReader(args)
                    try reader.beginArray()
                    var first = true
                    while try reader.nextElement(first: first) {
                        first = false
                        if given < n {
                            try convert(&reader, targets[given], slots, &arena, &conversion)
                            filled[given] = true
                        } else {
                            try reader.skipValue()
                        }
                        given += 1
                    }
                    try reader.expectEnd()
                }
                if given > n {
                    let takes = "\(n) positional argument\(n == 1 ? "" : "s")"
                    structural = .typeError("\(functionName)() takes \(takes) but \(given) \(given == 1 ? "was" : "were") given")
                }
                if kwargs.count > 0 {
                    var reader = JSONReader(kwargs)
                    try reader.beginObject()
                    var first = true
                    var key: [UInt8] = []
                    while try reader.nextMember(first: first) {
                        first = false
                        key.removeAll(keepingCapacity: true)
                        try reader.readString(appendingTo: &key)
                        try reader.expectColon()
                        guard let index = targets.firstIndex(where: { $0.nameBytes == key }) else {
                            if structural == nil {
                                structural = .typeError("\(functionName)() got an unexpected keyword argument '\(String(decoding: key, as: UTF8.self))'")
                            }
                            try reader.skipValue()
                            continue
                        }
                        if filled[index] {
                            if structural == nil {
                                let dup = filled[n + index]
                                structural = .typeError("\(functionName)() got multiple values for \(dup ? "keyword " : "")argument '\(targets[index].name)'")
                            }
                            try reader.skipValue()
                            continue
                        }
                        try convert(&reader, targets[index], slots, &arena, &conversion)
                        filled[index] = true
                        filled[n + index] = true
                    }
                    try reader.expectEnd()
                }
            } catch let error as JSONError {
                throw TaskException.valueError("\(functionName)(): malformed JSON arguments: \(error)")
            } catch {
                throw TaskException.valueError("\(functionName)(): \(error)")
            }
            if let structural { throw structural }
            var missing: [String] = []
            for i in 0..<n where !filled[i] { missing.append("'\(targets[i].name)'") }
            if !missing.isEmpty {
                let list: String
                switch missing.count {
                case 1: list = missing[0]
                case 2: list = "\(missing[0]) and \(missing[1])"
                default: list = missing.dropLast().joined(separator: ", ") + ", and " + missing.last!
                }
                let noun = missing.count == 1 ? "argument" : "arguments"
                throw TaskException.typeError("\(functionName)() missing \(missing.count) required positional \(noun): \(list)")
            }
            if let conversion { throw conversion }
        }
    }

    /// Turns the arena offsets left in pointer slots into pointers.
    @inline(__always)
    func resolvePointers(slots: UnsafeMutableRawPointer, arenaBase: UnsafeMutableRawPointer) {
        for (slot, type) in pointerSlots {
            let s = slots + slot * CallInterface.slotSize
            let offset = s.load(as: Int.self)
            // string and json: const char *; bytes: pw_bytes { data, size }.
            s.storeBytes(of: arenaBase + offset, as: UnsafeMutableRawPointer.self)
            _ = type
        }
    }

    /// Converts the next value into `target`'s slot. On a conversion error
    /// it records the first one, skips the value and carries on, so that a
    /// binding error (reported first, as Python does) is still found. A JSON
    /// syntax error (invalid UTF-8 included) cannot be skipped: it is thrown.
    func convert(_ reader: inout JSONReader, _ target: Target, _ slots: UnsafeMutableRawPointer, _ arena: inout [UInt8], _ firstError: inout TaskException?) throws {
        let start = reader.position
        do {
            try convertValue(&reader, target, slots + target.slot * CallInterface.slotSize, &arena)
        } catch let syntax as JSONError {
            throw syntax
        } catch {
            if firstError == nil {
                firstError = (error as? TaskException) ?? .valueError("\(functionName)() argument '\(target.name)' (position \(target.position)): \(error)")
            }
            reader.seek(to: start)
            _ = try? reader.skipValue()
        }
    }

    func convertValue(_ reader: inout JSONReader, _ t: Target, _ slot: UnsafeMutableRawPointer, _ arena: inout [UInt8]) throws {
        let kind = try reader.peekKind()
        switch t.type {
        case .bool:
            guard kind == .bool else { throw mismatch(t, &reader, kind) }
            slot.storeBytes(of: try reader.readBool() ? 1 : 0, as: UInt8.self)
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
            guard kind == .number else { throw mismatch(t, &reader, kind) }
            try storeInteger(try reader.readNumber(), t, slot)
        case .float, .double:
            guard kind == .number else { throw mismatch(t, &reader, kind) }
            let v: Double
            switch try reader.readNumber() {
            case .int(let i): v = Double(i)
            case .uint(let u): v = Double(u)
            case .double(let d): v = d
            case .bigint(let digits): v = Double(digits) ?? .infinity
            }
            if t.type == .float {
                if v.isFinite && abs(v) > Double(Float.greatestFiniteMagnitude) { throw outOfRange(t, String(v)) }
                slot.storeBytes(of: Float(v), as: Float.self)
            } else {
                slot.storeBytes(of: v, as: Double.self)
            }
        case .string:
            guard kind == .string else { throw mismatch(t, &reader, kind) }
            let offset = arena.count
            let length = try reader.readString(appendingTo: &arena)
            if length > 0, arena[offset...].contains(0) {
                throw TaskException.typeError("\(functionName)() argument '\(t.name)' (position \(t.position)) contains a NUL character, which a C string cannot hold")
            }
            arena.append(0)
            slot.storeBytes(of: offset, as: Int.self)
        case .json:
            let offset = arena.count
            let range = try reader.skipValue()
            appendRaw(reader, range, &arena)
            arena.append(0)
            slot.storeBytes(of: offset, as: Int.self)
        case .bytes:
            let offset = arena.count
            switch kind {
            case .string:
                try reader.readString(appendingTo: &arena)
            case .object:
                try readTaggedBase64(&reader, t, &arena)
            default:
                throw mismatch(t, &reader, kind)
            }
            let size = arena.count - offset
            arena.append(0)
            slot.storeBytes(of: offset, as: Int.self)
            (slot + 8).storeBytes(of: UInt64(size), as: UInt64.self)
        case .void, .ctx:
            preconditionFailure("void and ctx take no JSON argument")
        }
    }

    func storeInteger(_ number: JSONNumber, _ t: Target, _ slot: UnsafeMutableRawPointer) throws {
        var signed: Int64?
        var unsigned: UInt64?
        switch number {
        case .int(let v):
            signed = v
            if v >= 0 { unsigned = UInt64(v) }
        case .uint(let v): unsigned = v
        case .bigint(let digits): throw outOfRange(t, digits)
        case .double(let d):
            guard d.isFinite, d == d.rounded(.towardZero) else {
                throw TaskException.typeError("\(functionName)() argument '\(t.name)' (position \(t.position)) must be an integer for \(t.type.rawValue), not \(d)")
            }
            if let v = Int64(exactly: d) {
                signed = v
                if v >= 0 { unsigned = UInt64(v) }
            } else if let u = UInt64(exactly: d) {
                unsigned = u
            } else {
                throw outOfRange(t, String(d))
            }
        }
        if let range = t.type.signedRange {
            guard let v = signed, range.contains(v) else { throw outOfRange(t, signed.map { String($0) } ?? String(unsigned!)) }
            switch t.type {
            case .int8: slot.storeBytes(of: Int8(v), as: Int8.self)
            case .int16: slot.storeBytes(of: Int16(v), as: Int16.self)
            case .int32: slot.storeBytes(of: Int32(v), as: Int32.self)
            default: slot.storeBytes(of: v, as: Int64.self)
            }
        } else if let maxValue = t.type.unsignedMax {
            guard let v = unsigned, v <= maxValue else { throw outOfRange(t, signed.map { String($0) } ?? String(unsigned!)) }
            switch t.type {
            case .uint8: slot.storeBytes(of: UInt8(v), as: UInt8.self)
            case .uint16: slot.storeBytes(of: UInt16(v), as: UInt16.self)
            case .uint32: slot.storeBytes(of: UInt32(v), as: UInt32.self)
            default: slot.storeBytes(of: v, as: UInt64.self)
            }
        }
    }

    /// Reads kombu's `{"__type__": "base64", "__value__": "..."}`.
    func readTaggedBase64(_ reader: inout JSONReader, _ t: Target, _ arena: inout [UInt8]) throws {
        var typeTag: String?
        var text: [UInt8]?
        try reader.beginObject()
        var first = true
        while try reader.nextMember(first: first) {
            first = false
            let key = try reader.readString()
            try reader.expectColon()
            switch key {
            case "__type__": typeTag = try reader.peekKind() == .string ? try reader.readString() : nil
            case "__value__":
                if try reader.peekKind() == .string {
                    var v: [UInt8] = []
                    try reader.readString(appendingTo: &v)
                    text = v
                } else {
                    try reader.skipValue()
                }
            default: try reader.skipValue()
            }
        }
        guard typeTag == "base64", let text else {
            throw TaskException.typeError("\(functionName)() argument '\(t.name)' (position \(t.position)) must be bytes (a string or kombu's {\"__type__\": \"base64\", \"__value__\": ...}), not dict")
        }
        let ok = text.withUnsafeBufferPointer { Base64.decode($0, appendingTo: &arena) }
        if !ok {
            throw TaskException.typeError("\(functionName)() argument '\(t.name)' (position \(t.position)) is not valid base64")
        }
    }

    func appendRaw(_ reader: JSONReader, _ range: Range<Int>, _ arena: inout [UInt8]) {
        arena.append(contentsOf: UnsafeBufferPointer(start: reader.base.unsafelyUnwrapped + range.lowerBound, count: range.count))
    }

    func mismatch(_ t: Target, _ reader: inout JSONReader, _ kind: JSONReader.Kind) -> TaskException {
        var name = kind.pythonName
        if kind == .number {
            let start = reader.position
            name = (try? reader.readNumber()).map { n -> String in
                if case .double = n { return "float" }
                return "int"
            } ?? "number"
            reader.seek(to: start)
        }
        return .typeError("\(functionName)() argument '\(t.name)' (position \(t.position)) must be \(t.type.rawValue), not \(name)")
    }

    func outOfRange(_ t: Target, _ value: String) -> TaskException {
        .typeError("\(functionName)() argument '\(t.name)' (position \(t.position)) is out of range for \(t.type.rawValue): \(value)")
    }
}

