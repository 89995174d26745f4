/// What the capture stage has done so far.
public struct CaptureStatistics: Hashable, Sendable {
    /// Frames written to files.
    public var framesCaptured: UInt64 = 0
    /// Frames the filter did not accept.
    public var framesFiltered: UInt64 = 0
    /// Frames that found the ring full (`--capture-overflow drop` only).
    public var framesDroppedByBuffer: UInt64 = 0
    /// Frames lost to a write error (disk full and the like).
    public var framesNotWritten: UInt64 = 0
    /// Bytes in the files written so far.
    public var bytesWritten: Int64 = 0
    /// Files created so far (deleted ring files included).
    public var files = 0
    public var currentFile: String?
    /// The first write error, if any; writing stopped then.
    public var writeError: String?

    public init() {}

    /// tcpdump-like summary: "N frames captured, M dropped by capture buffer, K files".
    public var summary: String {
        var text = "\(self.framesCaptured) frames captured, \(self.framesDroppedByBuffer) dropped by capture buffer, \(self.files) file\(self.files == 1 ? "" : "s")"
        if self.framesFiltered > 0 {
            text += ", \(self.framesFiltered) filtered out"
        }
        if let writeError = self.writeError {
            text += "; \(self.framesNotWritten) not written: \(writeError)"
        }
        return text
    }
}
