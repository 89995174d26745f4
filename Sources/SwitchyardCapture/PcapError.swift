/// A libpcap operation that failed, with libpcap's own message where it gave one.
public struct PcapError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// A capture file could not be created or opened for writing.
        case cannotCreateFile
        /// Writing or flushing a capture file failed (disk full, file too large, I/O error).
        case writeFailed
        /// A capture file could not be opened for reading, or is not a capture file.
        case cannotOpenFile
        /// A capture file is damaged (truncated record, bad header).
        case badFile
        /// The capture file's link type is not Ethernet.
        case unsupportedLinkType
        /// A BPF filter expression did not compile.
        case invalidFilter
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
}
