import PlugworkerBroker
import PlugworkerCore

/// Turns a delivery from a task queue into a `TaskMessage`, or says why it
/// cannot (`MessageRejection`).
///
/// Decisions, in order (§1.7 of the wire notes, with the checks a Python
/// worker spreads over kombu and the strategy done here up front):
///
/// 1. **Size.** A raw body over `maxMessageSize` bytes → `.tooLarge`.
/// 2. **Content type and encoding.** `application/json`, with or without
///    parameters (`; charset=utf-8`; another charset is refused), in any
///    case. A missing or empty content type is taken as JSON: kombu always
///    sends one, other clients sometimes forget, and the body still has to
///    parse as JSON, so nothing unsafe gets through. Anything else (pickle,
///    yaml, msgpack…) → `.contentDisallowed`. `content_encoding` must be
///    absent, empty, `utf-8`/`utf8` (or an ASCII alias).
/// 3. **Compression.** Header `compression` of `application/x-gzip` or
///    `zlib` → inflate, never past `maxMessageSize` bytes (→ `.tooLarge`);
///    a corrupt stream → `.decodeError`; any other value →
///    `.unsupportedCompression`.
/// 4. **JSON.** Invalid JSON or UTF-8, or nesting deeper than `maxDepth` →
///    `.decodeError`. A body is always checked completely before its shape
///    is judged, so a broken body is a decode error whatever else is wrong.
/// 5. **Which protocol.** A non-null `task` header → protocol 2; its body
///    must be `[args, kwargs, embed]`, or an object with `args` ("hybrid",
///    read like protocol 1). No `task` header and an object body with a
///    `task` field → protocol 1. Anything else → `.notATask`.
/// 6. **Fields.** Types and values of every field the worker uses are
///    checked → `.malformed` with a `TypeError`/`ValueError` naming the
///    field. Identity fields (`id`, `task`, `root_id`, `parent_id`,
///    `group`) must be strings (or null where optional); the cosmetic
///    ones (`argsrepr`, `kwargsrepr`, `origin`, `shadow`, `lang`) are
///    ignored when they have the wrong type.
///
/// Unknown task names are the worker's business (it knows the registry).
public enum TaskMessageDecoder {
    /// Decodes a delivery.
    /// - Parameters:
    ///   - maxMessageSize: the largest body accepted, compressed and after
    ///     decompression, in bytes.
    ///   - maxDepth: the deepest JSON nesting accepted.
    public static func decode(_ delivery: Delivery, maxMessageSize: Int,
                              maxDepth: Int = JSONReader.defaultMaxDepth) throws(MessageRejection) -> TaskMessage {
        try decode(properties: delivery.properties, body: delivery.body, maxMessageSize: maxMessageSize, maxDepth: maxDepth)
    }

    /// Decodes a message given as properties and body.
    public static func decode(properties: MessageProperties, body: [UInt8], maxMessageSize: Int,
                              maxDepth: Int = JSONReader.defaultMaxDepth) throws(MessageRejection) -> TaskMessage {
        let headers = properties.headers ?? JSONObject()
        let fields = Fields(headers, label: "header")
        var context = Context(properties: properties)
        context.foundID = fields.id?.stringValue
        if let taskHeader = fields.task, !taskHeader.isNull {
            context.hasTaskHeader = true
            context.taskName = taskHeader.stringValue
        }

        // 1. Size.
        guard body.count <= maxMessageSize else {
            throw context.reject(.tooLarge, .limitExceeded(
                "message body of \(body.count) bytes exceeds the worker's limit of \(maxMessageSize) bytes"))
        }
        // 2. Content type and encoding.
        try checkContent(properties, context)
        // 3. Compression.
        var payload = body
        if let compression = fields.compression, !compression.isNull {
            payload = try decompress(body, compression, maxMessageSize: maxMessageSize, context)
        }
        // 4–6.
        do {
            return try parse(payload, headers: headers, fields: fields, properties: properties, maxDepth: maxDepth,
                             context: &context)
        } catch let rejection as MessageRejection {
            throw rejection
        } catch let error as JSONError {
            throw context.reject(.decodeError, .decodeError("invalid JSON body: \(error)"))
        } catch {
            throw context.reject(.decodeError, .decodeError("invalid JSON body: \(error)"))
        }
    }

    // MARK: - Content type, encoding, compression

    /// Kombu's names for the serializers clients can choose.
    static let serializerNames: [String: String] = [
        "application/json": "json",
        "application/x-python-serialize": "pickle",
        "application/x-yaml": "yaml",
        "application/x-msgpack": "msgpack",
    ]

    static func checkContent(_ properties: MessageProperties, _ context: Context) throws(MessageRejection) {
        if let contentType = properties.contentType, contentType != "application/json" {
            var parts = contentType.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
            let mime = trimmed(parts.next() ?? "").lowercased()
            if !mime.isEmpty && mime != "application/json" {
                // Worded as kombu words it, so Python users recognise it.
                let name = serializerNames[mime] ?? contentType
                throw context.reject(.contentDisallowed, .contentDisallowed(
                    "Refusing to deserialize untrusted content of type \(name) (\(contentType))"))
            }
            while let parameter = parts.next() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, trimmed(pair[0]).lowercased() == "charset" else { continue }
                var charset = trimmed(pair[1]).lowercased()
                if charset.hasPrefix("\"") && charset.hasSuffix("\"") && charset.count >= 2 {
                    charset = String(charset.dropFirst().dropLast())
                }
                guard isUTF8Name(charset) else {
                    throw context.reject(.contentDisallowed, .contentDisallowed(
                        "Refusing to deserialize JSON in charset \(charset) (only utf-8 is supported)"))
                }
            }
        }
        if let encoding = properties.contentEncoding, !encoding.isEmpty, encoding != "utf-8",
           !isUTF8Name(encoding.lowercased()) {
            throw context.reject(.contentDisallowed, .contentDisallowed(
                "Refusing to deserialize content with encoding \(encoding) (only utf-8 is supported)"))
        }
    }

    static func isUTF8Name(_ name: String) -> Bool {
        name == "utf-8" || name == "utf8" || name == "us-ascii" || name == "ascii"
    }

    static func trimmed(_ s: Substring) -> Substring {
        var s = s
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }

    static func decompress(_ body: [UInt8], _ compression: JSON, maxMessageSize: Int,
                           _ context: Context) throws(MessageRejection) -> [UInt8] {
        guard case .string(let name) = compression else {
            throw context.reject(.unsupportedCompression, .decodeError(
                "'compression' header must be a str, not \(compression.pythonTypeName)"))
        }
        let lowered = name.lowercased()
        guard lowered == "application/x-gzip" || lowered == "zlib" else {
            throw context.reject(.unsupportedCompression, .decodeError(
                "unsupported compression \(PythonRepr.repr(compression, maxLength: 64)): this worker decompresses only zlib (application/x-gzip)"))
        }
        do throws(Zlib.InflateError) {
            return try Zlib.inflate(body, limit: maxMessageSize)
        } catch {
            switch error {
            case .tooLarge(let limit):
                throw context.reject(.tooLarge, .limitExceeded(
                    "decompressed message body exceeds the worker's limit of \(limit) bytes"))
            case .corrupt(let why):
                throw context.reject(.decodeError, .decodeError("cannot decompress the zlib body: \(why)"))
            }
        }
    }

    // MARK: - Body

    static func parse(_ payload: [UInt8], headers: JSONObject, fields: Fields, properties: MessageProperties,
                      maxDepth: Int, context: inout Context) throws -> TaskMessage {
        let first = payload.withUnsafeBytes { raw -> UInt8? in
            var r = JSONReader(raw, maxDepth: maxDepth)
            return r.peek()
        }
        if first == UInt8(ascii: "{") {
            let object = try payload.withUnsafeBytes { raw in try ObjectBody(raw, maxDepth: maxDepth) }
            if context.hasTaskHeader {
                guard object.argsRange != nil else {
                    throw context.reject(.malformed, .typeError(
                        "task body must be a list [args, kwargs, embed], not a dict without 'args'"))
                }
            } else {
                guard object.hasTask else {
                    context.notATask = true
                    throw context.reject(.notATask, .invalidTask(
                        "message has no 'task' header and its body is not a protocol 1 task"))
                }
            }
            return try legacy(object, payload: payload, headers: headers, properties: properties,
                              maxDepth: maxDepth, context: &context)
        }
        guard context.hasTaskHeader else {
            // Check the JSON first: a broken body is a decode error.
            try payload.withUnsafeBytes { raw in
                var r = JSONReader(raw, maxDepth: maxDepth)
                try r.skipValue()
                try r.expectEnd()
            }
            context.notATask = true
            throw context.reject(.notATask, .invalidTask(
                "message has no 'task' header and its body is not a protocol 1 task"))
        }
        let parts = try payload.withUnsafeBytes { raw in try arrayBody(raw, maxDepth: maxDepth, context: context) }
        let embed = try embedValue(parts.embed, context: context)
        return try build(fields, protocolVersion: 2, body: payload, argsRange: parts.args, kwargsRange: parts.kwargs,
                         embed: embed, headers: headers, properties: properties, maxDepth: maxDepth, context: &context)
    }

    /// Reads `[args, kwargs, embed]`, recording where args and kwargs are.
    static func arrayBody(_ raw: UnsafeRawBufferPointer, maxDepth: Int,
                          context: Context) throws -> (args: Range<Int>, kwargs: Range<Int>, embed: JSON) {
        var r = JSONReader(raw, maxDepth: maxDepth)
        guard try r.peekKind() == .array else {
            let value = try r.readValue()
            try r.expectEnd()
            throw context.reject(.malformed, .typeError(
                "task body must be a list [args, kwargs, embed], not \(value.pythonTypeName)"))
        }
        var problem: MessageRejection? = nil
        var args = 0..<0, kwargs = 0..<0
        var embed: JSON = .null
        var count = 0
        try r.beginArray()
        while try r.nextElement(first: count == 0) {
            switch count {
            case 0:
                if try r.peekKind() == .array {
                    args = try r.skipValue()
                } else {
                    let v = try r.readValue()
                    problem = problem ?? context.reject(.malformed, .typeError("args must be a list, not \(v.pythonTypeName)"))
                }
            case 1:
                if try r.peekKind() == .object {
                    kwargs = try r.skipValue()
                } else {
                    let v = try r.readValue()
                    problem = problem ?? context.reject(.malformed, .typeError("kwargs must be a dict, not \(v.pythonTypeName)"))
                }
            case 2:
                embed = try r.readValue()
            default:
                try r.skipValue()
            }
            count += 1
        }
        try r.expectEnd()
        guard count == 3 else {
            throw context.reject(.malformed, .valueError(
                "task body must be a list of 3 elements [args, kwargs, embed], not \(count)"))
        }
        if let problem { throw problem }
        return (args, kwargs, embed)
    }

    /// A protocol-1 (or hybrid) body object, with the raw ranges of its
    /// `args` and `kwargs` values (the last ones, as Python's `json` keeps).
    struct ObjectBody {
        var members: [JSONObject.Member] = []
        var argsRange: Range<Int>? = nil
        var kwargsRange: Range<Int>? = nil
        var hasTask = false

        init(_ raw: UnsafeRawBufferPointer, maxDepth: Int) throws {
            var r = JSONReader(raw, maxDepth: maxDepth)
            try r.beginObject()
            var first = true
            while try r.nextMember(first: first) {
                first = false
                let key = try r.readString()
                try r.expectColon()
                _ = r.peek()
                let start = r.position
                let value = try r.readValue()
                switch key {
                case "args": argsRange = start..<r.position
                case "kwargs": kwargsRange = start..<r.position
                case "task": hasTask = true
                default: break
                }
                members.append(.init(key, value))
            }
            try r.expectEnd()
        }
    }

    /// Builds the request from a protocol-1 or hybrid body: the body's
    /// fields, overlaid with the AMQP headers, stand in for the headers;
    /// the body becomes a protocol-2 `[args, kwargs, embed]`.
    static func legacy(_ object: ObjectBody, payload: [UInt8], headers: JSONObject, properties: MessageProperties,
                       maxDepth: Int, context: inout Context) throws -> TaskMessage {
        var merged = JSONObject()
        merged.members.reserveCapacity(object.members.count + headers.count)
        var args: JSON? = nil, kwargs: JSON? = nil
        var callbacks: JSON? = nil, errbacks: JSON? = nil, chord: JSON? = nil
        var taskset: JSON? = nil
        for m in object.members {
            switch m.key {
            case "args": args = m.value
            case "kwargs": kwargs = m.value
            case "callbacks": callbacks = m.value
            case "errbacks": errbacks = m.value
            case "chord": chord = m.value
            case "chain": break  // protocol 1 has no chain; Python drops it too
            case "taskset":
                taskset = m.value
                merged.members.append(m)
            default: merged.members.append(m)
            }
        }
        if let taskset, !taskset.isNull { merged["group"] = taskset }
        for m in headers.members { merged[m.key] = m.value }

        // Identity first, so that later errors name the task.
        let fields = Fields(merged, label: "field")
        context.foundID = fields.id?.stringValue ?? context.foundID
        context.taskName = fields.task?.stringValue ?? context.taskName

        if let args, args.arrayValue == nil {
            throw context.reject(.malformed, .typeError("args must be a list, not \(args.pythonTypeName)"))
        }
        if let kwargs, kwargs.objectValue == nil {
            throw context.reject(.malformed, .typeError("kwargs must be a dict, not \(kwargs.pythonTypeName)"))
        }
        let embed = TaskMessage.Embed(
            callbacks: try signatures(callbacks, "'callbacks' field", context),
            errbacks: try signatures(errbacks, "'errbacks' field", context),
            chord: try chordValue(chord, "'chord' field", context))

        // The protocol-2 body: the original bytes of args and kwargs.
        var w = JSONWriter(capacity: payload.count + 80)
        w.writeRaw("[")
        let argsStart = w.bytes.count
        if let range = object.argsRange { w.writeRaw(bytes: payload[range]) } else { w.writeRaw("[]") }
        let argsRange = argsStart..<w.bytes.count
        w.writeRaw(", ")
        let kwargsStart = w.bytes.count
        if let range = object.kwargsRange { w.writeRaw(bytes: payload[range]) } else { w.writeRaw("{}") }
        let kwargsRange = kwargsStart..<w.bytes.count
        w.writeRaw(", ")
        writeEmbed(embed, into: &w)
        w.writeRaw("]")

        return try build(fields, protocolVersion: 1, body: w.bytes, argsRange: argsRange, kwargsRange: kwargsRange,
                         embed: embed, headers: merged, properties: properties, maxDepth: maxDepth, context: &context)
    }

    /// Writes `{"callbacks": …, "errbacks": …, "chain": …, "chord": …}`,
    /// with null for empty lists, as Python clients send it.
    static func writeEmbed(_ embed: TaskMessage.Embed, into w: inout JSONWriter) {
        func list(_ l: [JSON], _ w: inout JSONWriter) {
            if l.isEmpty { w.writeRaw("null") } else { w.write(.array(l)) }
        }
        w.writeRaw("{\"callbacks\": ")
        list(embed.callbacks, &w)
        w.writeRaw(", \"errbacks\": ")
        list(embed.errbacks, &w)
        w.writeRaw(", \"chain\": ")
        list(embed.chain, &w)
        w.writeRaw(", \"chord\": ")
        w.write(embed.chord ?? .null)
        w.writeRaw("}")
    }

    // MARK: - Embed

    static func embedValue(_ value: JSON, context: Context) throws(MessageRejection) -> TaskMessage.Embed {
        switch value {
        case .null:
            return TaskMessage.Embed()
        case .object(let o):
            var callbacks: JSON? = nil, errbacks: JSON? = nil, chain: JSON? = nil, chord: JSON? = nil
            for m in o.members {
                switch m.key {
                case "callbacks": callbacks = m.value
                case "errbacks": errbacks = m.value
                case "chain": chain = m.value
                case "chord": chord = m.value
                default: break
                }
            }
            return TaskMessage.Embed(
                callbacks: try signatures(callbacks, "embed 'callbacks'", context),
                errbacks: try signatures(errbacks, "embed 'errbacks'", context),
                chain: try signatures(chain, "embed 'chain'", context),
                chord: try chordValue(chord, "embed 'chord'", context))
        default:
            throw context.reject(.malformed, .typeError("embed must be a dict or None, not \(value.pythonTypeName)"))
        }
    }

    /// A list of signature dicts; null is empty, a lone dict is a list of one.
    static func signatures(_ value: JSON?, _ label: String, _ context: Context) throws(MessageRejection) -> [JSON] {
        switch value {
        case nil, .null?:
            return []
        case .object?:
            return [value!]
        case .array(let list)?:
            for e in list where e.objectValue == nil {
                throw context.reject(.malformed, .typeError(
                    "\(label) must be a list of signature dicts, but holds a \(e.pythonTypeName)"))
            }
            return list
        case let other?:
            throw context.reject(.malformed, .typeError(
                "\(label) must be a list of signatures or None, not \(other.pythonTypeName)"))
        }
    }

    static func chordValue(_ value: JSON?, _ label: String, _ context: Context) throws(MessageRejection) -> JSON? {
        switch value {
        case nil, .null?: return nil
        case .object?: return value
        case let other?:
            throw context.reject(.malformed, .typeError("\(label) must be a signature dict or None, not \(other.pythonTypeName)"))
        }
    }

    // MARK: - Fields

    /// The header (or protocol-1 body) fields the worker reads, picked out
    /// in one pass; the last of duplicate keys wins, as in a Python dict.
    struct Fields {
        let label: String
        var task: JSON?, id: JSON?, rootID: JSON?, parentID: JSON?, group: JSON?, groupIndex: JSON?
        var eta: JSON?, expires: JSON?, retries: JSON?, timelimit: JSON?
        var argsrepr: JSON?, kwargsrepr: JSON?, origin: JSON?, shadow: JSON?
        var ignoreResult: JSON?, replacedTaskNesting: JSON?, stampedHeaders: JSON?, stamps: JSON?

        var compression: JSON?

        init(_ object: JSONObject, label: String) {
            self.label = label
            for m in object.members {
                // Bucket by length first: most keys are told apart without
                // comparing a single byte.
                let k = m.key
                switch k.utf8.count {
                case 2: if k == "id" { id = m.value }
                case 3: if k == "eta" { eta = m.value }
                case 4: if k == "task" { task = m.value }
                case 5: if k == "group" { group = m.value }
                case 6:
                    if k == "origin" { origin = m.value } else if k == "shadow" { shadow = m.value }
                    else if k == "stamps" { stamps = m.value }
                case 7:
                    if k == "root_id" { rootID = m.value } else if k == "expires" { expires = m.value }
                    else if k == "retries" { retries = m.value }
                case 8: if k == "argsrepr" { argsrepr = m.value }
                case 9: if k == "parent_id" { parentID = m.value } else if k == "timelimit" { timelimit = m.value }
                case 10: if k == "kwargsrepr" { kwargsrepr = m.value }
                case 11:
                    if k == "group_index" { groupIndex = m.value } else if k == "compression" { compression = m.value }
                case 13: if k == "ignore_result" { ignoreResult = m.value }
                case 15: if k == "stamped_headers" { stampedHeaders = m.value }
                case 21: if k == "replaced_task_nesting" { replacedTaskNesting = m.value }
                default: break
                }
            }
        }
    }

    static func build(_ f: Fields, protocolVersion: Int, body: [UInt8], argsRange: Range<Int>, kwargsRange: Range<Int>,
                      embed: TaskMessage.Embed, headers: JSONObject, properties: MessageProperties, maxDepth: Int,
                      context: inout Context) throws(MessageRejection) -> TaskMessage {
        let label = f.label
        func typeError(_ name: String, _ expected: String, _ value: JSON) -> MessageRejection {
            context.reject(.malformed, .typeError("'\(name)' \(label) must be \(expected), not \(value.pythonTypeName)"))
        }
        func valueError(_ text: String) -> MessageRejection {
            context.reject(.malformed, .valueError(text))
        }
        func string(_ value: JSON?, _ name: String, required: Bool) throws(MessageRejection) -> String? {
            switch value {
            case nil, .null?:
                if required { throw valueError("task message has no '\(name)' \(label)") }
                return nil
            case .string(let s)?:
                if required && s.isEmpty { throw valueError("'\(name)' \(label) is empty") }
                return s
            case let other?:
                throw typeError(name, required ? "a str" : "a str or None", other)
            }
        }
        func cosmetic(_ value: JSON?) -> String? { value?.stringValue }
        func count(_ value: JSON?, _ name: String, default d: Int?) throws(MessageRejection) -> Int? {
            switch value {
            case nil, .null?:
                return d
            case .int(let v)?:
                guard v >= 0 else { throw valueError("'\(name)' \(label) must not be negative: \(v)") }
                guard let i = Int(exactly: v) else { throw valueError("'\(name)' \(label) is out of range: \(v)") }
                return i
            case .uint(let v)?:
                guard let i = Int(exactly: v) else { throw valueError("'\(name)' \(label) is out of range: \(v)") }
                return i
            case .bigint(let digits)?:
                throw valueError("'\(name)' \(label) is out of range: \(digits.prefix(40))")
            case let other?:
                throw typeError(name, d == nil ? "an int or None" : "an int", other)
            }
        }
        func time(_ value: JSON?, _ what: String) throws(MessageRejection) -> (Double?, String?) {
            guard let value, !value.isNull else { return (nil, nil) }
            do throws(CeleryTime.ParseError) {
                return (try CeleryTime.parse(value), CeleryTime.text(of: value))
            } catch {
                let text = "invalid \(what) value \(PythonRepr.repr(value, maxLength: 64)): \(error.message)"
                if case .string = value { throw valueError(text) }
                if CeleryTime.text(of: value) != nil { throw valueError(text) }
                throw context.reject(.malformed, .typeError(text))
            }
        }

        // Identity first, so that every later error names the task.
        let task = try string(f.task, "task", required: true)!
        context.taskName = task
        let id = try string(f.id, "id", required: true)!
        context.foundID = id
        let rootID = try string(f.rootID, "root_id", required: false)
        let parentID = try string(f.parentID, "parent_id", required: false)
        let group = try string(f.group, "group", required: false)
        let groupIndex = try count(f.groupIndex, "group_index", default: nil)
        let retries = try count(f.retries, "retries", default: 0)!
        let nesting = try count(f.replacedTaskNesting, "replaced_task_nesting", default: 0)!
        let (eta, etaText) = try time(f.eta, "ETA")
        let (expires, expiresText) = try time(f.expires, "expires")

        var timeLimit = TaskMessage.TimeLimit()
        switch f.timelimit {
        case nil, .null?:
            break
        case .array(let pair)? where pair.count == 2:
            var limits: [Double?] = []
            for (k, v) in pair.enumerated() {
                let which = k == 0 ? "hard" : "soft"
                switch v {
                case .null:
                    limits.append(nil)
                case .int, .uint, .bigint, .double:
                    let d = v.doubleValue ?? .nan
                    guard d.isFinite && d >= 0 else {
                        throw valueError("'timelimit' \(label): the \(which) time limit must be a non-negative number, not \(PythonRepr.repr(v))")
                    }
                    limits.append(d == 0 ? nil : d)
                default:
                    throw context.reject(.malformed, .typeError(
                        "'timelimit' \(label) must be [hard, soft] with numbers or None, not \(PythonRepr.repr(f.timelimit!, maxLength: 64))"))
                }
            }
            timeLimit = TaskMessage.TimeLimit(hard: limits[0], soft: limits[1])
        case .array(let list)?:
            throw valueError("'timelimit' \(label) must be [hard, soft], not a list of \(list.count)")
        case let other?:
            throw typeError("timelimit", "a list [hard, soft]", other)
        }

        let ignoreResult: Bool?
        switch f.ignoreResult {
        case nil, .null?: ignoreResult = nil
        case .bool(let b)?: ignoreResult = b
        case let other?: throw typeError("ignore_result", "a bool or None", other)
        }

        var stampedHeaders: [String]? = nil
        switch f.stampedHeaders {
        case nil, .null?:
            break
        case .array(let list)?:
            var names: [String] = []
            names.reserveCapacity(list.count)
            for e in list {
                guard case .string(let s) = e else { throw typeError("stamped_headers", "a list of str", .array(list)) }
                names.append(s)
            }
            stampedHeaders = names
        case let other?:
            throw typeError("stamped_headers", "a list of str or None", other)
        }

        let stamps: JSONObject
        switch f.stamps {
        case nil, .null?: stamps = JSONObject()
        case .object(let o)?: stamps = o
        case let other?: throw typeError("stamps", "a dict", other)
        }

        let argsrepr = cosmetic(f.argsrepr) ?? reprOf(body, argsRange, maxDepth: maxDepth, tuple: true)
        let kwargsrepr = cosmetic(f.kwargsrepr) ?? reprOf(body, kwargsRange, maxDepth: maxDepth, tuple: false)

        return TaskMessage(
            protocolVersion: protocolVersion, id: id, taskName: task, rootID: rootID, parentID: parentID,
            group: group, groupIndex: groupIndex, eta: eta, etaText: etaText, expires: expires,
            expiresText: expiresText, retries: retries, timeLimit: timeLimit, argsrepr: argsrepr,
            kwargsrepr: kwargsrepr, origin: cosmetic(f.origin), shadow: cosmetic(f.shadow),
            ignoreResult: ignoreResult, replacedTaskNesting: nesting, stampedHeaders: stampedHeaders,
            stamps: stamps, headers: headers, replyTo: properties.replyTo, correlationID: properties.correlationID,
            priority: properties.priority, contentType: properties.contentType, body: body,
            argsRange: argsRange, kwargsRange: kwargsRange, embed: embed)
    }

    /// The Python repr of already-checked args (as a tuple) or kwargs.
    static func reprOf(_ body: [UInt8], _ range: Range<Int>, maxDepth: Int, tuple: Bool) -> String {
        guard let value = try? JSON.parse(body[range], maxDepth: maxDepth) else { return tuple ? "()" : "{}" }
        switch value {
        case .array(let a) where tuple: return PythonRepr.argsTuple(a)
        case .object(let o) where !tuple: return PythonRepr.kwargsDict(o)
        default: return PythonRepr.repr(value, maxLength: PythonRepr.defaultMaxLength)
        }
    }

    // MARK: - Context

    /// What is known about the message so far, for rejections.
    struct Context {
        var foundID: String?
        var taskName: String?
        var replyTo: String?
        var correlationID: String?
        var hasTaskHeader = false
        var notATask = false

        init(properties: MessageProperties) {
            replyTo = properties.replyTo
            correlationID = properties.correlationID
        }

        var taskID: String? {
            // Not a task: only an `id` header (a Celery task's, missing its
            // `task`) earns the sender a FAILURE; a bare correlation_id (an
            // RPC message sent to the wrong queue) does not.
            if notATask { return foundID?.isEmpty == false ? foundID : nil }
            if let foundID, !foundID.isEmpty { return foundID }
            if let correlationID, !correlationID.isEmpty { return correlationID }
            return nil
        }

        func reject(_ reason: MessageRejection.Reason, _ exception: TaskException) -> MessageRejection {
            let id = taskID
            let subject: String
            switch (taskName, id) {
            case let (name?, id?): subject = "\(oneLine(name))[\(oneLine(id))]"
            case let (nil, id?): subject = "task \(oneLine(id))"
            case let (name?, nil): subject = "\(oneLine(name)) (no task id)"
            case (nil, nil): subject = "message (no task id)"
            }
            return MessageRejection(
                reason: reason, message: "\(subject): \(oneLine(exception.message, limit: 400))",
                taskID: id, taskName: taskName, replyTo: replyTo, correlationID: correlationID,
                exception: exception)
        }

        /// `s` without control characters, cut to `limit` characters.
        func oneLine(_ s: String, limit: Int = 100) -> String {
            var out = ""
            var n = 0
            for c in s.unicodeScalars {
                if n == limit {
                    out += "..."
                    break
                }
                out.unicodeScalars.append(c.value < 0x20 || c.value == 0x7F ? " " : c)
                n += 1
            }
            return out
        }
    }
}
