/// STATS (41): the fabric's counters, answering STATS_REQUEST (40, payload `{}`).
///
/// Field names are snake_case JSON, like the rest of v1; new fields may be added and readers
/// ignore fields they do not know.
public struct StatsReply: Codable, Hashable, Sendable {
    /// PACKET_OUT frames accepted and switched.
    public var framesSwitched: UInt64
    /// Of those, flooded (broadcast, multicast, unknown unicast).
    public var framesFlooded: UInt64
    /// PACKET_IN messages queued to subscribers.
    public var framesDelivered: UInt64
    /// PACKET_IN not delivered because their subscriber was stalled.
    public var framesDropped: UInt64
    /// PACKET_OUT refused with ERROR.
    public var framesRejected: UInt64
    public var endpoints: Int
    /// Bytes all connections hold now (queued output, half-received messages), and the budget.
    public var bufferedBytes: Int?
    public var bufferBudget: Int?
    public var connections: [Connection]
    /// Present when the fabric records (`switchyardd --capture`).
    public var capture: Capture?
    /// The seed of the rules' draws, and the rules with their counters (this fabric's addition).
    public var seed: UInt64?
    public var rules: [RulesReply.Entry]?
    /// Frames the rules dropped (drop, loss, rate limit, an absent redirect target).
    public var framesDroppedByRules: UInt64?
    /// Frames QEMU ports did not switch: length 0 or over the limit, halves at disconnect.
    public var qemuFramesRefused: UInt64?
    /// Frames from TAP devices the fabric carries that were longer than it switches, and
    /// frames such a device refused (it was down, or the frame was over its MTU).
    public var tapFramesRefused: UInt64?
    public var tapWritesRefused: UInt64?
    /// Offloaded frames from TAP devices (large TCP segments, checksums to fill in) that could
    /// not be made into what a wire carries for an endpoint that takes no offloads: dropped.
    public var offloadsUnresolved: UInt64?
    /// VXLAN datagrams not switched (unknown sender, another VNI, I flag clear, too short), and
    /// frames not sent because their encapsulation passed `--vxlan-mtu`.
    public var vxlanDatagramsRefused: UInt64?
    public var vxlanFramesTooBig: UInt64?
    /// Frames from a remote or a v1 client whose source MAC is one the fabric gave to another
    /// endpoint (two fabrics allocating from one range): not learned, still switched.
    public var macConflicts: UInt64?

    public init(
        framesSwitched: UInt64,
        framesFlooded: UInt64,
        framesDelivered: UInt64,
        framesDropped: UInt64,
        framesRejected: UInt64,
        endpoints: Int,
        connections: [Connection],
        capture: Capture?
    ) {
        self.framesSwitched = framesSwitched
        self.framesFlooded = framesFlooded
        self.framesDelivered = framesDelivered
        self.framesDropped = framesDropped
        self.framesRejected = framesRejected
        self.endpoints = endpoints
        self.bufferedBytes = nil
        self.bufferBudget = nil
        self.connections = connections
        self.capture = capture
    }

    public struct Connection: Codable, Hashable, Sendable {
        public var id: UInt64
        /// Frames dropped for this connection because it stopped reading.
        public var dropped: UInt64
        /// True while frames to it are being dropped.
        public var stalled: Bool
        /// Of `dropped`, the frames its transport cannot carry (a VM's UDP port, say); absent
        /// when none were.
        public var tooBig: UInt64?

        public init(id: UInt64, dropped: UInt64, stalled: Bool, tooBig: UInt64? = nil) {
            self.id = id
            self.dropped = dropped
            self.stalled = stalled
            self.tooBig = tooBig
        }

        enum CodingKeys: String, CodingKey {
            case id, dropped, stalled
            case tooBig = "too_big"
        }
    }

    public struct Capture: Codable, Hashable, Sendable {
        public var framesWritten: UInt64
        public var framesDropped: UInt64
        public var framesFiltered: UInt64
        public var framesNotWritten: UInt64
        public var bytesWritten: Int64
        public var files: Int
        public var currentFile: String?
        public var writeError: String?

        public init(
            framesWritten: UInt64,
            framesDropped: UInt64,
            framesFiltered: UInt64,
            framesNotWritten: UInt64,
            bytesWritten: Int64,
            files: Int,
            currentFile: String?,
            writeError: String?
        ) {
            self.framesWritten = framesWritten
            self.framesDropped = framesDropped
            self.framesFiltered = framesFiltered
            self.framesNotWritten = framesNotWritten
            self.bytesWritten = bytesWritten
            self.files = files
            self.currentFile = currentFile
            self.writeError = writeError
        }

        /// Every key, `null` included (the documented shape: `write_error` is null while
        /// there is none).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.framesWritten, forKey: .framesWritten)
            try container.encode(self.framesDropped, forKey: .framesDropped)
            try container.encode(self.framesFiltered, forKey: .framesFiltered)
            try container.encode(self.framesNotWritten, forKey: .framesNotWritten)
            try container.encode(self.bytesWritten, forKey: .bytesWritten)
            try container.encode(self.files, forKey: .files)
            try container.encode(self.currentFile, forKey: .currentFile)
            try container.encode(self.writeError, forKey: .writeError)
        }

        enum CodingKeys: String, CodingKey {
            case framesWritten = "frames_written"
            case framesDropped = "frames_dropped"
            case framesFiltered = "frames_filtered"
            case framesNotWritten = "frames_not_written"
            case bytesWritten = "bytes_written"
            case files
            case currentFile = "current_file"
            case writeError = "write_error"
        }
    }

    enum CodingKeys: String, CodingKey {
        case framesSwitched = "frames_switched"
        case framesFlooded = "frames_flooded"
        case framesDelivered = "frames_delivered"
        case framesDropped = "frames_dropped"
        case framesRejected = "frames_rejected"
        case endpoints
        case bufferedBytes = "buffered_bytes"
        case bufferBudget = "buffer_budget"
        case connections
        case capture
        case seed
        case rules
        case framesDroppedByRules = "frames_dropped_by_rules"
        case qemuFramesRefused = "qemu_frames_refused"
        case tapFramesRefused = "tap_frames_refused"
        case tapWritesRefused = "tap_writes_refused"
        case offloadsUnresolved = "offloads_unresolved"
        case vxlanDatagramsRefused = "vxlan_datagrams_refused"
        case vxlanFramesTooBig = "vxlan_frames_too_big"
        case macConflicts = "mac_conflicts"
    }
}
