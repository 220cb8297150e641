import PlugworkerBroker
import PlugworkerCore

/// The reply to a control call (spec §5.3), ready to publish: to
/// `reply_to.exchange` with `reply_to.routing_key`, transient, JSON, headers
/// `{"ticket": <request ticket>, "clock": <clock>}`, body
/// `{"<node name>": <payload>}`.
public struct PidboxReply: Sendable {
    /// `reply_to.exchange` of the request (normally `reply.celery.pidbox`).
    public var exchange: String
    /// `reply_to.routing_key` of the request (the client's oid).
    public var routingKey: String
    public var properties: MessageProperties
    /// The replying node's name: the body's only key.
    public var node: String
    /// What the command answered (`null` for `heartbeat`).
    public var payload: JSON

    /// The body bytes: `{"<node>": <payload>}` as `json.dumps` writes it.
    public var body: [UInt8] { JSON.object(JSONObject([JSONObject.Member(node, payload)])).serializedBytes }

    /// A reply to `replyTo`, echoing `ticket`.
    /// - Parameter clock: the node's Lamport clock, already advanced for
    ///   this send (§0.3).
    public init(replyTo: PidboxRequest.ReplyAddress, ticket: String?, node: String, payload: JSON, clock: Int) {
        exchange = replyTo.exchange
        routingKey = replyTo.routingKey
        self.node = node
        self.payload = payload
        var headers = JSONObject()
        headers["ticket"] = ticket.map(JSON.string) ?? .null
        headers["clock"] = .int(Int64(clock))
        properties = MessageProperties(contentType: "application/json", contentEncoding: "utf-8", headers: headers,
                                       deliveryMode: 1, priority: 0)
    }

    /// The reply to `request`; nil for a cast (no `reply_to`), which is
    /// never answered.
    public init?(request: PidboxRequest, node: String, payload: JSON, clock: Int) {
        guard let replyTo = request.replyTo else { return nil }
        self.init(replyTo: replyTo, ticket: request.ticket, node: node, payload: payload, clock: clock)
    }
}
