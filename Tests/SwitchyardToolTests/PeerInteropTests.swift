import Foundation
import SwitchyardTestSupport
import Testing

/// Wire compatibility with the original tools, stood for by the independent Python peer in
/// `../shared/peer`. Skipped (with the reason printed) where that folder is absent.
@Suite(.requires(.peer), .timeLimit(.minutes(3)))
struct PeerInteropTests {
    @Test func conformanceSuitePassesAgainstAFreshSwitchyardd() async throws {
        let fabric = try await FabricProcess.ours()
        let suite = try ChildProcess(Tools.python3!, [Tools.peerScript("conformance.py"), "--port", "\(fabric.port)", "--fresh"])
        let status = try await suite.waitForExit(timeout: .seconds(90))
        let failures = suite.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        #expect(failures.isEmpty)
        #expect(status == 0, "\(suite.stdout)")
        #expect(suite.stdout.contains(" passed, 0 failed"))
        await fabric.process.stop()
    }

    typealias FabricKind = Fixtures.FabricKind

    private func startFabric(_ kind: FabricKind) async throws -> FabricProcess {
        switch kind {
        case .ours: try await FabricProcess.ours()
        case .peer: try await FabricProcess.peer()
        }
    }

    @Test(arguments: FabricKind.allCases)
    func peerEchoAnswersOurPing(fabricKind: FabricKind) async throws {
        let fabric = try await self.startFabric(fabricKind)
        let echo = try ChildProcess(Tools.python3!, ["-u", Tools.peerScript("svc_echo.py"), "--port", "\(fabric.port)"])
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        for resolve in ["lookup", "arp"] {
            let ping = try ChildProcess(
                Tools.executable("switchyard-ping"),
                ["--port", "\(fabric.port)", "--resolve", resolve, "--count", "2"],
                environment: ["PING_MSG": "hello switchyard"]
            )
            #expect(try await ping.waitForExit() == 0, "\(ping.stdout) \(ping.stderr)")
            #expect(ping.stdout.contains("[cli] got reply from 10.0.0.2:7007 b'hello switchyard'"))
        }
        await echo.stop()
        await fabric.process.stop()
    }

    @Test(arguments: FabricKind.allCases)
    func ourEchoAnswersPeerPing(fabricKind: FabricKind) async throws {
        let fabric = try await self.startFabric(fabricKind)
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        for resolve in ["lookup", "arp"] {
            let ping = try ChildProcess(
                Tools.python3!,
                [Tools.peerScript("cli_udp_ping.py"), "--port", "\(fabric.port)", "--resolve", resolve],
                environment: ["PING_MSG": "marco polo"]
            )
            #expect(try await ping.waitForExit() == 0, "\(ping.stdout) \(ping.stderr)")
            #expect(ping.stdout.contains("[cli] got reply from 10.0.0.2:7007 b'marco polo'"))
        }
        await echo.stop()
        await fabric.process.stop()
    }
}
