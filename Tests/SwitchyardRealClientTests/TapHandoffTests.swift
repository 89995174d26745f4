import Foundation
import SwitchyardPackets
import SwitchyardTap
import SwitchyardTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fabric carrying TAP devices itself (`switchyard-tap --unix`, descriptor mode): what it
/// refuses, and that a device never outlives the fabric or the tool.
@Suite(.timeLimit(.minutes(3))) struct TapHandoffTests {
    /// A fabric on a Unix socket; its TAP socket beside it.
    static func fabric() async throws -> (process: ChildProcess, path: String) {
        let path = try temporaryPath("fabric.sock")
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--unix", path])
        _ = try await process.waitForLine(startingWith: "[fabric] listening on unix:")
        return (process, path)
    }

    /// A handshake that lies is answered with ERROR and closed, and the fabric goes on: no
    /// descriptor, a descriptor that is no TAP device (a pipe), garbage instead of ATTACH.
    @Test func aHandshakeThatLiesIsRefusedAndTheFabricGoesOn() async throws {
        let (fabric, path) = try await Self.fabric()
        defer { fabric.signal(SIGKILL) }
        let handoff = TapHandoff.socketPath(forFabricAt: path)
        let mac = MACAddress("02:00:00:00:0a:01")!

        func exchange(_ text: String, descriptor: Int32?) throws -> String {
            let socket = try TapHandoff.connect(to: handoff).get()
            defer { close(socket) }
            if let descriptor {
                #expect(TapHandoff.send(text, descriptor: descriptor, on: socket) == nil)
            } else {
                #expect(TapHandoff.send(text, on: socket) == nil)
            }
            TapHandoff.setReceiveTimeout(socket, milliseconds: 5000)
            let reply = try TapHandoff.receive(on: socket).get()
            #expect(reply.descriptor == nil)
            // Closed after the ERROR: the next receive sees the end.
            let end = try TapHandoff.receive(on: socket).get()
            #expect(end.text.isEmpty, "the fabric closes after ERROR")
            return reply.text
        }

        let noDescriptor = try exchange(TapHandoff.attachMessage(name: "x", mac: mac), descriptor: nil)
        #expect(noDescriptor.hasPrefix("ERROR no descriptor came with the message"), "\(noDescriptor)")
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        let notATap = try exchange(TapHandoff.attachMessage(name: "x", mac: mac), descriptor: pipeEnds[0])
        #expect(notATap.hasPrefix("ERROR the descriptor is not a TAP device"), "\(notATap)")
        let garbage = try exchange("HELLO there", descriptor: pipeEnds[0])
        #expect(garbage.hasPrefix("ERROR want ATTACH MAC NAME"), "\(garbage)")

        let stats = try ChildProcess(Tools.executable("switchyard-stats"), ["--unix", path, "--json"])
        #expect(try await stats.waitForExit() == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("\"endpoints\":0") || stats.stdout.contains("\"endpoints\" : 0"), "\(stats.stdout)")
        #expect(stats.stdout.contains("tap_writes_refused"), "\(stats.stdout)")
    }

    /// A fabric that goes away (killed) leaves no device: switchyard-tap sees the socket end,
    /// says so, exits 2 and the device goes with its descriptor.
    @Test(.requires(.namespaces))
    func aFabricThatGoesAwayLeavesNoDeviceBehind() async throws {
        let (fabric, path) = try await Self.fabric()
        defer { fabric.signal(SIGKILL) }
        let namespace = try await NetworkNamespace()
        let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--unix", path, "--name", "gone", "--netns", namespace.name, "--address", "10.0.0.60/24"])
        defer { tap.signal(SIGKILL) }
        _ = try await tap.waitForLine(startingWith: "[tap] mode: descriptor ")
        _ = try await tap.waitForLine(startingWith: "[tap] ready")
        #expect(try await namespace.run(["ip", "-o", "link"]).stdout.contains("tap"))
        fabric.signal(SIGKILL)
        _ = try await fabric.waitForExit()
        #expect(try await tap.waitForExit() == 2)
        #expect(tap.stderr.hasPrefix("switchyard-tap: "), "\(tap.stderr)")
        #expect(tap.stderr.contains("the fabric went away"), "\(tap.stderr)")
        let links = try await namespace.run(["ip", "-o", "link"])
        #expect(!links.stdout.contains("tap"), "no device left: \(links.stdout)")
    }

    /// The device is the fabric's endpoint while it is attached, and gone from the fabric and
    /// from the kernel once switchyard-tap stops (SIGTERM: it asks the fabric to let go first).
    @Test(.requires(.namespaces))
    func aStoppedToolDetachesTheDeviceFromTheFabricAndRemovesIt() async throws {
        let (fabric, path) = try await Self.fabric()
        defer { fabric.signal(SIGKILL) }
        let namespace = try await NetworkNamespace()
        let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--unix", path, "--name", "ns9", "--netns", namespace.name])
        defer { tap.signal(SIGKILL) }
        let ready = try await tap.waitForLine(startingWith: "[tap] ready")
        #expect(ready.contains(" ns9 mac "), "\(ready)")
        let attached = try ChildProcess(Tools.executable("switchyard-stats"), ["--unix", path, "--json"])
        #expect(try await attached.waitForExit() == 0)
        #expect(attached.stdout.contains("\"endpoints\":1") || attached.stdout.contains("\"endpoints\" : 1"), "\(attached.stdout)")
        tap.signal(SIGTERM)
        #expect(try await tap.waitForExit() == 0, "\(tap.stderr)")
        let links = try await namespace.run(["ip", "-o", "link"])
        #expect(!links.stdout.contains("tap"), "the device is removed: \(links.stdout)")
        let detached = try ChildProcess(Tools.executable("switchyard-stats"), ["--unix", path, "--json"])
        #expect(try await detached.waitForExit() == 0)
        #expect(detached.stdout.contains("\"endpoints\":0") || detached.stdout.contains("\"endpoints\" : 0"), "\(detached.stdout)")
    }
}
