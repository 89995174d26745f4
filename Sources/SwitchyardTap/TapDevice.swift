import CTap
import SwitchyardPackets

#if canImport(Glibc)
import Glibc
#endif

/// A Linux TAP device (`IFF_TAP | IFF_NO_PI`): every read is one Ethernet frame the kernel
/// sends, every write one frame it receives. Owns its descriptor; closing it (here, or by
/// the process ending) removes the device, as nothing makes it persistent.
public final class TapDevice: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The device's name (the kernel's choice when none was asked for).
    public let name: String
    /// The MAC the kernel gave it.
    public let mac: MACAddress
    /// The device's descriptor, for handing to the fabric (`TapHandoff`); the device keeps it.
    public let descriptor: Int32

    /// Largest frame a read returns (64 KiB IP packets plus the Ethernet header).
    static let readSize = 65_536 + 14

    /// Whether every frame read and written has a virtio-net header ahead of it, with TCP
    /// offloads on (`VirtioNetHeader`): for handing to the fabric, not for `read`/`write` here.
    public let virtio: Bool

    /// Creates the device; without CAP_NET_ADMIN or /dev/net/tun the failure says so.
    public init(name: String?, virtio: Bool = false) throws(Failure) {
        var actual = [CChar](repeating: 0, count: 16)
        let descriptor = switchyard_tap_open(name ?? "", &actual, virtio ? 1 : 0)
        guard descriptor >= 0 else {
            let code = errno
            switch code {
            case EPERM, EACCES:
                throw Failure(description: "cannot create a TAP device: \(String(cString: strerror(code))) (it needs root or CAP_NET_ADMIN)")
            case ENOENT, ENODEV, ENXIO:
                throw Failure(description: "cannot create a TAP device: /dev/net/tun is missing (\(String(cString: strerror(code))))")
            default:
                throw Failure(description: "cannot create a TAP device\(name.map { " \($0)" } ?? ""): \(String(cString: strerror(code)))")
            }
        }
        let deviceName = String(decoding: actual.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var bytes = [UInt8](repeating: 0, count: 6)
        guard switchyard_interface_mac(deviceName, &bytes) == 0, let mac = MACAddress(bytes: bytes) else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "cannot read the MAC of \(deviceName): \(reason)")
        }
        self.name = deviceName
        self.virtio = virtio
        self.mac = mac
        self.descriptor = descriptor
    }

    deinit {
        close(self.descriptor)
    }

    /// The next frame the kernel sends, or nil when none came within `timeoutMilliseconds`.
    public func read(timeoutMilliseconds: Int32) throws(Failure) -> [UInt8]? {
        var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, timeoutMilliseconds)
        if ready < 0, errno == EINTR {
            return nil
        }
        guard ready > 0 else {
            if ready < 0 {
                throw Failure(description: "reading \(self.name): \(String(cString: strerror(errno)))")
            }
            return nil
        }
        var frame = [UInt8](repeating: 0, count: Self.readSize)
        let count = frame.withUnsafeMutableBytes { Glibc.read(self.descriptor, $0.baseAddress, $0.count) }
        guard count >= 0 else {
            if errno == EAGAIN || errno == EINTR {
                return nil
            }
            throw Failure(description: "reading \(self.name): \(String(cString: strerror(errno)))")
        }
        frame.removeLast(frame.count - count)
        return frame
    }

    /// Writes one frame; nil when the device took it, else the reason (a frame the device
    /// cannot take, over its limits: the kernel's errno). A frame the device refuses (the
    /// interface is down) is lost, as on a cable into a port that is down.
    public func write(_ frame: [UInt8]) -> String? {
        let written = frame.withUnsafeBytes { Glibc.write(self.descriptor, $0.baseAddress, $0.count) }
        return written == frame.count ? nil : written < 0 ? String(cString: strerror(errno)) : "cut to \(written) bytes"
    }
}
