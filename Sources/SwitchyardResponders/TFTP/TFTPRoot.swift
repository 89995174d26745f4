#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The directory a TFTP server serves, read-only. A name is a path below it: an absolute
/// path, a `..` component, or a symbolic link that leads out of the root is an access
/// violation, whatever the file system holds there (tftpd-hpa's `--secure` habit).
public struct TFTPRoot: Sendable {
    /// The root, resolved (no symbolic links), without a trailing slash.
    public let path: String

    /// Why a name is not served: the TFTP error code to answer with (RFC 1350) and its text.
    public struct Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        /// TFTP's error code: 1 file not found, 2 access violation.
        public let code: UInt16
        public let message: String

        public static func notFound(_ message: String) -> Refusal { Refusal(code: 1, message: message) }
        public static func accessViolation(_ message: String) -> Refusal { Refusal(code: 2, message: message) }

        public var description: String { self.message }
    }

    /// nil when `directory` is not a readable directory.
    public init?(_ directory: String) {
        guard let resolved = realpath(directory, nil) else { return nil }
        defer { free(resolved) }
        var status = stat()
        let path = String(cString: resolved)
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR, access(path, R_OK | X_OK) == 0 else { return nil }
        self.path = path == "/" ? "" : path
    }

    /// Opens `name` for reading.
    public func open(_ name: String) -> Result<TFTPFile, Refusal> {
        guard !name.isEmpty else { return .failure(.notFound("no file name")) }
        guard !name.hasPrefix("/") else { return .failure(.accessViolation("absolute paths are refused: names are below the root")) }
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.contains(where: { $0 == ".." }), !name.utf8.contains(0), name.utf8.count <= 1024 else {
            return .failure(.accessViolation("\"..\" is refused: names are below the root"))
        }
        let candidate = self.path + "/" + name
        guard let resolved = realpath(candidate, nil) else {
            return .failure(errno == EACCES ? .accessViolation("permission denied") : .notFound("file not found"))
        }
        defer { free(resolved) }
        let target = String(cString: resolved)
        guard target.hasPrefix(self.path + "/") else {
            return .failure(.accessViolation("the name leads out of the root"))
        }
        let descriptor = Glibc.open(target, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return .failure(errno == EACCES ? .accessViolation("permission denied") : .notFound("file not found"))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            return .failure(.notFound("not a regular file"))
        }
        return .success(TFTPFile(descriptor: descriptor, size: Int(status.st_size)))
    }
}

/// An open file being served: blocks are read when they are sent (a 100 MB image is never
/// held in memory), or from bytes already converted (netascii).
public final class TFTPFile: @unchecked Sendable {
    private let descriptor: Int32
    private var converted: [UInt8]?
    public private(set) var size: Int

    init(descriptor: Int32, size: Int) {
        self.descriptor = descriptor
        self.size = size
    }

    /// A file whose bytes are given (tests, and netascii after conversion).
    public init(bytes: [UInt8]) {
        self.descriptor = -1
        self.converted = bytes
        self.size = bytes.count
    }

    deinit {
        if self.descriptor >= 0 {
            close(self.descriptor)
        }
    }

    /// Converts the file to netascii (RFC 764: CR LF for a newline, CR NUL for a lone CR),
    /// as a reader of that mode expects; the size is then the converted size.
    func convertToNetascii() {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.size + self.size / 16)
        for byte in self.read(offset: 0, count: self.size) {
            switch byte {
            case 0x0A: bytes += [0x0D, 0x0A]
            case 0x0D: bytes += [0x0D, 0x00]
            default: bytes.append(byte)
            }
        }
        self.converted = bytes
        self.size = bytes.count
    }

    /// `count` bytes from `offset` (fewer at the end).
    func read(offset: Int, count: Int) -> [UInt8] {
        let length = max(0, min(count, self.size - offset))
        if let converted = self.converted {
            return Array(converted[offset..<(offset + length)])
        }
        var bytes = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let got = bytes.withUnsafeMutableBytes { pread(self.descriptor, $0.baseAddress! + done, length - done, off_t(offset + done)) }
            guard got > 0 else { break }
            done += got
        }
        return Array(bytes.prefix(done))
    }
}
