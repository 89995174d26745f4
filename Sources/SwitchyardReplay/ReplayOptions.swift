import SwitchyardPackets

/// How to replay: `switchyard-replay`'s flags.
public struct ReplayOptions: Sendable {
    public enum Timing: String, Sendable, CaseIterable {
        /// After each played frame, wait (up to the timeout) for the frames that followed it.
        case gated
        /// Keep the recorded gaps (scaled by `speed`), scheduled against an absolute start.
        case recorded
    }

    public var host = "127.0.0.1"
    public var port = 9999
    /// A Unix-domain socket instead of host and port.
    public var unixPath: String?
    public var play: [String] = []
    public var expect: [String] = []
    public var maps: [(MACAddress, MACAddress)] = []
    public var timing = Timing.gated
    public var speed = 1.0
    public var topSpeed = false
    /// Per step when gated; after the last send otherwise.
    public var timeout: Duration = .seconds(5)
    public var ignore: Set<String> = []
    /// A BPF expression: only expected frames it accepts are compared.
    public var expectFilter: String?
    /// Which of several replays of one recording against the same servers this is (0: the
    /// first): TCP connections shift their sequence numbers by it (`TCPReplay.shift`).
    public var run = 0
    /// Fields masked per kind of flow, from the noise file.
    public var noise: NoiseModel?

    public init() {}
}
