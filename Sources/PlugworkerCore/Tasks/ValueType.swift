import CFFI

/// A type a task signature may use, with its C representation.
public enum ValueType: String, Sendable, CaseIterable {
    case bool
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case float, double
    case string, bytes, json
    case void
    case ctx

    /// True for the fixed-width integer types.
    public var isInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: return true
        default: return false
        }
    }

    /// The inclusive range of a signed integer type, as Int64.
    var signedRange: ClosedRange<Int64>? {
        switch self {
        case .int8: return Int64(Int8.min)...Int64(Int8.max)
        case .int16: return Int64(Int16.min)...Int64(Int16.max)
        case .int32: return Int64(Int32.min)...Int64(Int32.max)
        case .int64: return Int64.min...Int64.max
        default: return nil
        }
    }

    /// The largest value of an unsigned integer type.
    var unsignedMax: UInt64? {
        switch self {
        case .uint8: return UInt64(UInt8.max)
        case .uint16: return UInt64(UInt16.max)
        case .uint32: return UInt64(UInt32.max)
        case .uint64: return UInt64.max
        default: return nil
        }
    }

    /// The libffi type descriptor of the C representation.
    var ffiType: UnsafeMutablePointer<ffi_type> {
        switch self {
        case .bool, .uint8: return cffi_type_uint8()
        case .int8: return cffi_type_sint8()
        case .int16: return cffi_type_sint16()
        case .uint16: return cffi_type_uint16()
        case .int32: return cffi_type_sint32()
        case .uint32: return cffi_type_uint32()
        case .int64: return cffi_type_sint64()
        case .uint64: return cffi_type_uint64()
        case .float: return cffi_type_float()
        case .double: return cffi_type_double()
        case .string, .json, .ctx: return cffi_type_pointer()
        case .bytes: return FFIStructs.bytes
        case .void: return cffi_type_void()
        }
    }
}

/// libffi descriptors of the structs the ABI passes by value.
enum FFIStructs {
    /// `pw_bytes { const uint8_t *data; size_t size; }`. Built once; libffi
    /// fills in its size and alignment at the first `ffi_prep_cif`, which
    /// happens at registration (single-threaded, before any call).
    nonisolated(unsafe) static let bytes: UnsafeMutablePointer<ffi_type> = {
        let elements = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: 3)
        elements[0] = cffi_type_pointer()
        elements[1] = cffi_type_uint64()
        elements[2] = nil
        let t = UnsafeMutablePointer<ffi_type>.allocate(capacity: 1)
        t.initialize(to: ffi_type(size: 0, alignment: 0, type: cffi_struct_tag(), elements: elements))
        return t
    }()
}
