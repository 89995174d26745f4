/// Why a client operation failed; `description` is one line for a person.
public struct FabricClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// The fabric answered with ERROR; `message` is its text.
        case fabricError
        /// No TCP connection could be made.
        case cannotConnect
        /// The fabric closed the connection.
        case connectionClosed
        /// The fabric answered with something v1 does not allow there.
        case protocolViolation
        /// The request was refused locally before sending (e.g. a frame under 14 bytes).
        case invalidRequest
        /// A deadline passed.
        case timeout
    }

    public var code: Code
    public var message: String
    /// With `.fabricError`: the ERROR's stable code (`"mac_in_use"`, ...) when the fabric
    /// sends one (switchyardd does; other v1 fabrics may not).
    public var fabricCode: String?

    public init(_ code: Code, _ message: String, fabricCode: String? = nil) {
        self.code = code
        self.message = message
        self.fabricCode = fabricCode
    }

    public var description: String {
        switch self.code {
        case .fabricError: "fabric error: \(self.message)"
        default: self.message
        }
    }
}
