import Foundation
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardTap
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Descriptor mode: the device's descriptor goes to the fabric (`TapHandoff`), which reads and
/// writes it on its own event loop; this tool only makes, places and finally removes it.
extension SwitchyardTapCommand {
    /// How long the fabric may take to answer ATTACH, and to let go of the device at the end.
    static let handoffTimeoutMilliseconds = 5000

    func runHandingOver(to path: String, where where_: String) async throws {
        let device: TapDevice
        do {
            device = try TapDevice(name: self.tap, virtio: self.offloads == .on)
        } catch {
            throw FabricClientError(.invalidRequest, "\(error)")
        }
        let socket: Int32
        switch TapHandoff.connect(to: path) {
        case .success(let connected): socket = connected
        case .failure(let failure): throw FabricClientError(.cannotConnect, failure.description)
        }
        defer { close(socket) }
        StandardOutput.line("[tap] mode: descriptor (the fabric reads and writes the device itself; handed over at unix:\(path))")
        if let failure = TapHandoff.send(TapHandoff.attachMessage(name: self.name, mac: device.mac, virtio: device.virtio), descriptor: device.descriptor, on: socket) {
            throw FabricClientError(.connectionClosed, failure.description)
        }
        TapHandoff.setReceiveTimeout(socket, milliseconds: Self.handoffTimeoutMilliseconds)
        let reply: String
        switch TapHandoff.receive(on: socket) {
        case .success(let received):
            if let stray = received.descriptor {
                close(stray)
            }
            reply = received.text
        case .failure(let failure):
            throw FabricClientError(.timeout, "the fabric did not answer ATTACH: \(failure)")
        }
        let words = reply.split(separator: " ", maxSplits: 2)
        guard words.first == "OK", words.count == 3, let endpoint = UInt32(words[1]) else {
            let reason = reply.hasPrefix("ERROR ") ? String(reply.dropFirst(6)) : reply.isEmpty ? "it closed the socket" : "it answered \(reply.prefix(80).debugDescription)"
            throw FabricClientError(.fabricError, "the fabric refused the device: \(reason)")
        }
        TapHandoff.setReceiveTimeout(socket, milliseconds: 0)
        for command in self.setupCommands(device: device.name) {
            try Self.ip(command)
        }
        StandardOutput.line("[tap] ready: endpoint \(endpoint) \(words[2]) mac \(device.mac) on \(device.name)\(where_.isEmpty ? "" : " (\(where_))")")
        if await Self.holdUntilDetached(socket) == .fabricEnded {
            throw FabricClientError(.connectionClosed, "the fabric went away: the device is removed")
        }
        // `device` goes here: its descriptor, the last one, closes and the kernel removes it.
        withExtendedLifetime(device) {}
    }

    enum Detachment {
        /// The fabric closed the socket first (it stopped, or detached the device).
        case fabricEnded
        /// This tool was told to stop, asked the fabric to let go, and it did (or the time ran out).
        case stopped
    }

    /// Waits until the fabric closes the handoff socket. On cancellation (SIGINT, SIGTERM) it
    /// shuts its side down, which tells the fabric to let go of the device, and waits for the
    /// fabric to close the socket after that, at most `handoffTimeoutMilliseconds`.
    static func holdUntilDetached(_ socket: Int32) async -> Detachment {
        let stopDeadline = Mutex<ContinuousClock.Instant?>(nil)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Detachment, Never>) in
                let thread = Thread {
                    var byte: UInt8 = 0
                    while true {
                        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                        if poll(&poller, 1, 100) > 0 {
                            let count = recv(socket, &byte, 1, 0)
                            if count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN) {
                                break
                            }
                        }
                        if let deadline = stopDeadline.withLock({ $0 }), ContinuousClock.now >= deadline {
                            break
                        }
                    }
                    continuation.resume(returning: stopDeadline.withLock({ $0 }) == nil ? .fabricEnded : .stopped)
                }
                thread.name = "switchyard-tap handoff"
                thread.start()
            }
        } onCancel: {
            stopDeadline.withLock { $0 = ContinuousClock.now.advanced(by: .milliseconds(Self.handoffTimeoutMilliseconds)) }
            shutdown(socket, Int32(SHUT_WR))
        }
    }
}
