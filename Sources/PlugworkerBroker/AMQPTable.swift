import CRabbitMQ
import PlugworkerCore

/// AMQP field tables (message headers, queue arguments, client properties)
/// to and from JSON.
///
/// **Decoding** accepts every field kind rabbitmq-c knows. Letters are as on
/// the wire (RabbitMQ's errata, which rabbitmq-c follows):
///
/// | letter | kind            | JSON                                        |
/// |--------|-----------------|---------------------------------------------|
/// | `t`    | boolean         | `.bool`                                     |
/// | `b` `B` `s` `u` `I` `i` | 8/16/32-bit ints | `.int`                     |
/// | `l`    | signed 64-bit   | `.int`                                      |
/// | `L`    | rabbitmq-c "U64"| `.int(Int64(bitPattern:))`: py-amqp writes every int beyond 32 bits as `L`, meaning signed (RabbitMQ reads `L` as signed too) |
/// | `f` `d`| float, double   | `.double`                                   |
/// | `D`    | decimal         | `.double` (value read as signed, as py-amqp does) |
/// | `S` `x`| string, bytes   | `.string`; invalid UTF-8 becomes U+FFFD      |
/// | `A` `F`| array, table    | `.array`, `.object` (order kept)            |
/// | `V`    | void            | `.null`                                     |
/// | `T`    | timestamp       | `.int` (seconds since the epoch)            |
///
/// **Encoding** writes what py-amqp (the client Celery uses) writes for the
/// same Python value, so headers a Swift worker publishes read back in Python
/// exactly as a Python worker's would:
///
/// | JSON            | letter | Python reads                     |
/// |-----------------|--------|----------------------------------|
/// | `.string`       | `S`    | `str`                            |
/// | `.bool`         | `t`    | `bool`                           |
/// | `.int` within ±2147483647 | `I` | `int`                    |
/// | other `.int`    | `L` (signed 64-bit) | `int` (every py-amqp version; `l` reads unsigned before py-amqp 5.3) |
/// | `.double`       | `d`    | `float`                          |
/// | `.array`        | `A`    | `list`                           |
/// | `.object`       | `F`    | `dict`                           |
/// | `.null`         | `V`    | `None`                           |
/// | `.uint` above `Int64.max`, `.bigint` | `S` (decimal digits) | `str`: AMQP has no wider integer |
///
/// Keys are at most 255 bytes of UTF-8 (AMQP short strings).
public enum AMQPTable {
    // MARK: Public, wire-level

    /// Decodes a field table as it appears on the wire: a 32-bit big-endian
    /// length followed by the entries.
    /// - Throws: `BrokerError` `.protocolError` if the bytes are not a valid
    ///   table (bad length, unknown field kind).
    public static func decode(wire: [UInt8]) throws(BrokerError) -> JSONObject {
        let pool = AMQPPool()
        var result: JSONObject?
        var status: Int32 = 0
        wire.withUnsafeBytes { raw in
            let encoded = amqp_bytes_t(len: raw.count, bytes: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            var table = amqp_table_t()
            var offset = 0
            status = amqp_decode_table(encoded, pool.pool, &table, &offset)
            if status == AMQP_STATUS_OK.rawValue {
                // The decoded table points into `raw`: convert while it lives.
                result = json(from: table)
            }
        }
        guard let result else {
            throw BrokerError(.protocolError, "cannot decode an AMQP field table of \(wire.count) bytes",
                              detail: "rabbitmq-c: \(libraryErrorString(status))",
                              hint: "the bytes must be a 32-bit length followed by name/kind/value entries",
                              libraryStatus: status)
        }
        return result
    }

    /// Encodes `object` as a field table as it appears on the wire (a 32-bit
    /// length, then the entries), using the letters in the table above.
    /// - Throws: `BrokerError` `.invalidArgument` for a key over 255 bytes.
    public static func encode(wire object: JSONObject) throws(BrokerError) -> [UInt8] {
        let pool = AMQPPool()
        var table = try table(from: object, in: pool)
        var capacity = 256
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            var offset = 0
            let status = buffer.withUnsafeMutableBytes { raw -> Int32 in
                amqp_encode_table(amqp_bytes_t(len: raw.count, bytes: raw.baseAddress), &table, &offset)
            }
            if status == AMQP_STATUS_OK.rawValue {
                buffer.removeSubrange(offset...)
                return buffer
            }
            guard status == AMQP_STATUS_TABLE_TOO_BIG.rawValue, capacity < 1 << 30 else {
                throw BrokerError(.invalidArgument, "cannot encode an AMQP field table",
                                  detail: "rabbitmq-c: \(libraryErrorString(status))",
                                  hint: "check the table's keys and values", libraryStatus: status)
            }
            capacity *= 4
        }
    }

    // MARK: rabbitmq-c structures

    /// Converts a decoded table. Its memory (pool, encoded bytes) must be alive.
    static func json(from table: amqp_table_t) -> JSONObject {
        var object = JSONObject()
        guard table.num_entries > 0, let entries = table.entries else { return object }
        object.members.reserveCapacity(Int(table.num_entries))
        for i in 0..<Int(table.num_entries) {
            let entry = entries[i]
            object.members.append(JSONObject.Member(entry.key.string, json(from: entry.value)))
        }
        return object
    }

    /// Converts one decoded field value.
    static func json(from field: amqp_field_value_t) -> JSON {
        let v = field.value
        switch field.kind {
        case UInt8(ascii: "t"): return .bool(v.boolean != 0)
        case UInt8(ascii: "b"): return .int(Int64(v.i8))
        case UInt8(ascii: "B"): return .int(Int64(v.u8))
        case UInt8(ascii: "s"): return .int(Int64(v.i16))
        case UInt8(ascii: "u"): return .int(Int64(v.u16))
        case UInt8(ascii: "I"): return .int(Int64(v.i32))
        case UInt8(ascii: "i"): return .int(Int64(v.u32))
        case UInt8(ascii: "l"): return .int(v.i64)
        case UInt8(ascii: "L"): return .int(Int64(bitPattern: v.u64))
        case UInt8(ascii: "T"): return .int(Int64(bitPattern: v.u64))
        case UInt8(ascii: "f"): return .double(Double(v.f32))
        case UInt8(ascii: "d"): return .double(v.f64)
        case UInt8(ascii: "D"):
            var scale = 1.0
            for _ in 0..<Int(v.decimal.decimals) { scale *= 10 }
            return .double(Double(Int32(bitPattern: v.decimal.value)) / scale)
        case UInt8(ascii: "S"), UInt8(ascii: "x"): return .string(v.bytes.string)
        case UInt8(ascii: "A"):
            var items: [JSON] = []
            if v.array.num_entries > 0, let entries = v.array.entries {
                items.reserveCapacity(Int(v.array.num_entries))
                for i in 0..<Int(v.array.num_entries) { items.append(json(from: entries[i])) }
            }
            return .array(items)
        case UInt8(ascii: "F"): return .object(json(from: v.table))
        case UInt8(ascii: "V"): return .null
        default:
            // rabbitmq-c refuses unknown kinds while decoding, so this is not reached.
            return .null
        }
    }

    /// Builds a table in `pool`; it is valid until the pool is recycled.
    static func table(from object: JSONObject, in pool: AMQPPool) throws(BrokerError) -> amqp_table_t {
        let count = object.members.count
        guard count > 0 else { return amqp_table_t(num_entries: 0, entries: nil) }
        guard let entries = pool.allocate(amqp_table_entry_t.self, count: count) else {
            throw outOfMemory()
        }
        for (i, member) in object.members.enumerated() {
            guard member.key.utf8.count <= 255 else {
                let shown = String(member.key.prefix(40))
                throw BrokerError(.invalidArgument, "table key \"\(shown)…\" is too long",
                                  detail: "\(member.key.utf8.count) bytes; AMQP table keys are short strings of at most 255 bytes",
                                  hint: "use a shorter header or argument name")
            }
            let value = try field(from: member.value, in: pool)
            (entries + i).initialize(to: amqp_table_entry_t(key: pool.bytes(member.key), value: value))
        }
        return amqp_table_t(num_entries: Int32(count), entries: entries)
    }

    /// Builds one field value in `pool`.
    static func field(from value: JSON, in pool: AMQPPool) throws(BrokerError) -> amqp_field_value_t {
        var f = amqp_field_value_t()
        switch value {
        case .null:
            f.kind = UInt8(ascii: "V")
        case .bool(let b):
            f.kind = UInt8(ascii: "t")
            f.value.boolean = b ? 1 : 0
        case .int(let i):
            setInt(&f, i)
        case .uint(let u):
            if u <= UInt64(Int64.max) {
                setInt(&f, Int64(u))
            } else {
                f.kind = UInt8(ascii: "S")
                f.value.bytes = pool.bytes(String(u))
            }
        case .bigint(let digits):
            f.kind = UInt8(ascii: "S")
            f.value.bytes = pool.bytes(digits)
        case .double(let d):
            f.kind = UInt8(ascii: "d")
            f.value.f64 = d
        case .string(let s):
            f.kind = UInt8(ascii: "S")
            f.value.bytes = pool.bytes(s)
        case .array(let items):
            f.kind = UInt8(ascii: "A")
            var array = amqp_array_t(num_entries: Int32(items.count), entries: nil)
            if !items.isEmpty {
                guard let entries = pool.allocate(amqp_field_value_t.self, count: items.count) else {
                    throw outOfMemory()
                }
                for (i, item) in items.enumerated() {
                    (entries + i).initialize(to: try field(from: item, in: pool))
                }
                array.entries = entries
            }
            f.value.array = array
        case .object(let object):
            f.kind = UInt8(ascii: "F")
            f.value.table = try table(from: object, in: pool)
        }
        return f
    }

    /// py-amqp's rule: `I` (signed 32-bit) when the value fits ±2147483647,
    /// else `L` (signed 64-bit; rabbitmq-c's "U64" kind holds the bit pattern).
    private static func setInt(_ f: inout amqp_field_value_t, _ i: Int64) {
        if i >= -2_147_483_647 && i <= 2_147_483_647 {
            f.kind = UInt8(ascii: "I")
            f.value.i32 = Int32(i)
        } else {
            f.kind = UInt8(ascii: "L")
            f.value.u64 = UInt64(bitPattern: i)
        }
    }

    private static func outOfMemory() -> BrokerError {
        BrokerError(.invalidArgument, "out of memory while building an AMQP table",
                    detail: "amqp_pool_alloc returned NULL", hint: "the table is too large")
    }
}

/// rabbitmq-c's text for a status code.
func libraryErrorString(_ status: Int32) -> String {
    guard let s = amqp_error_string2(status) else { return "status \(status)" }
    return String(cString: s) + " (\(status))"
}
