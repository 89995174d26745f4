#if canImport(Glibc)
import Glibc
#endif

/// A stream socket for tests that speak a raw framing (QEMU's 4-byte length + frame) to a
/// Unix path, with a receive timeout. Its receives block, so they run on a thread of their
/// own (`onOwnThread`), never on the concurrency pool. One test uses one socket at a time.
public final class StreamSocket: @unchecked Sendable {
    private let descriptor: Int32

    public init(unixPath path: String) throws {
        self.descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(self.descriptor)
            throw TestFailure("cannot connect to \(path): \(String(cString: strerror(errno)))")
        }
        self.setTimeout(seconds: 5)
    }

    deinit {
        close(self.descriptor)
    }

    public func setTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(self.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(self.descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestFailure("send failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Exactly `count` bytes, or nil at the timeout or end of stream.
    public func receive(_ count: Int) async throws -> [UInt8]? {
        try await onOwnThread { self.blockingReceive(count) }
    }

    private func blockingReceive(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes.withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress! + offset, count - offset, 0) }
            guard got > 0 else { return nil }
            offset += got
        }
        return bytes
    }

    /// One frame in QEMU's stream framing.
    public func sendQEMUFrame(_ frame: [UInt8]) throws {
        let length = UInt32(frame.count)
        try self.send([UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + frame)
    }

    public func receiveQEMUFrame() async throws -> [UInt8]? {
        try await onOwnThread {
            guard let header = self.blockingReceive(4) else { return nil }
            let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            return self.blockingReceive(length)
        }
    }
}
