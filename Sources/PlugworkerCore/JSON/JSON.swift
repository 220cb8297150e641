/// A JSON value, as Celery's messages carry them.
///
/// Numbers keep their kind: integers that fit `Int64` are `.int`, larger
/// positive ones that fit `UInt64` are `.uint`, integers beyond 64 bits (Python
/// ints are unbounded) keep their digits in `.bigint`, and everything else is
/// `.double`. Objects keep their members in order, since Celery clients and
/// the wire vectors are order-preserving and order makes logs readable.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case bigint(String)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// The Python type name of this value, as `TypeError` messages say it.
    public var pythonTypeName: String {
        switch self {
        case .null: return "NoneType"
        case .bool: return "bool"
        case .int, .uint, .bigint: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        }
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer, if this is an integer that fits `Int64`.
    public var int64Value: Int64? {
        switch self {
        case .int(let v): return v
        default: return nil
        }
    }

    /// The number as a double (integers converted), if this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        case .double(let v): return v
        case .bigint(let digits): return Double(digits)
        default: return nil
        }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Element lookup on arrays; nil for other kinds or an index out of range.
    public subscript(index: Int) -> JSON? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    /// Member lookup on objects; nil for other kinds or a missing key.
    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

/// An ordered JSON object. Lookups are linear: Celery's objects are small.
public struct JSONObject: Sendable, Equatable, Sequence {
    /// One `"key": value` pair.
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSON
        public init(_ key: String, _ value: JSON) {
            self.key = key
            self.value = value
        }
    }

    public var members: [Member]

    public init(_ members: [Member] = []) {
        self.members = members
    }

    public init(_ pairs: KeyValuePairs<String, JSON>) {
        self.members = pairs.map { Member($0.key, $0.value) }
    }

    /// The value of the first member named `key`. Setting replaces that
    /// member's value, appends a new member, or removes it when set to nil.
    public subscript(key: String) -> JSON? {
        get { members.first(where: { $0.key == key })?.value }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append(Member(key, newValue))
            }
        }
    }

    public var count: Int { members.count }

    public func makeIterator() -> IndexingIterator<[Member]> {
        members.makeIterator()
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements.map { JSONObject.Member($0.0, $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// `["key": value, ...]`, members kept in the order written.
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self.init(elements.map { Member($0.0, $0.1) })
    }
}

extension JSON {
    /// Parses one complete JSON document (surrounding whitespace allowed).
    /// - Throws: `JSONError` with the byte offset and what was wrong.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = JSONReader.defaultMaxDepth) throws -> JSON {
        let copy = ContiguousArray(bytes)
        return try copy.withUnsafeBytes { raw in
            var reader = JSONReader(raw, maxDepth: maxDepth)
            let value = try reader.readValue()
            try reader.expectEnd()
            return value
        }
    }

    /// Parses a JSON document from a string.
    public static func parse(_ text: String, maxDepth: Int = JSONReader.defaultMaxDepth) throws -> JSON {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// The compact JSON text of this value (Python's `json.dumps` separators).
    public var serialized: String {
        var writer = JSONWriter()
        writer.write(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The JSON text as UTF-8 bytes.
    public var serializedBytes: [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.bytes
    }
}
