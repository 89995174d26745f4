import SwitchyardBase
import CTap
import SwitchyardPackets

#if canImport(Glibc)
import Glibc
#endif

/// Handing a TAP device's descriptor to the fabric: `switchyard-tap` keeps the privileged part
/// (making the device, placing and addressing it) and sends the descriptor to `switchyardd`
/// over a Unix socket (SOCK_SEQPACKET, `SCM_RIGHTS`), with the endpoint's name and MAC; the
/// fabric reads and writes the device itself from then on.
///
/// The exchange, one message each way, in text:
/// - `ATTACH <mac> <features> <name>` with the descriptor; features `virtio` (every frame has
///   a virtio-net header, TCP offloads on) or `-`;
/// - `OK <endpoint id> <name>`, or `ERROR <reason>` (the fabric then closes the socket).
///
/// The socket stays open while the device is attached: either side closing it detaches it. To
/// detach, `switchyard-tap` shuts its side down and waits for the fabric to close the socket,
/// which it does once it has closed its copy of the descriptor, so that the device is gone
/// when `switchyard-tap` closes its own.
public enum TapHandoff {
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String

        public init(_ description: String) {
            self.description = description
        }
    }

    /// Where a fabric listening on `unixPath` takes TAP descriptors.
    public static func socketPath(forFabricAt unixPath: String) -> String {
        unixPath + ".tap"
    }

    /// Largest message either side sends.
    public static let maximumMessageLength = 512

    /// The ATTACH message for endpoint `name` with `mac`, for a device with or without
    /// virtio-net headers.
    public static func attachMessage(name: String, mac: MACAddress, virtio: Bool) -> String {
        "ATTACH \(mac) \(virtio ? "virtio" : "-") \(name)"
    }

    /// What an ATTACH message asks for; nil when it is not one.
    public static func parseAttach(_ text: String) -> (mac: MACAddress, virtio: Bool, name: String)? {
        let parts = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "ATTACH", let mac = MACAddress(String(parts[1])),
              parts[2] == "virtio" || parts[2] == "-",
              !parts[3].isEmpty, parts[3].utf8.count <= 255, !parts[3].contains(where: { $0.isNewline })
        else { return nil }
        return (mac, parts[2] == "virtio", String(parts[3]))
    }

    /// Connects to the fabric's TAP socket at `path`; the descriptor, or why not.
    public static func connect(to path: String) -> Result<Int32, Failure> {
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { return .failure(Failure("cannot make a socket: \(String(cString: strerror(errno)))")) }
        guard let result = UnixSocketAddress.with(path: path, { Glibc.connect(socket, $0, $1) }) else {
            close(socket)
            return .failure(Failure("\(path): the path is too long for a Unix socket"))
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            return .failure(Failure("cannot connect to \(path): \(reason)"))
        }
        return .success(socket)
    }

    /// Sends `text` and `descriptor` as one message.
    public static func send(_ text: String, descriptor: Int32, on socket: Int32) -> Failure? {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { switchyard_send_with_descriptor(socket, $0.baseAddress, $0.count, descriptor) }
        return sent == bytes.count ? nil : Failure("cannot send the device: \(String(cString: strerror(errno)))")
    }

    /// Sends `text` alone as one message.
    public static func send(_ text: String, on socket: Int32) -> Failure? {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return sent == bytes.count ? nil : Failure(String(cString: strerror(errno)))
    }

    /// One message and the descriptor that came with it (nil when none; the caller owns it).
    /// An empty text is the peer's end.
    public static func receive(on socket: Int32) -> Result<(text: String, descriptor: Int32?), Failure> {
        var bytes = [UInt8](repeating: 0, count: Self.maximumMessageLength)
        var descriptor: Int32 = -1
        let count = bytes.withUnsafeMutableBytes { switchyard_receive_with_descriptor(socket, $0.baseAddress, $0.count, &descriptor) }
        guard count >= 0 else {
            let code = errno
            return .failure(Failure(code == EAGAIN || code == EWOULDBLOCK ? "no message in time" : code == EMSGSIZE ? "a message too long" : String(cString: strerror(code))))
        }
        return .success((String(decoding: bytes[0..<count], as: UTF8.self), descriptor >= 0 ? descriptor : nil))
    }

    /// The TAP device `descriptor` is attached to: its name and whether it has virtio-net
    /// headers; a failure when it is no TAP device made as `switchyard-tap` makes them
    /// (IFF_TAP, no packet information, 10-byte virtio-net headers if any).
    public static func tapDevice(of descriptor: Int32) -> Result<(name: String, virtio: Bool), Failure> {
        var name = [CChar](repeating: 0, count: 16)
        var virtio: Int32 = 0
        guard switchyard_tap_check(descriptor, &name, &virtio) == 0 else {
            let code = errno
            return .failure(Failure(code == EPROTOTYPE ? "the descriptor is a TUN device, carries packet information or virtio-net headers of another size: not a TAP device as switchyard-tap makes them" : "the descriptor is not a TAP device (\(String(cString: strerror(code))))"))
        }
        return .success((String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), virtio != 0))
    }

    /// Makes receives on `socket` give up after `milliseconds`.
    public static func setReceiveTimeout(_ socket: Int32, milliseconds: Int) {
        var timeout = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
