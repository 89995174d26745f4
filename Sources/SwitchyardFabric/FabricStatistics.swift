/// Counters of what the core has switched since it started.
public struct FabricStatistics: Hashable, Sendable {
    /// PACKET_OUT frames accepted and switched.
    public var framesSwitched: UInt64 = 0
    /// Of those, frames flooded (broadcast, multicast, unknown unicast).
    public var framesFlooded: UInt64 = 0
    /// PACKET_OUT messages refused with ERROR.
    public var framesRejected: UInt64 = 0
    /// Source MACs not learned because the table was full.
    public var learningTableFull: UInt64 = 0

    public init() {}
}
