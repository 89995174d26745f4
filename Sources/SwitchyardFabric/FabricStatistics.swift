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
    /// Frames whose source MAC is another endpoint's own (two fabrics joined by VXLAN that
    /// allocate from one range, a client that forges): switched, never learned.
    public var macConflicts: UInt64 = 0

    public init() {}
}
