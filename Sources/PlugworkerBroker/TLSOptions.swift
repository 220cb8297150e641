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
}
