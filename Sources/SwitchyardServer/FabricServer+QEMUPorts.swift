#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// `--qemu NAME=unix:PATH|tcp:HOST:PORT|udp:HOST:PORT`: what the configuration names.
public struct QEMUPortSpecification: Hashable, Sendable {
    public var name: String
    public var address: Address

    public enum Address: Hashable, Sendable {
        case unix(path: String)
        case tcp(host: String, port: Int)
        case udp(host: String, port: Int)
    }

    public init(name: String, address: Address) {
        self.name = name
        self.address = address
    }

    /// Parses `NAME=unix:PATH`, `NAME=tcp:HOST:PORT`, `NAME=udp:HOST:PORT`; nil with the reason.
    public static func parse(_ text: String) -> Result<QEMUPortSpecification, ParseError> {
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty else {
            return .failure(ParseError(message: "--qemu \(text): want NAME=unix:PATH, NAME=tcp:HOST:PORT or NAME=udp:HOST:PORT"))
        }
        let name = String(parts[0])
        let target = String(parts[1])
        if target.hasPrefix("unix:"), target.count > 5 {
            return .success(QEMUPortSpecification(name: name, address: .unix(path: String(target.dropFirst(5)))))
        }
        for kind in ["tcp:", "udp:"] where target.hasPrefix(kind) {
            let host: String
            let port: Int
            switch HostPort.parse(target.dropFirst(kind.count), portRequired: true) {
            case .success(let address):
                (host, port) = (address.host, address.port ?? 0)
            case .failure(let failure) where failure.code == .missingHost:
                return .failure(ParseError(message: "--qemu \(text): the host is missing"))
            case .failure:
                return .failure(ParseError(message: "--qemu \(text): want \(kind)HOST:PORT with a port from 1 to 65535"))
            }
            return .success(QEMUPortSpecification(name: name, address: kind == "tcp:" ? .tcp(host: host, port: port) : .udp(host: host, port: port)))
        }
        return .failure(ParseError(message: "--qemu \(text): want NAME=unix:PATH, NAME=tcp:HOST:PORT or NAME=udp:HOST:PORT"))
    }

    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { self.message }
    }

    var portAddress: QEMUPort.Address {
        switch self.address {
        case .unix(let path): .unix(path: path)
        case .tcp(let host, let port): .tcp(host: host, port: port)
        case .udp(let host, let port): .udp(host: host, port: port)
        }
    }
}

/// A bound QEMU port: its channel (a listener, or the UDP socket) and its names.
struct BoundQEMUPort {
    let specification: QEMUPortSpecification
    let channel: any Channel
    let port: NIOLoopBound<QEMUPort>
    let isDatagram: Bool
    let unixPath: String?
}

extension FabricServer {
    /// Binds every QEMU port with reading off (nothing is accepted or read before the engine
    /// exists, and nothing is truncated before everything is bound).
    func bindQEMUPorts(on eventLoop: any EventLoop, slot: NIOLoopBound<EngineSlot>, queueLimit: Int) async throws -> [BoundQEMUPort] {
        var bound: [BoundQEMUPort] = []
        do {
            for specification in self.configuration.qemuPorts {
                let port = try await eventLoop.submit {
                    NIOLoopBound(QEMUPort(name: specification.name, address: specification.portAddress), eventLoop: eventLoop)
                }.get()
                bound.append(try await self.bind(specification, port: port, on: eventLoop, slot: slot, queueLimit: queueLimit))
            }
        } catch {
            for port in bound {
                try? await port.channel.close()
                if let path = port.unixPath {
                    unlink(path)
                }
            }
            throw error
        }
        return bound
    }

    private func bind(_ specification: QEMUPortSpecification, port: NIOLoopBound<QEMUPort>, on eventLoop: any EventLoop, slot: NIOLoopBound<EngineSlot>, queueLimit: Int) async throws -> BoundQEMUPort {
        let where_ = "QEMU port \(specification.name) (\(specification.portAddress))"
        switch specification.address {
        case .udp(let host, let number):
            do {
                let channel = try await DatagramBootstrap(group: eventLoop)
                    .channelOption(.autoRead, value: false)
                    // One frame per datagram, up to QEMU's largest: never truncated.
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: QEMUStreamFraming.maximumLength))
                    .channelOption(.maxMessagesPerRead, value: 64)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: host, port: number).get()
                return BoundQEMUPort(specification: specification, channel: channel, port: port, isDatagram: true, unixPath: nil)
            } catch {
                throw FabricServerError(code: .cannotBind, host: host, port: number, detail: "\(where_): \(error)")
            }
        case .tcp, .unix:
            let bootstrap = ServerBootstrap(group: eventLoop)
                .serverChannelOption(.backlog, value: 16)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.autoRead, value: false)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: queueLimit / 2, high: queueLimit))
                .childChannelOption(.recvAllocator, value: FabricServer.receiveAllocator)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let engine = slot.value.engine else { throw ChannelError.ioOnClosedChannel }
                        let handler = FabricConnectionHandler(engine: engine, allocator: channel.allocator, transport: QEMUStreamTransport(port: port.value))
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
            if case .tcp(let host, let number) = specification.address {
                do {
                    let channel = try await bootstrap.bind(host: host, port: number).get()
                    return BoundQEMUPort(specification: specification, channel: channel, port: port, isDatagram: false, unixPath: nil)
                } catch let error as IOError where error.errnoCode == EADDRINUSE {
                    throw FabricServerError(code: .cannotBind, host: host, port: number, detail: "\(where_): address already in use")
                } catch {
                    throw FabricServerError(code: .cannotBind, host: host, port: number, detail: "\(where_): \(error)")
                }
            }
            guard case .unix(let path) = specification.address else { fatalError("unreachable") }
            let channel = try await self.bindUnixSocket(bootstrap, path: path)
            return BoundQEMUPort(specification: specification, channel: channel, port: port, isDatagram: false, unixPath: path)
        }
    }

    /// Starts a bound port: the UDP socket gets its handlers, then every port reads.
    func start(_ ports: [BoundQEMUPort], engine: NIOLoopBound<EngineSlot>) async throws {
        for bound in ports {
            if bound.isDatagram {
                try await bound.channel.eventLoop.submit {
                    guard let engine = engine.value.engine else { throw ChannelError.ioOnClosedChannel }
                    let isIPv6 = bound.channel.localAddress?.protocol == .inet6
                    let handler = FabricConnectionHandler(
                        engine: engine, allocator: bound.channel.allocator, transport: QEMUDatagramTransport(port: bound.port.value),
                        maximumFrameLength: QEMUDatagramTransport.maximumFrameLength(isIPv6: isIPv6)
                    )
                    try bound.channel.pipeline.syncOperations.addHandlers(QEMUDatagramAdapter(), handler)
                }.get()
            }
            try await bound.channel.setOption(.autoRead, value: true).get()
            self.logger.info("QEMU port listening", metadata: ["name": "\(bound.specification.name)", "address": "\(bound.specification.portAddress)"])
        }
    }
}
