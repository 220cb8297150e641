import PlugworkerCore
import Testing
@testable import PlugworkerWorker

@Suite("HTTP request parser (metrics endpoint)")
struct HTTPRequestParserTests {
    func parse(_ text: String, limit: Int = 8192) -> HTTPRequestParser.Result {
        var p = HTTPRequestParser(limit: limit)
        return p.feed(Array(text.utf8))
    }

    @Test("a GET with headers gives its method and path")
    func good() {
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9808\r\nAccept: */*\r\n\r\n")
            == .request(HTTPRequestHead(method: "GET", path: "/metrics", version: "HTTP/1.1")))
        #expect(parse("HEAD /healthz HTTP/1.0\r\n\r\n")
            == .request(HTTPRequestHead(method: "HEAD", path: "/healthz", version: "HTTP/1.0")))
    }

    @Test("the query string does not choose the resource")
    func query() {
        #expect(parse("GET /metrics?name[]=x#frag HTTP/1.1\r\n\r\n") == .request(HTTPRequestHead(method: "GET", path: "/metrics")))
    }

    @Test("bytes fed one at a time: incomplete until the blank line")
    func byteByByte() {
        var p = HTTPRequestParser()
        let bytes = Array("GET /healthz HTTP/1.1\r\nUser-Agent: probe\r\n\r\n".utf8)
        for b in bytes.dropLast() { #expect(p.feed([b]) == .incomplete) }
        #expect(p.feed([bytes.last!]) == .request(HTTPRequestHead(method: "GET", path: "/healthz")))
        // Later bytes change nothing.
        #expect(p.feed(Array("garbage".utf8)) == .request(HTTPRequestHead(method: "GET", path: "/healthz")))
    }

    @Test("lax clients ending lines with a bare LF are served")
    func bareLF() {
        #expect(parse("GET /metrics HTTP/1.1\nHost: x\n\n") == .request(HTTPRequestHead(method: "GET", path: "/metrics")))
    }

    @Test("a bad request line is 400, known as soon as the line ends", arguments: [
        "GARBAGE\r\n",
        "GET /metrics\r\n",
        "GET  /metrics HTTP/1.1\r\n",
        "GET metrics HTTP/1.1\r\n",
        "G(T /metrics HTTP/1.1\r\n",
        "GET /metrics FTP/1.0\r\n",
        "GET /met\u{7F}rics HTTP/1.1\r\n",
    ])
    func badLine(_ line: String) {
        guard case .invalid(let status, let reason) = parse(line) else {
            Issue.record("\(line.debugDescription) was not refused")
            return
        }
        #expect(status == 400)
        #expect(reason.contains("malformed"))
    }

    @Test("an HTTP version other than 1.0 and 1.1 is 505")
    func version() {
        #expect(parse("GET /metrics HTTP/2.0\r\n\r\n") == .invalid(status: 505, reason: "HTTP version not supported (use HTTP/1.0 or HTTP/1.1)"))
    }

    @Test("a head over the limit is 431, whether or not it ends")
    func oversize() {
        let long = "GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\n"
        #expect(parse(long, limit: 100) == .invalid(status: 431, reason: "request head larger than 100 bytes"))
        #expect(parse(long + "\r\n", limit: 100) == .invalid(status: 431, reason: "request head larger than 100 bytes"))
        var p = HTTPRequestParser(limit: 64)
        #expect(p.feed(Array("GET /metrics HTTP/1.1\r\n".utf8)) == .incomplete)
        #expect(p.feed(Array(repeating: UInt8(ascii: "x"), count: 64)) == .invalid(status: 431, reason: "request head larger than 64 bytes"))
    }
}

@Suite("Metrics endpoint routing")
struct MetricsEndpointTests {
    static let healthy = HealthReport(hubRunning: true, hubLastTurnAge: 0.001, brokerState: "connected", reconnects: 0,
                                      processes: 2, readyProcesses: 2, busyProcesses: 1, concurrency: 2, poolHealthy: true)

    func respond(_ method: String, _ path: String, health: HealthReport = healthy) -> HTTPResponse {
        MetricsEndpoint.respond(to: HTTPRequestHead(method: method, path: path),
                                metrics: { Array("plugworker_up 1\n".utf8) }, health: { health })
    }

    @Test("GET /metrics is the Prometheus text format")
    func metrics() {
        let r = respond("GET", "/metrics")
        #expect(r.status == 200)
        #expect(r.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(r.body == Array("plugworker_up 1\n".utf8))
        let text = String(decoding: r.serialized(), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("\r\nContent-Length: 16\r\n"))
        #expect(text.contains("\r\nConnection: close\r\n\r\nplugworker_up 1\n"))
    }

    @Test("HEAD has the headers of GET and no body")
    func head() {
        let r = respond("HEAD", "/metrics")
        let text = String(decoding: r.serialized(includeBody: false), as: UTF8.self)
        #expect(text.hasSuffix("Content-Length: 16\r\nConnection: close\r\n\r\n"))
    }

    @Test("an unknown path is 404, whatever the method")
    func notFound() {
        #expect(respond("GET", "/").status == 404)
        #expect(respond("GET", "/metrics/").status == 404)
        #expect(respond("POST", "/admin").status == 404)
    }

    @Test("another method on a known path is 405 with Allow", arguments: ["POST", "PUT", "DELETE", "get"])
    func methodNotAllowed(_ method: String) {
        let r = respond(method, "/healthz")
        #expect(r.status == 405)
        #expect(r.headers.contains { $0.0 == "Allow" && $0.1 == "GET, HEAD" })
    }

    @Test("/healthz: 200 and every part alive")
    func healthy() throws {
        let r = respond("GET", "/healthz")
        #expect(r.status == 200)
        #expect(r.contentType == "application/json")
        let json = try JSON.parse(r.body)
        #expect(json["status"] == "ok")
        #expect(json["hub"]?["alive"] == true)
        #expect(json["broker"]?["state"] == "connected")
        #expect(json["pool"]?["processes"] == 2)
        #expect(json["pool"]?["busy"] == 1)
        #expect(json["pool"]?["concurrency"] == 2)
    }

    @Test("/healthz: 503 naming the part that is down")
    func unhealthy() throws {
        var reconnecting = Self.healthy
        reconnecting.brokerState = "reconnecting"
        reconnecting.reconnects = 2
        var r = respond("GET", "/healthz", health: reconnecting)
        #expect(r.status == 503)
        var json = try JSON.parse(r.body)
        #expect(json["status"] == "unavailable")
        #expect(json["broker"]?["alive"] == false)
        #expect(json["broker"]?["state"] == "reconnecting")
        #expect(json["hub"]?["alive"] == true)
        #expect(json["pool"]?["alive"] == true)

        var halted = Self.healthy
        halted.poolHealthy = false
        r = respond("GET", "/healthz", health: halted)
        json = try JSON.parse(r.body)
        #expect(r.status == 503 && json["pool"]?["alive"] == false && json["broker"]?["alive"] == true)

        var noProcess = Self.healthy
        noProcess.readyProcesses = 0
        #expect(respond("GET", "/healthz", health: noProcess).status == 503)

        var stalled = Self.healthy
        stalled.hubLastTurnAge = HealthReport.hubStallLimit + 1
        r = respond("GET", "/healthz", health: stalled)
        json = try JSON.parse(r.body)
        #expect(r.status == 503 && json["hub"]?["alive"] == false)

        var stopped = Self.healthy
        stopped.hubRunning = false
        #expect(respond("GET", "/healthz", health: stopped).status == 503)
    }
}
