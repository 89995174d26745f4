import ArgumentParser
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardServices

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
struct SwitchyardARP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-arp",
        abstract: "ARP on a Switchyard fabric, like arping.",
        subcommands: [WhoHas.self]
    )
}

struct WhoHas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "who-has",
        abstract: "Broadcast ARP requests for an IPv4 address and print the MAC that answers (exit 1 if none does)."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var timeout: TimeoutOptions

    @Option(name: .customLong("source-ip"), help: "Sender IPv4 address in the requests.")
    var sourceIP = IPv4Address(10, 0, 0, 250)

    @Argument(help: "The IPv4 address to resolve, e.g. 10.0.0.2.")
    var target: IPv4Address

    func run() async throws {
        try await ToolFailure.reporting("arp") {
            let client = try await self.connection.connect(clientName: "switchyard-arp")
            do {
                let record = try await client.createEndpoint(name: "arp-\(getpid())")
                try await client.subscribe(endpointID: record.endpointID)
                let resolver = ARPResolver(endpointID: record.endpointID, mac: MACAddress(record.mac)!, ip: self.sourceIP)
                let clock = ContinuousClock()
                let start = clock.now
                guard let mac = try await resolver.resolve(self.target, on: client, timeout: self.timeout.duration) else {
                    throw FabricClientError(.timeout, "timeout: no ARP reply for \(self.target) within \(self.timeout.duration.secondsDescription) s")
                }
                let microseconds = Int((start.duration(to: clock.now).seconds * 1e6).rounded())
                StandardOutput.line("\(self.target) is-at \(mac) (\(microseconds / 1000).\(self.threeDigits(microseconds % 1000)) ms)")
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        }
    }

    private func threeDigits(_ value: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: 3 - text.count) + text
    }
}
