/// JSON bodies of the v1 control messages, with the field names the facts page fixes.

/// HELLO: `{"client_name": "..."}`.
public struct HelloRequest: Codable, Hashable, Sendable {
    public var clientName: String?

    public init(clientName: String) {
        self.clientName = clientName
    }

    enum CodingKeys: String, CodingKey {
        case clientName = "client_name"
    }
}

/// WELCOME: `{"server": "switchyardd", "version": 1}`.
public struct WelcomeReply: Codable, Hashable, Sendable {
    public var server: String
    public var version: Int

    public init(server: String = "switchyardd", version: Int = Int(ProtocolLimits.version)) {
        self.server = server
        self.version = version
    }
}

/// ENDPOINT_CREATE: `{"name": "...", "mac": "02:53:59:00:00:07"}`, `mac` optional.
public struct EndpointCreateRequest: Codable, Hashable, Sendable {
    public var name: String
    public var mac: String?

    public init(name: String, mac: String? = nil) {
        self.name = name
        self.mac = mac
    }
}

/// ENDPOINT_CREATED and ENDPOINT_INFO: `{"endpoint_id": N, "name": "...", "mac": "..."}`.
public struct EndpointRecord: Codable, Hashable, Sendable {
    public var endpointID: UInt32
    public var name: String
    public var mac: String

    public init(endpointID: UInt32, name: String, mac: String) {
        self.endpointID = endpointID
        self.name = name
        self.mac = mac
    }

    enum CodingKeys: String, CodingKey {
        case endpointID = "endpoint_id"
        case name
        case mac
    }
}

/// ENDPOINT_LOOKUP: `{"name": "..."}`.
public struct EndpointLookupRequest: Codable, Hashable, Sendable {
    public var name: String

    public init(name: String) {
        self.name = name
    }
}

/// SUBSCRIBE: `{"endpoint_id": N, "promisc": false}`; both optional on the wire.
public struct SubscribeRequest: Codable, Hashable, Sendable {
    public var endpointID: UInt32?
    public var promisc: Bool?

    public init(endpointID: UInt32?, promisc: Bool) {
        self.endpointID = endpointID
        self.promisc = promisc
    }

    enum CodingKeys: String, CodingKey {
        case endpointID = "endpoint_id"
        case promisc
    }
}

/// SUBSCRIBED: `{}`.
public struct EmptyReply: Codable, Hashable, Sendable {
    public init() {}
}

/// ERROR: `{"error": "human readable text"}`.
public struct ErrorReply: Codable, Hashable, Sendable {
    public var error: String
    /// A stable code for programs (this fabric's addition to v1; absent from other fabrics).
    public var code: String?

    public init(error: String, code: String? = nil) {
        self.error = error
        self.code = code
    }
}

/// RULES_REQUEST (50): `{"op": "list"}`, `{"op": "add", "rule": "to svc_echo loss 20%"}`,
/// `{"op": "delete", "id": 3}` or `{"op": "clear"}`.
public struct RulesRequest: Codable, Hashable, Sendable {
    public var op: String
    public var rule: String?
    public var id: Int?

    public init(op: String, rule: String? = nil, id: Int? = nil) {
        self.op = op
        self.rule = rule
        self.id = id
    }

    /// The request for `operation`, as the wire carries it.
    public init(_ operation: RulesOperation) {
        switch operation {
        case .list: self.init(op: "list")
        case .add(let rule): self.init(op: "add", rule: rule)
        case .delete(let id): self.init(op: "delete", id: id)
        case .clear: self.init(op: "clear")
        }
    }

    /// What the request asks, or why it asks nothing a fabric does.
    public var operation: Result<RulesOperation, RulesOperation.Invalid> {
        switch self.op {
        case "list": return .success(.list)
        case "add":
            guard let rule = self.rule else { return .failure(.init(message: "add needs \"rule\"")) }
            return .success(.add(rule))
        case "delete":
            guard let id = self.id else { return .failure(.init(message: "delete needs \"id\"")) }
            return .success(.delete(id))
        case "clear": return .success(.clear)
        default: return .failure(.init(message: "unknown op \"\(self.op)\" (list, add, delete, clear)"))
        }
    }
}

/// RULES_REQUEST's operations, typed: what `op`, `rule` and `id` say together.
public enum RulesOperation: Hashable, Sendable {
    case list
    /// A rule in the rules language (docs/rules.md).
    case add(String)
    case delete(Int)
    case clear

    public struct Invalid: Error, Hashable, Sendable {
        public var message: String

        public init(message: String) {
            self.message = message
        }
    }
}

/// RULES (51): the rules in force after the request, in order, with their counters; `added`
/// is the new rule's id after an add.
public struct RulesReply: Codable, Hashable, Sendable {
    public struct Entry: Codable, Hashable, Sendable {
        public var id: Int
        public var rule: String
        public var matched: UInt64
        public var dropped: UInt64
        public var duplicated: UInt64
        public var delayed: UInt64
        public var corrupted: UInt64
        public var reordered: UInt64
        public var mirrored: UInt64
        public var redirected: UInt64

        public init(id: Int, rule: String, matched: UInt64, dropped: UInt64, duplicated: UInt64, delayed: UInt64, corrupted: UInt64, reordered: UInt64, mirrored: UInt64, redirected: UInt64) {
            self.id = id
            self.rule = rule
            self.matched = matched
            self.dropped = dropped
            self.duplicated = duplicated
            self.delayed = delayed
            self.corrupted = corrupted
            self.reordered = reordered
            self.mirrored = mirrored
            self.redirected = redirected
        }
    }

    public var seed: UInt64
    public var rules: [Entry]
    public var added: Int?

    public init(seed: UInt64, rules: [Entry], added: Int? = nil) {
        self.seed = seed
        self.rules = rules
        self.added = added
    }
}
