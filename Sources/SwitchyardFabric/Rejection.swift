import SwitchyardWire

/// Why the core refused a message: a stable code for programs (it travels in ERROR's JSON as
/// `"code"`, an addition old clients ignore) and a sentence for people (`"error"`).
public struct Rejection: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CaseIterable {
        case unsupportedVersion = "unsupported_version"
        case unexpectedType = "unexpected_type"
        case helloRequired = "hello_required"
        case duplicateHello = "duplicate_hello"
        case badPayload = "bad_payload"
        case emptyName = "empty_name"
        /// ENDPOINT_CREATE: a name over `FabricCore.maximumNameLength` bytes.
        case nameTooLong = "name_too_long"
        case nameInUse = "name_in_use"
        case endpointLimit = "endpoint_limit"
        case invalidMAC = "invalid_mac"
        case groupMAC = "group_mac"
        case macInUse = "mac_in_use"
        case macSpaceExhausted = "mac_space_exhausted"
        case unknownEndpoint = "unknown_endpoint"
        case endpointIDMismatch = "endpoint_id_mismatch"
        case notOwner = "not_owner"
        case frameTooShort = "frame_too_short"
        case frameTooLong = "frame_too_long"
        /// RULES_REQUEST: a rule that does not parse or compile, an unknown op.
        case badRule = "bad_rule"
        /// RULES_REQUEST: delete of an id that is not in force.
        case unknownRule = "unknown_rule"
    }

    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// The ERROR message that carries it.
    public var message: Message {
        Message(.error, json: ErrorReply(error: self.description, code: self.code.rawValue))
    }
}
