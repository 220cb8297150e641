import Testing
@testable import PlugworkerBroker

@Suite("TLS options from a broker URL's query (kombu's ssl_* names)")
struct TLSOptionsTests {
    @Test("defaults: verify the peer and the host name, system CA bundle")
    func defaults() throws {
        let o = try TLSOptions.fromQuery(BrokerURL(parsing: "amqps://h//?heartbeat=10").query)
        #expect(o == TLSOptions())
        #expect(o.verifyPeer && o.verifyHostname && o.caFile == nil)
    }

    @Test("reads ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_cert_reqs, ssl_check_hostname")
    func reads() throws {
        let url = try BrokerURL(parsing: "amqps://u:p@h:5671//?ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem"
            + "&ssl_keyfile=/k.pem&ssl_cert_reqs=CERT_NONE&ssl_check_hostname=false")
        let o = try TLSOptions.fromQuery(url.query)
        #expect(o.caFile == "/ca.pem" && o.certificateFile == "/c.pem" && o.keyFile == "/k.pem")
        #expect(!o.verifyPeer && !o.verifyHostname)
        #expect(try TLSOptions.fromQuery([("ssl_cert_reqs", "required")]).verifyPeer)
    }

    @Test("refuses values that mean nothing, and CERT_OPTIONAL", arguments: [
        ("ssl_cert_reqs", "CERT_OPTIONAL"), ("ssl_cert_reqs", "maybe"), ("ssl_check_hostname", "perhaps"),
    ])
    func refuses(key: String, value: String) {
        #expect(throws: BrokerError.self) { try TLSOptions.fromQuery([(key, value)]) }
    }
}
