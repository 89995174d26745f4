import SwitchyardFabric
import SwitchyardPackets

/// Where the switching pipeline puts a read's deliveries: each destination connection's
/// pending batch. The fabric's is the `ConnectionRegistry`; tests give the pipeline one that
/// only records, so that switching is tested without a channel.
protocol FrameDestinations: AnyObject {
    /// Queues `frame` for `delivery`; false when it was dropped (the destination is behind or
    /// gone). Phase 1: no I/O. `sender` is held when the destination is over its cap.
    /// `offload` describes a frame an offloading kernel handed over (`VirtioNetHeader`), nil
    /// for a plain one.
    func deliver(_ frame: UnsafeRawBufferPointer, to delivery: Delivery, from sender: ConnectionID?, offload: VirtioNetHeader?) -> Bool
}
