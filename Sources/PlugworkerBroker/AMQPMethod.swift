import CRabbitMQ

/// AMQP 0-9-1 method ids (`class << 16 | method`), as rabbitmq-c puts them in
/// `amqp_method_t.id`. rabbitmq-c defines these as cast macros, which Swift
/// does not import reliably, so they are spelled out here.
enum AMQPMethod {
    static let connectionClose: amqp_method_number_t = 0x000A_0032
    static let connectionCloseOk: amqp_method_number_t = 0x000A_0033
    static let connectionBlocked: amqp_method_number_t = 0x000A_003C
    static let connectionUnblocked: amqp_method_number_t = 0x000A_003D
    static let channelFlow: amqp_method_number_t = 0x0014_0014
    static let channelFlowOk: amqp_method_number_t = 0x0014_0015
    static let channelClose: amqp_method_number_t = 0x0014_0028
    static let channelCloseOk: amqp_method_number_t = 0x0014_0029
    static let basicCancel: amqp_method_number_t = 0x003C_001E
    static let basicCancelOk: amqp_method_number_t = 0x003C_001F
    static let basicReturn: amqp_method_number_t = 0x003C_0032
    static let basicDeliver: amqp_method_number_t = 0x003C_003C
    static let basicAck: amqp_method_number_t = 0x003C_0050
    static let basicNack: amqp_method_number_t = 0x003C_0078

    /// `queue.declare`-style name for logs: `"queue.declare"` from 50/10.
    static func name(classID: UInt16, methodID: UInt16) -> String {
        let classes: [UInt16: String] = [10: "connection", 20: "channel", 40: "exchange", 50: "queue", 60: "basic", 85: "confirm", 90: "tx"]
        let methods: [UInt32: String] = [
            0x0028_000A: "declare", 0x0028_0014: "delete", 0x0028_001E: "bind", 0x0028_0028: "unbind",
            0x0032_000A: "declare", 0x0032_0014: "bind", 0x0032_001E: "purge", 0x0032_0028: "delete", 0x0032_0032: "unbind",
            0x003C_000A: "qos", 0x003C_0014: "consume", 0x003C_001E: "cancel", 0x003C_0028: "publish",
            0x003C_0046: "get", 0x003C_0050: "ack", 0x003C_005A: "reject", 0x003C_0078: "nack",
            0x0055_000A: "select", 0x0014_000A: "open", 0x0014_0014: "flow",
        ]
        let c = classes[classID] ?? "class\(classID)"
        let m = methods[UInt32(classID) << 16 | UInt32(methodID)] ?? "method\(methodID)"
        return "\(c).\(m)"
    }
}
