import Logging
import NIOCore
import SwitchyardCapture
import SwitchyardFabric
import SwitchyardRules

/// What a fabric needs to know before it starts.
public struct ServerConfiguration: Sendable {
    /// Address to listen on; `port` 0 picks a free port.
    public var host: String
    public var port: Int
    /// Listen on this Unix-domain socket instead of TCP; file permissions decide who may join.
    public var unixSocketPath: String?
    /// Permission bits for the socket file (e.g. 0o660).
    public var unixSocketMode: UInt32?
    /// Where `switchyard-tap` hands TAP descriptors to the fabric (`TapHandoff`); switchyardd
    /// sets it to the `--unix` path with `.tap` after it. Nil: no handoff.
    public var tapHandoffPath: String?
    /// Bytes queued for one connection before PACKET_IN to it are dropped (and counted).
    /// Control replies are never dropped: past this, the fabric stops reading that connection.
    public var outboundQueueLimit: Int
    /// How long a subscriber may hold its senders back (its queue over the cap) before it is
    /// declared stalled and frames to it are dropped instead.
    public var stallTimeout: Duration
    /// Connections served at once; more are answered with ERROR and closed.
    public var maximumConnections = Self.defaultMaximumConnections
    /// Endpoints one connection may own.
    public var maximumEndpointsPerConnection = FabricCore.defaultMaximumEndpointsPerConnection
    /// Bytes all connections together may hold in queues and half-received messages. Past
    /// it, connections that are behind get no more frames (dropped, counted) and half-received
    /// large messages are not read further until there is room again.
    public var bufferBudget = Self.defaultBufferBudget

    /// QEMU NICs' ports (`switchyardd --qemu`): each VM connected there is an endpoint.
    public var qemuPorts: [QEMUPortSpecification] = []
    /// Where allocated MACs start (02:53:59 then this 24-bit counter; 1 per v1).
    public var firstAllocatedMAC: UInt64 = 1
    /// VXLAN uplinks (`switchyardd --vxlan`): each remote is an endpoint.
    public var vxlan: VXLANConfiguration?

    /// The seed every rule's random draws are keyed by (`switchyardd --seed`).
    public var seed: UInt64 = 0
    /// The rules in force at start, checked by whoever configured the fabric (`RuleSet.add`
    /// compiles their BPF); more can be added at run time.
    public var rules: [Rule] = []

    public static let defaultMaximumConnections = 4096
    public static let defaultBufferBudget = 256 * 1024 * 1024

    /// The capture stage every switched frame passes, if recording. It is started once the
    /// listening socket is bound (a fabric that cannot start never touches an existing
    /// recording) and before any client is accepted, and finished on every path out of `run`.
    public var capture: CaptureConfiguration?
    /// Called once the capture has finished (drained, flushed, closed), with its counters.
    public var onCaptureFinished: @Sendable (CaptureStatistics) -> Void = { _ in }
    /// Called once the fabric is ready (bound, capture open), with the address it got.
    public var onListening: @Sendable (SocketAddress) -> Void

    /// Default per-connection queue cap: 1 MiB on top of the kernel's socket buffer (up to
    /// 4 MiB more), enough for a burst of 1000 full-size frames to a reader that is keeping up,
    /// and small enough that hundreds of stalled readers stay within the buffer budget.
    public static let defaultOutboundQueueLimit = 1024 * 1024

    /// Default stall timeout: long enough for a reading client descheduled on a busy machine,
    /// short enough that a stuck one barely delays its senders.
    public static let defaultStallTimeout = Duration.milliseconds(Self.defaultStallTimeoutMilliseconds)
    public static let defaultStallTimeoutMilliseconds = 200

    public init(
        host: String = "127.0.0.1",
        port: Int = 9999,
        outboundQueueLimit: Int = Self.defaultOutboundQueueLimit,
        stallTimeout: Duration = Self.defaultStallTimeout,
        capture: CaptureConfiguration? = nil,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.unixSocketPath = nil
        self.unixSocketMode = nil
        self.outboundQueueLimit = outboundQueueLimit
        self.stallTimeout = stallTimeout
        self.capture = capture
        self.onListening = onListening
    }
}
