import SwitchyardBase
import Foundation
import Synchronization
import SwitchyardPackets
import SwitchyardTap

#if canImport(Glibc)
import Glibc
#endif

/// Takes TAP descriptors from `switchyard-tap` (`TapHandoff`) on a Unix socket of its own
/// (SOCK_SEQPACKET), on a thread of its own: SwiftNIO passes no descriptors. Each ATTACH is
/// checked here (a descriptor came, it is a plain TAP device, the message is an ATTACH) and
/// refused with ERROR otherwise; a good one goes to `arrived`, which owns both descriptors.
final class TapHandoffListener: Sendable {
    /// A device handed over: its descriptor and the socket it came on (kept open while it is
    /// attached), the endpoint asked for, and the device's own name.
    struct Arrival: Sendable {
        var descriptor: Int32
        var handoff: Int32
        var name: String
        var mac: MACAddress
        var device: String
        /// Every frame has a virtio-net header (and may be offloaded).
        var virtio: Bool
    }

    /// How long a connected peer may take to send its ATTACH.
    static let handshakeTimeoutMilliseconds = 2000

    let path: String
    private let socket: Int32
    /// Whether the thread was started, and whether it was told to stop.
    private let state = Mutex((started: false, stopped: false))
    private let done = DispatchSemaphore(value: 0)

    /// Binds `path` (a stale file nobody answers on is replaced) with `mode`.
    init(path: String, mode: UInt32?) throws(FabricServerError) {
        if FabricServer.someoneListens(at: path, type: SOCK_SEQPACKET) {
            throw FabricServerError(code: .socketFileInUse, host: "", port: 0, unixPath: path, detail: "")
        }
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else {
            throw FabricServerError(code: .cannotBind, host: "", port: 0, unixPath: path, detail: String(cString: strerror(errno)))
        }
        unlink(path)
        guard let bound = UnixSocketAddress.with(path: path, { bind(socket, $0, $1) }) else {
            close(socket)
            throw FabricServerError(code: .cannotBind, host: "", port: 0, unixPath: path, detail: "the path is too long for a Unix socket")
        }
        guard bound == 0, listen(socket, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw FabricServerError(code: .cannotBind, host: "", port: 0, unixPath: path, detail: reason)
        }
        if let mode, chmod(path, mode_t(mode)) != 0 {
            let reason = String(cString: strerror(errno))
            close(socket)
            unlink(path)
            throw FabricServerError(code: .cannotBind, host: "", port: 0, unixPath: path, detail: "cannot set its mode: \(reason)")
        }
        self.path = path
        self.socket = socket
    }

    /// Accepts on a thread of its own until `stop()`; `arrived` is called on that thread.
    func start(_ arrived: @escaping @Sendable (Arrival) -> Void) {
        self.state.withLock { $0.started = true }
        let thread = Thread { [self] in
            defer { self.done.signal() }
            while !self.state.withLock({ $0.stopped }) {
                let peer = accept(self.socket, nil, nil)
                guard peer >= 0 else {
                    if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                        if errno == EMFILE || errno == ENFILE {
                            usleep(100_000)
                        }
                        continue
                    }
                    return
                }
                _ = fcntl(peer, F_SETFD, FD_CLOEXEC)
                if let arrival = Self.handshake(peer) {
                    arrived(arrival)
                }
            }
        }
        thread.name = "tap-handoff"
        thread.start()
    }

    /// Reads and checks one ATTACH; nil (ERROR sent, everything closed) when it is refused.
    private static func handshake(_ peer: Int32) -> Arrival? {
        TapHandoff.setReceiveTimeout(peer, milliseconds: Self.handshakeTimeoutMilliseconds)
        func refuse(_ reason: String, closing descriptor: Int32? = nil) -> Arrival? {
            _ = TapHandoff.send("ERROR \(reason)", on: peer)
            if let descriptor {
                close(descriptor)
            }
            close(peer)
            return nil
        }
        let message: (text: String, descriptor: Int32?)
        switch TapHandoff.receive(on: peer) {
        case .success(let received): message = received
        case .failure(let failure): return refuse("no ATTACH: \(failure)")
        }
        guard let descriptor = message.descriptor else {
            return refuse("no descriptor came with the message (want ATTACH MAC NAME and a TAP device's descriptor)")
        }
        guard let attach = TapHandoff.parseAttach(message.text) else {
            return refuse("want ATTACH MAC FEATURES NAME, got \(message.text.prefix(80).debugDescription)", closing: descriptor)
        }
        let device: (name: String, virtio: Bool)
        switch TapHandoff.tapDevice(of: descriptor) {
        case .success(let found): device = found
        case .failure(let failure): return refuse(failure.description, closing: descriptor)
        }
        guard device.virtio == attach.virtio else {
            return refuse("the handshake says \(attach.virtio ? "virtio" : "-") but the device has \(device.virtio ? "" : "no ")virtio-net headers", closing: descriptor)
        }
        // The device is read and written on the event loop, which must never block on it.
        let flags = fcntl(descriptor, F_GETFL)
        guard flags >= 0, fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) == 0 else {
            return refuse("cannot make the descriptor non-blocking: \(String(cString: strerror(errno)))", closing: descriptor)
        }
        TapHandoff.setReceiveTimeout(peer, milliseconds: 0)
        return Arrival(descriptor: descriptor, handoff: peer, name: attach.name, mac: attach.mac, device: device.name, virtio: device.virtio)
    }

    /// Stops accepting, waits for the thread, removes the socket file.
    func stop() {
        let (first, started) = self.state.withLock { state in
            defer { state.stopped = true }
            return (!state.stopped, state.started)
        }
        guard first else { return }
        // Wakes the thread's accept (it fails with EINVAL from then on).
        shutdown(self.socket, Int32(SHUT_RDWR))
        if started {
            self.done.wait()
        }
        close(self.socket)
        unlink(self.path)
    }
}
