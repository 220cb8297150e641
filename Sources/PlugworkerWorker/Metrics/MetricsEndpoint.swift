/// What the metrics port serves (`GET` or `HEAD`):
///
/// - `/metrics`: the Prometheus text format;
/// - `/healthz`: the health report as JSON, 200 when healthy, 503 if not;
/// - any other path: 404; another method on these paths: 405.
///
/// A pure function of the request and what the worker reports, so that it
/// can be tested without sockets.
public enum MetricsEndpoint {
    /// The Content-Type of the Prometheus text format.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"
    public static let paths = ["/metrics", "/healthz"]

    /// The response to `request`. `metrics` and `health` are called only
    /// for their path.
    public static func respond(to request: HTTPRequestHead, metrics: () -> [UInt8], health: () -> HealthReport) -> HTTPResponse {
        guard paths.contains(request.path) else {
            return .text(404, "not found: \(request.path) (this port serves /metrics and /healthz)")
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return .text(405, "method \(request.method) not allowed on \(request.path) (use GET)", headers: [("Allow", "GET, HEAD")])
        }
        if request.path == "/metrics" {
            return HTTPResponse(status: 200, contentType: metricsContentType, body: metrics())
        }
        let report = health()
        var body = report.json.serializedBytes
        body.append(UInt8(ascii: "\n"))
        return HTTPResponse(status: report.httpStatus, contentType: "application/json", body: body,
                            headers: [("Cache-Control", "no-store")])
    }

    /// The response to a request the parser refused.
    public static func refusal(status: Int, reason: String) -> HTTPResponse {
        .text(status, reason)
    }
}
