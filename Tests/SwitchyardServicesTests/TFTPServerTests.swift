import Foundation
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices
import SwitchyardTestKit
import Testing

/// TFTP as packets and as the server's decisions, fed requests and time.
@Suite struct TFTPPacketTests {
    @Test func requestsWithOptionsRoundTrip() throws {
        let request = TFTPPacket.readRequest(filename: "boot.ipxe", mode: "octet", options: [.init("blksize", "1468"), .init("tsize", "0")])
        #expect(request.bytes == [0, 1] + Array("boot.ipxe".utf8) + [0] + Array("octet".utf8) + [0] + Array("blksize".utf8) + [0] + Array("1468".utf8) + [0] + Array("tsize".utf8) + [0, 0x30, 0])
        #expect(try TFTPPacket(parsing: request.bytes[...]) == request)
        for packet in [TFTPPacket.data(block: 7, data: [1, 2, 3]), .acknowledgement(block: 65535), .error(code: 2, message: "no"), .optionAcknowledgement([.init("blksize", "512")])] {
            #expect(try TFTPPacket(parsing: packet.bytes[...]) == packet)
        }
    }

    static let malformed: [([UInt8], String)] = [
        ([0, 1, 0x62, 0x6F, 0x6F, 0x74], "terminating zero"),
        ([0, 1, 0x62, 0x6F, 0x6F, 0x74, 0], "a file name and a mode"),
        ([0, 9], "opcode 9"),
        ([0, 4, 0], "ACK of 1 bytes"),
        ([7], "no opcode"),
    ]

    @Test(arguments: Self.malformed)
    func malformedPacketsSayWhy(bytes: [UInt8], reason: String) {
        #expect(throws: TFTPPacket.Malformed.self) { try TFTPPacket(parsing: bytes[...]) }
        do {
            _ = try TFTPPacket(parsing: bytes[...])
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }

    @Test func tenThousandOptionsAreRefused() {
        var bytes: [UInt8] = [0, 1] + Array("f".utf8) + [0] + Array("octet".utf8) + [0]
        for index in 0..<10_000 {
            bytes += Array("o\(index)".utf8) + [0, 0x31, 0]
        }
        #expect(throws: TFTPPacket.Malformed.self) { try TFTPPacket(parsing: bytes[...]) }
    }
}

@Suite struct TFTPServerTests {
    static let server = MACAddress("02:53:59:00:00:06")!
    static let client = (mac: MACAddress("52:54:00:12:34:56")!, ip: IPv4Address(10, 0, 0, 100), port: UInt16(2070))

    /// A server with `files`, and no root.
    static func make(_ files: [String: [UInt8]], mtu: Int = 1500) -> TFTPServer {
        var server = TFTPServer(mac: Self.server, root: nil, mtu: mtu)
        server.files = files
        return server
    }

    static func frame(_ packet: TFTPPacket, to port: UInt16 = 69, from clientPort: UInt16 = Self.client.port) -> [UInt8] {
        UDPFrame.build(from: (Self.client.mac, Self.client.ip, clientPort), to: (Self.server, TFTPServer.defaultIP, port), payload: packet.bytes).bytes
    }

    /// The TFTP packets of answers, with the server port each came from.
    static func packets(_ frames: [EthernetFrame]) throws -> [(port: UInt16, packet: TFTPPacket)] {
        try frames.map { frame in
            let udp = try #require(UDPFrame(parsing: frame))
            #expect(udp.checksumsValid && udp.ip.destination == Self.client.ip)
            return (udp.udp.sourcePort, try TFTPPacket(parsing: udp.udp.payload))
        }
    }

    static func file(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7) } }

    /// A DATA packet's block number (nil for anything else).
    static func blockNumber(_ packet: TFTPPacket) -> UInt16? {
        if case .data(let block, _) = packet { block } else { nil }
    }

    @Test func aPlainReadIsSentBlockByBlockFromItsOwnPort() throws {
        let content = Self.file(1300)
        var server = Self.make(["f": content])
        let (first, events) = server.handle(Self.frame(.readRequest(filename: "f", mode: "octet", options: [])), now: .zero)
        #expect(events == [.started(file: "f", client: "10.0.0.100:2070", size: 1300, blockSize: 512, window: 1)])
        var answers = try Self.packets(first)
        #expect(answers.map(\.port) == [49152], "the transfer's own port, the first in order")
        var received: [UInt8] = []
        var block: UInt16 = 1
        while case .data(let number, let data) = answers.first?.packet {
            #expect(number == block)
            received += data
            answers = try Self.packets(server.handle(Self.frame(.acknowledgement(block: number), to: 49152), now: .zero).frames)
            block += 1
        }
        #expect(received == content && block == 4, "512 + 512 + 276")
        #expect(server.activeTransfers == 0, "the last ACK ends it")
    }

    @Test func aFileOfWholeBlocksEndsWithAnEmptyOne() throws {
        var server = Self.make(["f": Self.file(1024)])
        _ = server.handle(Self.frame(.readRequest(filename: "f", mode: "octet", options: [])), now: .zero)
        _ = server.handle(Self.frame(.acknowledgement(block: 1), to: 49152), now: .zero)
        let last = try Self.packets(server.handle(Self.frame(.acknowledgement(block: 2), to: 49152), now: .zero).frames)
        #expect(last.map(\.packet) == [.data(block: 3, data: [])])
    }

    @Test func optionsAreAcknowledgedThenWindowsFollow() throws {
        let content = Self.file(1468 * 9 + 10)
        var server = Self.make(["f": content])
        let request = TFTPPacket.readRequest(filename: "f", mode: "octet", options: [.init("BLKSIZE", "9000"), .init("tsize", "0"), .init("timeout", "2"), .init("windowsize", "4"), .init("unknown", "1")])
        let oack = try Self.packets(server.handle(Self.frame(request), now: .zero).frames)
        #expect(oack.map(\.packet) == [.optionAcknowledgement([.init("BLKSIZE", "1468"), .init("tsize", "\(content.count)"), .init("timeout", "2"), .init("windowsize", "4")])], "blksize cut to what MTU 1500 carries; unknown options left out")
        let window = try Self.packets(server.handle(Self.frame(.acknowledgement(block: 0), to: 49152), now: .zero).frames)
        #expect(window.map(\.packet).map(Self.blockNumber) == [1, 2, 3, 4])
        // The client saw 1 and 2 only: the window goes on from 3.
        let again = try Self.packets(server.handle(Self.frame(.acknowledgement(block: 2), to: 49152), now: .seconds(1)).frames)
        #expect(again.map(\.packet).map(Self.blockNumber) == [3, 4, 5, 6])
        #expect(server.timePassed(now: .milliseconds(2999)).isEmpty, "the client's timeout, 2 s from the last send")
        #expect(server.timePassed(now: .seconds(3)).count == 4, "the window again")
    }

    @Test(arguments: ["0", "65536", "7", "x"])
    func aBlockSizeOutOfRangeIsRefused(value: String) throws {
        var server = Self.make(["f": [1]])
        let answer = try Self.packets(server.handle(Self.frame(.readRequest(filename: "f", mode: "octet", options: [.init("blksize", value)])), now: .zero).frames)
        guard case .error(let code, _) = answer.first?.packet else {
            Issue.record("no error: \(answer)")
            return
        }
        #expect(code == TFTPPacket.ErrorCode.optionRefused && server.activeTransfers == 0)
    }

    @Test func blockNumbersRollOverPastTheLast() throws {
        // blksize 8: 65,540 blocks, so numbers go round once.
        let content = Self.file(8 * 65_539 + 3)
        var server = Self.make(["f": content])
        _ = server.handle(Self.frame(.readRequest(filename: "f", mode: "octet", options: [.init("blksize", "8")])), now: .zero)
        var answers = try Self.packets(server.handle(Self.frame(.acknowledgement(block: 0), to: 49152), now: .zero).frames)
        var received: [UInt8] = []
        var numbers: [UInt16] = []
        while case .data(let number, let data) = answers.first?.packet {
            received += data
            numbers.append(number)
            answers = try Self.packets(server.handle(Self.frame(.acknowledgement(block: number), to: 49152), now: .zero).frames)
        }
        #expect(received == content)
        #expect(numbers[65_533...65_536] == [65_534, 65_535, 0, 1], "after 65,535 comes 0")
        #expect(server.activeTransfers == 0)
    }

    @Test func aDuplicateAckIsNeverAnsweredButATimeoutIs() throws {
        var server = Self.make(["f": Self.file(2000)])
        _ = server.handle(Self.frame(.readRequest(filename: "f", mode: "octet", options: [])), now: .zero)
        let second = server.handle(Self.frame(.acknowledgement(block: 1), to: 49152), now: .milliseconds(10)).frames
        #expect(second.count == 1)
        #expect(server.handle(Self.frame(.acknowledgement(block: 1), to: 49152), now: .milliseconds(20)).frames.isEmpty, "the Sorcerer's Apprentice: no second block 2")
        #expect(server.timePassed(now: .milliseconds(1009)).isEmpty)
        #expect(try Self.packets(server.timePassed(now: .milliseconds(1010))).map(\.packet) == (try Self.packets(second)).map(\.packet), "block 2 again after the timeout")
        for attempt in 2...5 {
            #expect(server.timePassed(now: .milliseconds(10) + .seconds(attempt)).count == 1)
        }
        #expect(server.timePassed(now: .seconds(7)).isEmpty && server.activeTransfers == 0, "given up after five retransmissions")
    }

    @Test func transfersGetPortsInOrderAndStrangersGetErrorFive() throws {
        var server = Self.make(["f": Self.file(600)])
        let first = try Self.packets(server.handle(Self.frame(.readRequest(filename: "f", mode: "octet", options: [])), now: .zero).frames)
        let second = try Self.packets(server.handle(Self.frame(.readRequest(filename: "f", mode: "octet", options: []), from: 2071), now: .zero).frames)
        #expect(first.map(\.port) == [49152] && second.map(\.port) == [49153])
        let stranger = server.handle(Self.frame(.acknowledgement(block: 1), to: 49152, from: 2999), now: .zero).frames
        let strangerUDP = try #require(stranger.first.flatMap(UDPFrame.init(parsing:)))
        #expect(strangerUDP.udp.destinationPort == 2999)
        #expect(try TFTPPacket(parsing: strangerUDP.udp.payload) == .error(code: TFTPPacket.ErrorCode.unknownTransferID, message: "unknown transfer ID"))
        #expect(server.activeTransfers == 2, "the transfer goes on")
    }

    @Test func writesModesAndMalformedRequestsAreRefusedWithTheirCodes() throws {
        var server = Self.make(["f": [1]])
        func code(_ bytes: [UInt8]) throws -> UInt16? {
            guard case .error(let code, _) = try Self.packets(server.handle(bytes, now: .zero).frames).first?.packet else { return nil }
            return code
        }
        #expect(try code(Self.frame(.writeRequest(filename: "f", mode: "octet", options: []))) == TFTPPacket.ErrorCode.accessViolation)
        #expect(try code(Self.frame(.readRequest(filename: "f", mode: "mail", options: []))) == TFTPPacket.ErrorCode.illegalOperation)
        #expect(try code(Self.frame(.readRequest(filename: "nothing", mode: "octet", options: []))) == TFTPPacket.ErrorCode.fileNotFound)
        let unterminated = UDPFrame.build(from: (Self.client.mac, Self.client.ip, Self.client.port), to: (Self.server, TFTPServer.defaultIP, 69), payload: [0, 1] + Array("f".utf8)).bytes
        #expect(try code(unterminated) == TFTPPacket.ErrorCode.illegalOperation)
        #expect(server.activeTransfers == 0)
    }

    @Test func netasciiEndsLinesWithCRLF() throws {
        var server = Self.make(["t": Array("a\nb\rc".utf8)])
        let answer = try Self.packets(server.handle(Self.frame(.readRequest(filename: "t", mode: "NetASCII", options: [])), now: .zero).frames)
        #expect(answer.map(\.packet) == [.data(block: 1, data: [0x61, 0x0D, 0x0A, 0x62, 0x0D, 0x00, 0x63])])
    }

    /// Every path stays inside the root: `..`, absolute paths and symbolic links out are error 2.
    @Test func pathsLeadingOutOfTheRootAreAccessViolations() throws {
        let directory = try temporaryDirectory()
        let root = directory.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("inside".utf8).write(to: root.appendingPathComponent("sub/ok.txt"))
        try Data("secret".utf8).write(to: directory.appendingPathComponent("outside.txt"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("escape").path, withDestinationPath: directory.appendingPathComponent("outside.txt").path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("inner").path, withDestinationPath: "sub/ok.txt")
        let tftpRoot = try #require(TFTPRoot(root.path))
        var server = TFTPServer(mac: Self.server, root: tftpRoot)
        func answer(_ name: String) throws -> TFTPPacket? {
            let packets = try Self.packets(server.handle(Self.frame(.readRequest(filename: name, mode: "octet", options: []), from: UInt16.random(in: 1024...60000)), now: .zero).frames)
            return packets.first?.packet
        }
        #expect(try answer("sub/ok.txt") == .data(block: 1, data: Array("inside".utf8)[...]))
        #expect(try answer("inner") == .data(block: 1, data: Array("inside".utf8)[...]), "a link that stays inside is followed")
        for name in ["../outside.txt", "sub/../../outside.txt", "/etc/passwd", directory.appendingPathComponent("outside.txt").path, "escape"] {
            guard case .error(let code, _) = try answer(name) else {
                Issue.record("\(name) was served")
                continue
            }
            #expect(code == TFTPPacket.ErrorCode.accessViolation, "\(name)")
        }
        #expect(try answer(String(repeating: "a/", count: 2048)).map { if case .error(let code, _) = $0 { code } else { 99 } } == TFTPPacket.ErrorCode.accessViolation, "a 4 KiB path")
        guard case .error(let code, _) = try answer("sub") else {
            Issue.record("a directory was served")
            return
        }
        #expect(code == TFTPPacket.ErrorCode.fileNotFound)
        #expect(TFTPRoot(directory.appendingPathComponent("missing").path) == nil)
    }
}
