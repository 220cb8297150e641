import CRabbitMQ

/// An `amqp_pool_t`: arena memory for what rabbitmq-c reads while it encodes
/// an outgoing method or header (strings, tables, arrays).
///
/// Every `amqp_bytes_t` handed to rabbitmq-c must point at memory that lives
/// until the library has encoded it. A Swift string's bytes are only valid
/// inside `withUTF8`, and `amqp_cstring_bytes(someSwiftString)` points into a
/// temporary that is gone by the next line. So everything outgoing is copied
/// into a pool first, and the pool is recycled once the frame has been sent.
///
/// Not thread-safe; one pool belongs to one connection (or one caller).
final class AMQPPool {
    /// The pool itself, at a stable address (rabbitmq-c keeps pointers to it).
    let pool: UnsafeMutablePointer<amqp_pool_t>

    /// Creates an empty pool that allocates in pages of `pageSize` bytes
    /// (larger allocations get blocks of their own).
    init(pageSize: Int = 4096) {
        pool = .allocate(capacity: 1)
        init_amqp_pool(pool, pageSize)
    }

    deinit {
        empty_amqp_pool(pool)
        pool.deallocate()
    }

    /// Forgets every allocation but keeps the first pages for reuse. Every
    /// pointer and `amqp_bytes_t` previously returned becomes invalid.
    func recycle() {
        recycle_amqp_pool(pool)
    }

    /// Uninitialized memory for `count` values of `T`; nil if out of memory.
    func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T>? {
        guard count > 0 else { return nil }
        guard let raw = amqp_pool_alloc(pool, MemoryLayout<T>.stride * count) else { return nil }
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// A copy of `string`'s UTF-8 bytes (not NUL-terminated), valid until
    /// `recycle()`.
    func bytes(_ string: String) -> amqp_bytes_t {
        var s = string
        return s.withUTF8 { copy(UnsafeRawBufferPointer($0)) }
    }

    /// A copy of `buffer`, valid until `recycle()`.
    func copy(_ buffer: UnsafeRawBufferPointer) -> amqp_bytes_t {
        guard buffer.count > 0, let base = buffer.baseAddress else { return amqp_bytes_t(len: 0, bytes: nil) }
        guard let raw = amqp_pool_alloc(pool, buffer.count) else { return amqp_bytes_t(len: 0, bytes: nil) }
        raw.copyMemory(from: base, byteCount: buffer.count)
        return amqp_bytes_t(len: buffer.count, bytes: raw)
    }

    /// A NUL-terminated copy of `string`, for the few rabbitmq-c calls that
    /// take C strings; valid until `recycle()`.
    func cString(_ string: String) -> UnsafePointer<CChar> {
        var s = string
        return s.withUTF8 { utf8 -> UnsafePointer<CChar> in
            let raw = amqp_pool_alloc(pool, utf8.count + 1)!
            if let base = utf8.baseAddress { raw.copyMemory(from: base, byteCount: utf8.count) }
            raw.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return UnsafePointer(raw.assumingMemoryBound(to: CChar.self))
        }
    }
}

extension amqp_bytes_t {
    /// The bytes as a Swift string; invalid UTF-8 becomes U+FFFD.
    var string: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }

    /// The bytes as a Swift array (one copy).
    var array: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: len))
    }
}
