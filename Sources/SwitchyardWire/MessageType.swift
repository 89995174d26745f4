/// A protocol v1 message type number.
///
/// A struct rather than an enum because the wire may carry numbers this build does not know;
/// the fabric must answer those with ERROR, not fail to represent them.
public struct MessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let hello = MessageType(rawValue: 1)
    public static let welcome = MessageType(rawValue: 2)
    public static let endpointCreate = MessageType(rawValue: 10)
    public static let endpointCreated = MessageType(rawValue: 11)
    public static let endpointLookup = MessageType(rawValue: 12)
    public static let endpointInfo = MessageType(rawValue: 13)
    public static let subscribe = MessageType(rawValue: 20)
    public static let subscribed = MessageType(rawValue: 21)
    public static let packetOut = MessageType(rawValue: 30)
    public static let packetIn = MessageType(rawValue: 31)
    public static let error = MessageType(rawValue: 100)

    // Extensions (docs/protocol.md, "Extensions"): sent only to clients that ask.

    /// Asks for the fabric's counters (STATS_REQUEST).
    public static let statsRequest = MessageType(rawValue: 40)
    /// The fabric's counters as JSON (STATS), the answer to STATS_REQUEST.
    public static let stats = MessageType(rawValue: 41)
    /// Lists, adds, deletes or clears rules (RULES_REQUEST).
    public static let rulesRequest = MessageType(rawValue: 50)
    /// The rules in force after the request, with their counters (RULES).
    public static let rules = MessageType(rawValue: 51)

    /// The name used in protocol-v1-facts.md, or the number for types this build does not know.
    public var description: String {
        switch self {
        case .hello: "HELLO"
        case .welcome: "WELCOME"
        case .endpointCreate: "ENDPOINT_CREATE"
        case .endpointCreated: "ENDPOINT_CREATED"
        case .endpointLookup: "ENDPOINT_LOOKUP"
        case .endpointInfo: "ENDPOINT_INFO"
        case .subscribe: "SUBSCRIBE"
        case .subscribed: "SUBSCRIBED"
        case .packetOut: "PACKET_OUT"
        case .packetIn: "PACKET_IN"
        case .error: "ERROR"
        case .statsRequest: "STATS_REQUEST"
        case .stats: "STATS"
        case .rulesRequest: "RULES_REQUEST"
        case .rules: "RULES"
        default: "type \(self.rawValue)"
        }
    }

    /// Types a fabric sends; a client sending one of these gets ERROR.
    public var isFabricToClient: Bool {
        switch self {
        case .welcome, .endpointCreated, .endpointInfo, .subscribed, .packetIn, .error, .stats, .rules: true
        default: false
        }
    }
}
