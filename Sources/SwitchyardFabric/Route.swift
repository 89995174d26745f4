/// Where one switched frame goes. Small and allocation-free, so that switching a frame costs
/// no heap traffic; `FabricCore.forEachDelivery(of:_:)` expands it into deliveries.
public enum Route: Hashable, Sendable {
    /// Broadcast, multicast or unknown unicast: every endpoint except the sender.
    case flood(from: EndpointID)
    /// Known unicast (to the sender itself when a frame is addressed to its own MAC: then
    /// only promiscuous subscribers of other endpoints see it).
    case unicast(from: EndpointID, to: EndpointID)
}
