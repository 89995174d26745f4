import SwitchyardPackets

/// An endpoint's id: counts up from 1 on a fresh fabric and is never reused.
public typealias EndpointID = UInt32

/// A client connection, as the server numbers them. The core only compares them.
public struct ConnectionID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public var description: String { "conn \(self.rawValue)" }

    public static func < (lhs: ConnectionID, rhs: ConnectionID) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.rawValue)
    }

    /// One multiplication instead of SipHash (see `fastIntegerHash`).
    public func _rawHashValue(seed: Int) -> Int {
        fastIntegerHash(self.rawValue, seed: seed)
    }
}
