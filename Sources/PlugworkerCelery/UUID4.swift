/// Random (version 4) UUID text, as Celery uses for task ids.
public enum UUID4 {
    /// A new id like `60a4602b-3ce6-4248-8ebc-6f074ce57ba7`.
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { s.append("-") }
            s.append(hex[Int(b >> 4)])
            s.append(hex[Int(b & 0xF)])
        }
        return s
    }
}
