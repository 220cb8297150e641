import Testing
@testable import PlugworkerBroker

@Suite("Broker URL parsing (kombu semantics)")
struct BrokerURLTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var user: String
        var password: String
        var host: String
        var port: Int
        var vhost: String
        var masked: String
        var testDescription: String { text }
    }

    @Test("parses", arguments: [
        Case(text: "amqp://", user: "guest", password: "guest", host: "localhost", port: 5672, vhost: "/",
             masked: "amqp://guest:**@localhost:5672//"),
        Case(text: "amqp://rabbit", user: "guest", password: "guest", host: "rabbit", port: 5672, vhost: "/",
             masked: "amqp://guest:**@rabbit:5672//"),
        Case(text: "amqp://guest:guest@localhost:5672//", user: "guest", password: "guest", host: "localhost", port: 5672,
             vhost: "/", masked: "amqp://guest:**@localhost:5672//"),
        Case(text: "amqp://guest:guest@localhost:5672/", user: "guest", password: "guest", host: "localhost", port: 5672,
             vhost: "/", masked: "amqp://guest:**@localhost:5672//"),
        Case(text: "amqp://u:secret@h:1234/prod", user: "u", password: "secret", host: "h", port: 1234, vhost: "prod",
             masked: "amqp://u:**@h:1234/prod"),
        Case(text: "amqp://h/%2F", user: "guest", password: "guest", host: "h", port: 5672, vhost: "/",
             masked: "amqp://guest:**@h:5672//"),
        Case(text: "amqp://h/%2fprod", user: "guest", password: "guest", host: "h", port: 5672, vhost: "/prod",
             masked: "amqp://guest:**@h:5672//prod"),
        Case(text: "amqp://h///x", user: "guest", password: "guest", host: "h", port: 5672, vhost: "//x",
             masked: "amqp://guest:**@h:5672///x"),
        Case(text: "amqp://us%40er:p%3Ass%2F%40@h/v%20x", user: "us@er", password: "p:ss/@", host: "h", port: 5672,
             vhost: "v x", masked: "amqp://us%40er:**@h:5672/v%20x"),
        Case(text: "amqp://a:b@c@h/v", user: "a", password: "b@c", host: "h", port: 5672, vhost: "v",
             masked: "amqp://a:**@h:5672/v"),
        Case(text: "amqps://u:p@broker.example.com", user: "u", password: "p", host: "broker.example.com", port: 5671,
             vhost: "/", masked: "amqps://u:**@broker.example.com:5671//"),
        Case(text: "amqp://[::1]:5673/", user: "guest", password: "guest", host: "::1", port: 5673, vhost: "/",
             masked: "amqp://guest:**@[::1]:5673//"),
        Case(text: "pyamqp://h:5672//", user: "guest", password: "guest", host: "h", port: 5672, vhost: "/",
             masked: "pyamqp://guest:**@h:5672//"),
        Case(text: "amqp://user@h", user: "user", password: "guest", host: "h", port: 5672, vhost: "/",
             masked: "amqp://user:**@h:5672//"),
        Case(text: "amqp://:only-pass@h", user: "guest", password: "only-pass", host: "h", port: 5672, vhost: "/",
             masked: "amqp://guest:**@h:5672//"),
        Case(text: "AMQP://H:15672/x?heartbeat=10", user: "guest", password: "guest", host: "H", port: 15672, vhost: "x",
             masked: "amqp://guest:**@H:15672/x"),
    ])
    func parses(_ c: Case) throws {
        let url = try BrokerURL(parsing: c.text)
        #expect(url.user == c.user)
        #expect(url.password == c.password)
        #expect(url.host == c.host)
        #expect(url.port == c.port)
        #expect(url.virtualHost == c.vhost)
        #expect(url.masked == c.masked)
        #expect(url.description == c.masked)
        #expect(url.isTLS == c.text.hasPrefix("amqps"))
    }

    @Test("keeps the query string")
    func query() throws {
        let url = try BrokerURL(parsing: "amqp://h/v?heartbeat=10&ssl=true&name=a+b%21")
        #expect(url.query.map(\.key) == ["heartbeat", "ssl", "name"])
        #expect(url.query.map(\.value) == ["10", "true", "a b!"])
    }

    @Test("never shows the password")
    func neverShowsPassword() throws {
        let url = try BrokerURL(parsing: "amqp://alice:s3cr3t-pw@h:5672/v")
        #expect(!"\(url)".contains("s3cr3t"))
        #expect(!String(describing: url).contains("s3cr3t"))
        #expect(!String(reflecting: url).contains("s3cr3t"))
        var dumped = ""
        dump(url, to: &dumped)
        #expect(!dumped.contains("s3cr3t"))
        #expect(url.password == "s3cr3t-pw")
    }

    @Test("refuses", arguments: [
        "localhost:5672",
        "http://localhost",
        "redis://localhost:6379/0",
        "amqp://h:99999/",
        "amqp://h:0/",
        "amqp://h:port/",
        "amqp://h:1:2/",
        "amqp://[::1/",
        "amqp://u:pa%ZZss@h/",
        "amqp://h/v%2",
        "amqp://h/%FF",
    ])
    func refuses(_ text: String) {
        #expect(throws: BrokerError.self) { try BrokerURL(parsing: text) }
        do {
            _ = try BrokerURL(parsing: text)
        } catch {
            #expect(error.code == .invalidURL)
            #expect(!error.message.contains("pa%ZZss"), "the password must be masked: \(error.message)")
            #expect(!error.hint.isEmpty)
        }
    }
}
