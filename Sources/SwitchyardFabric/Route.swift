/// Where one switched frame went: the outcome of `FabricCore.handle` for a PACKET_OUT, whose
/// deliveries were passed to its `deliver` closure. Small and allocation-free.
public enum Route: Hashable, Sendable {
    /// Broadcast, multicast or unknown unicast: every endpoint except the sender.
    case flood(from: EndpointID)
    /// Known unicast (to the sender itself when a frame is addressed to its own MAC: then
    /// only promiscuous subscribers of other endpoints see it).
    case unicast(from: EndpointID, to: EndpointID)
}
