/// How an `amqps://` connection sets up TLS.
///
/// The broker's certificate is always checked against `caFile` (peer
/// verification) and the URL's host name (host name verification) unless
/// either check is switched off here, which only makes sense for testing.
public struct TLSOptions: Sendable, Equatable {
    /// PEM file of the certificate authorities to trust. Nil means the
    /// system's bundle (the first of `TLSOptions.systemCAFiles` that exists).
    public var caFile: String?
    /// PEM client certificate, for brokers that require one (`ssl_options.fail_if_no_peer_cert`).
    public var certificateFile: String?
    /// PEM private key of `certificateFile`.
    public var keyFile: String?
    /// Check the broker's certificate chain against `caFile`.
    public var verifyPeer: Bool
    /// Check that the broker's certificate names the URL's host.
    public var verifyHostname: Bool

    /// Where Debian/Ubuntu, RHEL/Fedora and Alpine/SUSE keep the system CA bundle.
    public static let systemCAFiles = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ]

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
                verifyPeer: Bool = true, verifyHostname: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.verifyPeer = verifyPeer
        self.verifyHostname = verifyHostname
    }

    /// Reads the TLS settings a broker URL's query may carry, with the names
    /// Celery and kombu use for `broker_use_ssl` (as in
    /// `amqps://host:5671//?ssl_ca_certs=/etc/ca.pem`):
    ///
    /// | key | meaning |
    /// |---|---|
    /// | `ssl_ca_certs` | `caFile` |
    /// | `ssl_certfile` | `certificateFile` |
    /// | `ssl_keyfile` | `keyFile` |
    /// | `ssl_cert_reqs` | `CERT_REQUIRED` (default) / `required`: verify; `CERT_NONE` / `none`: `verifyPeer` off |
    /// | `ssl_check_hostname` | `true` (default) / `false`: `verifyHostname` |
    ///
    /// Other keys are ignored (they belong to other settings).
    /// - Throws: a message naming the key, for a value that means nothing.
    public static func fromQuery(_ query: [(key: String, value: String)]) throws(BrokerError) -> TLSOptions {
        var o = TLSOptions()
        for (key, value) in query {
            switch key {
            case "ssl_ca_certs": o.caFile = value
            case "ssl_certfile": o.certificateFile = value
            case "ssl_keyfile": o.keyFile = value
            case "ssl_cert_reqs":
                switch value.lowercased() {
                case "cert_required", "required": o.verifyPeer = true
                case "cert_none", "none": o.verifyPeer = false
                case "cert_optional", "optional":
                    throw BrokerError(.invalidURL, "ssl_cert_reqs=\(value) is not supported",
                                      detail: "the broker's certificate is either verified or not",
                                      hint: "use ssl_cert_reqs=CERT_REQUIRED (the default) or CERT_NONE")
                default:
                    throw BrokerError(.invalidURL, "unknown ssl_cert_reqs=\(value)",
                                      detail: "expected CERT_REQUIRED or CERT_NONE", hint: "use ssl_cert_reqs=CERT_REQUIRED")
                }
            case "ssl_check_hostname":
                switch value.lowercased() {
                case "true", "1", "yes", "on": o.verifyHostname = true
                case "false", "0", "no", "off": o.verifyHostname = false
                default:
                    throw BrokerError(.invalidURL, "unknown ssl_check_hostname=\(value)",
                                      detail: "expected true or false", hint: "use ssl_check_hostname=false to skip the host name check")
                }
            default: break
            }
        }
        return o
    }
}
